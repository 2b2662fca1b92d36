"""Test-session settings shared by the unit tests and the notebooks (nbval).

CI mode: ``GAN_TUTOR_CI=1`` makes every notebook use its short step budgets
(``gan_tutor.runtime.steps``). It is set here, before nbval starts any kernel,
so that ``pytest`` alone checks the whole book quickly; the kernels inherit it.
Run a chapter at full length with ``python -m gan_tutor.book execute``.

On every core (pytest-xdist, ``-n auto --dist loadscope`` in pyproject.toml),
the longest work first. The unit of work is a notebook (its cells run in
order, in one kernel), a unit-test module, or one browser test (each opens a
chapter in JupyterLab and runs cells: the longest items, so each is a unit of
its own, and they are handed out first; then the notebooks, then the unit
tests). xdist keeps a unit or two queued on each worker beyond the one it runs.
"""

import os

import pytest

os.environ.setdefault("GAN_TUTOR_CI", "1")


def _order(item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return 0 if path.startswith("tests/browser/") else 1 if path.endswith(".ipynb") else 2


def pytest_collection_modifyitems(config, items):
    items.sort(key=_order)  # stable: each module's and notebook's own order is kept


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BookScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith("tests/browser/"):
                return nodeid  # one browser test, one unit of work
            return super()._split_scope(nodeid)

    config.option.loadscopereorder = False  # keep the order above, not the largest scope first
    return BookScheduling(config, log)
