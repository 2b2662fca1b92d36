"""Test-session settings shared by the unit tests and the notebooks (nbval).

CI mode: ``GAN_TUTOR_CI=1`` makes every notebook use its short step budgets
(``gan_tutor.runtime.steps``). It is set here, before nbval starts any kernel,
so that ``pytest`` alone checks the whole book quickly; the kernels inherit it.
Run a chapter at full length with ``python -m gan_tutor.book execute``.
"""

import os

os.environ.setdefault("GAN_TUTOR_CI", "1")
