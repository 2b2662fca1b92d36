"""Tests for gan_tutor.runtime: CI step budgets, device choice, seeding, setup."""

import random

import numpy as np
import pytest
import torch

from gan_tutor import runtime

CI = runtime.CI_ENV  # "GAN_TUTOR_CI"


# --- step budgets ---------------------------------------------------------------------

@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", " 1 "])
def test_steps_ci_mode(monkeypatch, value):
    monkeypatch.setenv(CI, value)
    assert runtime.ci_mode() is True
    assert runtime.steps(5000, 300) == 300


@pytest.mark.parametrize("value", [None, "", "0", "false", "no", "off", "2"])
def test_steps_full_mode(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(CI, raising=False)
    else:
        monkeypatch.setenv(CI, value)
    assert runtime.ci_mode() is False
    assert runtime.steps(5000, 300) == 5000


def test_steps_equal_budgets(monkeypatch):
    for env in ("1", "0"):
        monkeypatch.setenv(CI, env)
        assert runtime.steps(7, 7) == 7  # ci == full is allowed


@pytest.mark.parametrize("full, ci, match", [
    (0, 1, "full must be a positive integer"),
    (10, 0, "ci must be a positive integer"),
    (-5, 1, "full must be a positive integer"),
    (10.0, 5, "full must be a positive integer"),
    (10, 2.5, "ci must be a positive integer"),
    ("10", 5, "full must be a positive integer"),
    (10, None, "ci must be a positive integer"),
    (100, 200, "must not exceed"),
])
def test_steps_bad_values(monkeypatch, full, ci, match):
    for env in ("1", "0"):  # validated in both modes, not only in the one that returns the value
        monkeypatch.setenv(CI, env)
        with pytest.raises(ValueError, match=match):
            runtime.steps(full, ci)


# --- devices -------------------------------------------------------------------------

def test_pick_device_cpu():
    assert runtime.pick_device("cpu") == torch.device("cpu")


def test_pick_device_automatic():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert runtime.pick_device().type == expected
    assert runtime.pick_device(None).type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here, so 'cuda' is a valid request")
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:1"])
def test_pick_device_cuda_without_cuda(name):
    with pytest.raises(ValueError, match="cpu"):  # the message names the valid alternative
        runtime.pick_device(name)


# --- seeding -------------------------------------------------------------------------

def _draws():
    return (torch.randn(16), torch.rand(3, 4), np.random.rand(8), np.random.randn(4),
            [random.random() for _ in range(4)])


def _assert_same(a, b):
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert np.array_equal(a[2], b[2]) and np.array_equal(a[3], b[3])
    assert a[4] == b[4]


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 + 7])
def test_seed_everything_reproduces_torch_numpy_random(seed):
    runtime.seed_everything(seed)
    first = _draws()
    runtime.seed_everything(seed)
    _assert_same(first, _draws())  # bitwise identical


def test_different_seeds_differ():
    runtime.seed_everything(1)
    a = _draws()
    runtime.seed_everything(2)
    b = _draws()
    assert not torch.equal(a[0], b[0])
    assert not np.array_equal(a[2], b[2])
    assert a[4] != b[4]


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None])
def test_seed_everything_bad_seed(seed):
    with pytest.raises(ValueError, match="non-negative integer"):
        runtime.seed_everything(seed)


def test_generator_reproducible():
    g1, g2 = runtime.generator(7), runtime.generator(7)
    assert isinstance(g1, torch.Generator) and g1.device == torch.device("cpu")
    assert torch.equal(torch.randn(10, generator=g1), torch.randn(10, generator=g2))
    assert not torch.equal(torch.randn(10, generator=runtime.generator(7)),
                           torch.randn(10, generator=runtime.generator(8)))
    # independent of the global generator's state
    torch.manual_seed(0)
    a = torch.rand(5, generator=runtime.generator(3))
    torch.manual_seed(99)
    assert torch.equal(a, torch.rand(5, generator=runtime.generator(3)))


# --- setup ----------------------------------------------------------------------------

def test_setup_defaults(monkeypatch, restore_threads):
    monkeypatch.setenv(CI, "1")
    torch.set_num_threads(2)
    rt = runtime.setup(seed=0, device="cpu")
    assert isinstance(rt, runtime.Runtime)
    assert rt.device == torch.device("cpu")
    assert rt.threads == 1 and torch.get_num_threads() == 1  # one intra-op thread by default
    assert rt.seed == 0 and rt.ci is True
    text = str(rt)
    assert "CPU" in text and "seed: 0" in text and "CI mode" in text


def test_setup_full_mode_and_threads(monkeypatch, restore_threads):
    monkeypatch.delenv(CI, raising=False)
    rt = runtime.setup(seed=3, device="cpu", threads=2)
    assert rt.threads == 2 and torch.get_num_threads() == 2
    assert rt.ci is False and "full length" in str(rt)
    torch.set_num_threads(1)
    assert runtime.setup(seed=3, device="cpu", threads=None).threads == 1  # None leaves it as it is


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available: setup() would pick it")
def test_setup_picks_cpu_without_cuda(restore_threads):
    assert runtime.setup().device == torch.device("cpu")


def test_setup_seeds_everything(restore_threads):
    runtime.setup(seed=42, device="cpu")
    first = _draws()
    runtime.setup(seed=42, device="cpu")
    _assert_same(first, _draws())  # bitwise identical


@pytest.mark.parametrize("threads", [0, -1, 1.5])
def test_setup_bad_threads(threads, restore_threads):
    with pytest.raises(ValueError, match="threads must be a positive integer or None"):
        runtime.setup(device="cpu", threads=threads)


def test_runtime_is_frozen():
    rt = runtime.Runtime(device=torch.device("cpu"), seed=0, threads=1, ci=False)
    with pytest.raises(AttributeError):
        rt.seed = 1  # dataclass(frozen=True)


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_TUTOR_CACHE", str(tmp_path / "mine"))
    assert runtime.cache_dir("data") == tmp_path / "mine" / "data" and (tmp_path / "mine" / "data").is_dir()
    monkeypatch.delenv("GAN_TUTOR_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert runtime.cache_dir() == tmp_path / "xdg" / "gan_tutor"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert runtime.cache_dir("a", "b") == tmp_path / "home" / ".cache" / "gan_tutor" / "a" / "b"
