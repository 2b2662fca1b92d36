"""Where and how the book's code runs: device, CPU threads, seeds, step budgets.

A notebook calls :func:`setup` once in its first cell and passes the returned
``device`` down to every function that creates a tensor.

CI mode
-------
The environment variable ``GAN_TUTOR_CI`` (set to ``1`` by the test suite's
``conftest.py``) makes :func:`steps` return the short budget of each loop, so
``pytest --nbval`` checks the whole book in minutes. Both budgets run the same
code; only the numbers of steps differ.

Device placement
----------------
:class:`DeviceGuard` proves that code runs on one device: it raises when any
operation (backward passes included) reads a tensor elsewhere. The tests run
training steps under it on the CPU and on ``meta``; ``benchmarks/gpu_check.py``
on CUDA.

CPU threads
-----------
The book's models are tiny (a few thousand parameters, batches of a few
hundred). For them one intra-op thread is much faster than several: on a
loaded 2-core machine a discriminator step took about 5 ms on one thread and
130 ms on two, because the threads spend their time synchronising. On the CPU
:func:`setup` therefore sets ``torch.set_num_threads(1)`` unless told otherwise.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils._pytree import tree_flatten
from torch.utils._python_dispatch import TorchDispatchMode  # sees every aten op, backward passes included

CI_ENV = "GAN_TUTOR_CI"
_TRUE = {"1", "true", "yes", "on"}


def ci_mode() -> bool:
    """True when ``GAN_TUTOR_CI`` is set to 1/true/yes/on (short step budgets)."""
    return os.environ.get(CI_ENV, "").strip().lower() in _TRUE


def steps(full: int, ci: int) -> int:
    """The step budget of a loop: ``full`` for learners, ``ci`` under the tests.

    >>> steps(5000, 300)   # 5000 in a normal session, 300 when GAN_TUTOR_CI=1
    """
    for name, value in (("full", full), ("ci", ci)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"steps: {name} must be a positive integer, got {value!r}")
    if ci > full:
        raise ValueError(f"steps: the CI budget ({ci}) must not exceed the full one ({full})")
    return ci if ci_mode() else full


CACHE_ENV = "GAN_TUTOR_CACHE"


def cache_dir(*parts: str) -> Path:
    """A folder under the book's user cache (created if missing): ``$GAN_TUTOR_CACHE``
    if set, else ``$XDG_CACHE_HOME/gan_tutor``, else ``~/.cache/gan_tutor``.
    Downloaded datasets and the trained digit classifier live here, outside the
    repository, so a notebook copied anywhere (or opened on Colab) finds them.

    >>> cache_dir("data")   # e.g. /home/me/.cache/gan_tutor/data
    """
    base = os.environ.get(CACHE_ENV)
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "gan_tutor")
    path = Path(base).joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def pick_device(name: str | None = None) -> torch.device:
    """The device to run on: ``name`` if given ("cpu", "cuda", "cuda:1", "mps"),
    else CUDA when available, else the CPU."""
    if name is not None:
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {name!r} requested but torch.cuda.is_available() is False; "
                             "use 'cpu' (or None to choose automatically; on Colab: Runtime → Change "
                             "runtime type → GPU)")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators (CPU and CUDA).

    With the same seed, code that draws its randomness from these generators
    (or from ``torch.Generator`` objects made with :func:`generator`) gives
    identical numbers on the CPU.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` on ``device`` seeded with ``seed``."""
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


@dataclass(frozen=True)
class Runtime:
    """What :func:`setup` chose; printed by the first cell of every chapter."""

    device: torch.device
    seed: int
    threads: int
    ci: bool

    def __str__(self) -> str:
        where = "GPU " + torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "CPU"
        mode = f"CI mode ({CI_ENV}=1, short runs)" if self.ci else "full length"
        return (f"device: {self.device} ({where}) | CPU threads: {self.threads} | "
                f"seed: {self.seed} | {mode}")


def setup(seed: int = 0, device: str | None = None, threads: int | None = 1) -> Runtime:
    """Choose the device once, fix the CPU thread count and seed everything.

    Args:
        seed: seed for Python, NumPy and PyTorch.
        device: force a device ("cpu", "cuda", ...); None picks CUDA when present.
        threads: intra-op CPU threads (1 by default, see the module docstring);
            None leaves PyTorch's default.
    Returns:
        A :class:`Runtime` whose ``device`` the chapter passes down.
    """
    dev = pick_device(device)
    if threads is not None:
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        torch.set_num_threads(threads)
    seed_everything(seed)
    return Runtime(device=dev, seed=seed, threads=torch.get_num_threads(), ci=ci_mode())


class DeviceMismatch(RuntimeError):
    """An operation under :class:`DeviceGuard` read a tensor off the guarded device."""


class DeviceGuard(TorchDispatchMode):
    """Raises :class:`DeviceMismatch` when an aten op receives a tensor that is not on ``expected``.

    Two deliberate exemptions, both things PyTorch itself does on any device:
    * 0-dim CPU tensors ("CPU scalars"), which every device's kernels accept: Adam keeps its
      ``step`` counter there (unless capturable/fused) and reads it with ``.item()`` on the host;
    * transfers (``_to_copy``, ``copy_``) whose *result* is on ``expected``: how data gets there
      (``GaussianMixture2D.sample`` moves its CPU centres to the sampling device). A transfer off
      the device (``.cpu()``) is still flagged.
    """

    TRANSFERS = ("aten._to_copy.", "aten.copy_.")

    def __init__(self, expected):
        super().__init__()
        self.expected = torch.device(expected)
        self.ops: set[str] = set()

    def _on_expected(self, device: torch.device) -> bool:
        # "cuda" (no index) means any CUDA device: tensors made there report cuda:0
        return device.type == self.expected.type and self.expected.index in (None, device.index)

    def _allowed(self, t: torch.Tensor) -> bool:
        return self._on_expected(t.device) or (t.device.type == "cpu" and t.ndim == 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = str(func)
        self.ops.add(name)
        out = func(*args, **kwargs)
        if name.startswith(self.TRANSFERS):
            flat, _ = tree_flatten(out)
        else:
            flat, _ = tree_flatten((args, kwargs))
        for t in flat:
            if isinstance(t, torch.Tensor) and not self._allowed(t):
                raise DeviceMismatch(f"{name} got a tensor {tuple(t.shape)} on {t.device}, expected {self.expected}")
        return out
