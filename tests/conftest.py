"""Settings for the unit tests (the root ``conftest.py`` sets ``GAN_TUTOR_CI``).

* One intra-op CPU thread: the tensors here are tiny, and several threads only
  add synchronisation cost (see ``gan_tutor.runtime``), so the suite stays fast
  on a loaded 2-core machine.
* A non-interactive matplotlib backend, in case a test (or an imported module)
  draws anything; matplotlib is optional for the unit tests.
* ``restore_threads``: for tests that call ``runtime.setup``, which changes the
  process-wide thread count.
"""

import pytest
import torch

torch.set_num_threads(1)

try:
    import matplotlib
except ImportError:  # the unit tests do not need it
    matplotlib = None
else:
    matplotlib.use("Agg")


@pytest.fixture
def restore_threads():
    """Put the intra-op thread count back after a test that changes it."""
    before = torch.get_num_threads()
    yield before
    torch.set_num_threads(before)


# Hypothesis: no example database, and examples derived deterministically, so every run
# checks the same cases (a failure reproduces without a saved database).
try:
    from hypothesis import settings as _hyp_settings
except ImportError:
    pass
else:
    _hyp_settings.register_profile("gan_tutor", database=None, derandomize=True)
    _hyp_settings.load_profile("gan_tutor")
