"""Tests for the training loop of gan_tutor.train: the :class:`Trainer`, :class:`Hyper`,
:class:`Variant` and the registry.

What is checked: the critic step never touches G and the generator step never touches
D; ``n_critic`` critic updates precede each generator update (Goodfellow et al. 2014,
Algorithm 1); hyperparameters changed between steps act on the next step; bad input
raises ``ValueError`` naming what is valid; a checkpoint resumes bit-identically; the
NaN guard stops, names the step and the loss, and restores the last snapshot; the step
runs on the ``meta`` device with every op on the trainer's device; history, callbacks
and ``reset``; and a short run of the non-saturating GAN that learns a single Gaussian.

All models are small MLPs (hidden width 16) on the ring of 8 Gaussians, batch 64, one
CPU thread (tests/conftest.py), so everything here runs in a few seconds.
"""

import math

import pytest
import torch

from gan_tutor import losses
from gan_tutor.runtime import DeviceGuard, DeviceMismatch  # noqa: F401 (other test modules import them from here)
from gan_tutor.data import GaussianMixture2D, ring8
from gan_tutor.models import Discriminator, Generator
from gan_tutor.train import (HISTORY_KEYS, OPTIMIZERS, VARIANTS, Hyper, Trainer, TrainingDiverged, Variant,
                             ema_warmup, get_variant)

DATA = ring8()
LOSS_KEYS = HISTORY_KEYS[1:5]  # d_loss, g_loss, d_grad_norm, g_grad_norm: the values a step returns


def _trainer(model_seed: int = 0, device: str = "cpu", sample_device: str | None = None, **kwargs) -> Trainer:
    """A Trainer on ring8 with Generator(2, 2, hidden=16) and Discriminator(2, hidden=16), built
    under ``torch.manual_seed(model_seed)``; ``kwargs`` go to Trainer (batch 64 by default)."""
    torch.manual_seed(model_seed)
    gen, disc = Generator(2, 2, hidden=16), Discriminator(2, hidden=16)
    on = device if sample_device is None else sample_device
    kwargs.setdefault("batch_size", 64)
    return Trainer(gen.to(device), disc.to(device), lambda n, g: DATA.sample(n, g, on), device=device, **kwargs)


def _clone(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _assert_same_tensors(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _all_params(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {**{f"gen.{k}": v for k, v in _clone(trainer.gen).items()},
            **{f"disc.{k}": v for k, v in _clone(trainer.disc).items()}}


def _without_seconds(history: dict) -> dict:
    """The history minus wall-clock times (which differ between any two runs)."""
    return {k: v for k, v in history.items() if k != "seconds"}


def _nan_variant(which: str, control: dict) -> Variant:
    """The non-saturating GAN, except that the loss ``which`` ("d_loss" or "g_loss") is multiplied by
    NaN from its ``control["nan_from"]``-th call on (1-based; calls counted in ``control["calls"]``).
    NaN × loss also makes every gradient NaN, so the optimiser step really poisons the weights."""
    control.setdefault("calls", 0)

    def poison(loss):
        control["calls"] += 1
        return loss * float("nan") if control["calls"] >= control["nan_from"] else loss

    def d_loss(d_real, d_fake, eps):
        out = losses.d_loss_bce(d_real, d_fake, eps)
        return poison(out) if which == "d_loss" else out

    def g_loss(d_real, d_fake):
        out = losses.g_loss_nonsaturating(d_fake)
        return poison(out) if which == "g_loss" else out

    return Variant(f"NaN in {which}", d_loss, g_loss)


# --- 1. who each step updates ---------------------------------------------------------------

def test_d_step_updates_only_d_and_g_step_only_g():
    t = _trainer()
    g0, d0 = _clone(t.gen), _clone(t.disc)
    out = t.d_step()
    assert set(out) == {"d_loss", "d_grad_norm"}
    # G bitwise untouched, and no gradient reached it (the fakes are drawn under no_grad)
    _assert_same_tensors(_clone(t.gen), g0)
    assert all(p.grad is None for p in t.gen.parameters())
    # D: every tensor moved (Adam's first step moves each weight by ≈ lr·sign(grad) = ±2e-4)
    d1 = _clone(t.disc)
    for k in d0:
        assert not torch.equal(d1[k], d0[k]), k
    opt_d_state = t.opt_d.state_dict()

    out = t.g_step()
    assert set(out) == {"g_loss", "g_grad_norm"}
    # D bitwise untouched by the generator step, and its optimiser state too (no opt_d.step)
    _assert_same_tensors(_clone(t.disc), d1)
    after = t.opt_d.state_dict()
    assert after["state"].keys() == opt_d_state["state"].keys()
    for i in after["state"]:
        _assert_same_tensors(after["state"][i], opt_d_state["state"][i])
    # G: every tensor moved
    g2 = _clone(t.gen)
    for k in g0:
        assert not torch.equal(g2[k], g0[k]), k


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_one_step_for_every_registered_variant(name):
    t = _trainer(variant=name)
    before = _all_params(t)
    out = t.step()
    assert set(out) == set(LOSS_KEYS)
    for k, v in out.items():
        assert v.shape == () and not v.requires_grad, k  # detached scalars
        assert math.isfinite(float(v)), k
    assert t.iteration == 1
    after = _all_params(t)
    still = [k for k in before if torch.equal(after[k], before[k])]
    f_real, f_fake = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([0.7, 0.1, -0.4])
    shift_invariant = torch.allclose(VARIANTS[name].d_loss(f_real + 1, f_fake + 1, 0.0),
                                     VARIANTS[name].d_loss(f_real, f_fake, 0.0), rtol=0, atol=1e-6)
    if not shift_invariant:  # the BCE losses: a logit shift changes them
        assert still == []  # both players moved, every tensor
    else:
        # A Wasserstein critic's loss E_g f − E_r f (and its gradient penalty, or GAN-QP's penalty on
        # differences) is unchanged by a constant added to f, so the output bias has a zero gradient:
        # only it may stay put.
        last_bias = f"disc.net.{len(t.disc.net) - 1}.bias"
        assert set(still) <= {last_bias}
    # the trainer takes the variant's defaults, as a copy (editing it must not edit the registry)
    assert t.hyper == VARIANTS[name].defaults and t.hyper is not VARIANTS[name].defaults


# --- 2. n_critic --------------------------------------------------------------------------

def _record_updates(t: Trainer) -> list[str]:
    """The sequence of optimiser steps: "d" for opt_d.step(), "g" for opt_g.step()."""
    events: list[str] = []
    t.opt_d.register_step_post_hook(lambda opt, args, kwargs: events.append("d"))
    t.opt_g.register_step_post_hook(lambda opt, args, kwargs: events.append("g"))
    return events


@pytest.mark.parametrize("k", [1, 2, 5])
def test_n_critic_critic_updates_then_one_generator_update(k):
    t = _trainer(hyper=Hyper(n_critic=k))
    events = _record_updates(t)
    t.step()
    # Algorithm 1: k critic updates first, then exactly one generator update
    assert events == ["d"] * k + ["g"]
    # a slider moving n_critic between steps acts on the very next step
    events.clear()
    t.hyper.n_critic = k + 2
    t.step()
    assert events == ["d"] * (k + 2) + ["g"]
    events.clear()
    t.hyper.n_critic = 1
    t.step()
    assert events == ["d", "g"]


def test_n_critic_over_train_counts_loss_calls():
    # a spy d_loss counts the critic's loss evaluations: n_critic = 3 over 4 iterations → 3·4 = 12,
    # and the generator loss is evaluated once per iteration → 4
    calls = {"d": 0, "g": 0}

    def d_loss(d_real, d_fake, eps):
        calls["d"] += 1
        return losses.d_loss_bce(d_real, d_fake, eps)

    def g_loss(d_real, d_fake):
        calls["g"] += 1
        return losses.g_loss_nonsaturating(d_fake)

    t = _trainer(variant=Variant("spy", d_loss, g_loss), hyper=Hyper(n_critic=3))
    t.train(4)
    assert calls == {"d": 12, "g": 4}


def test_g_step_leaves_the_critics_gradients_and_flags_alone_and_gives_g_the_same_gradient():
    # G's step needs ∂D/∂x only: D's weight gradients (from its own step) must come out untouched,
    # D's requires_grad flags restored (one frozen by the user stays frozen), and G's gradient equal
    # to the one computed with D's weights requiring gradients, from the same z
    t = _trainer(variant="wgan_gp")
    user_frozen = t.disc.net[0].bias
    user_frozen.requires_grad_(False)
    t.d_step()
    d_grads = {n: p.grad.clone() for n, p in t.disc.named_parameters() if p.grad is not None}
    g_before, rng_before = _clone(t.gen), t.rng.get_state()
    t.g_step()
    assert {n: p.grad for n, p in t.disc.named_parameters() if p.grad is not None}.keys() == d_grads.keys()
    for n, p in t.disc.named_parameters():
        if p.grad is not None:
            assert torch.equal(p.grad, d_grads[n]), n  # not accumulated into
        assert p.requires_grad == (p is not user_frozen), n
    got = [p.grad.clone() for p in t.gen.parameters()]
    t.gen.load_state_dict(g_before)
    t.rng.set_state(rng_before)
    user_frozen.requires_grad_(True)  # the reference: every D weight requires a gradient
    loss = losses.g_loss_wasserstein(t.disc(t.gen(t.gen.noise(t.g_batch_size, t.rng))))
    expected = torch.autograd.grad(loss, list(t.gen.parameters()))
    for a, b in zip(got, expected):
        assert torch.equal(a, b)


def test_g_step_restores_the_critics_flags_when_the_loss_raises():
    def g_loss(d_real, d_fake):
        raise RuntimeError("boom")

    t = _trainer(variant=Variant("raises", losses.d_loss_bce, g_loss))
    with pytest.raises(RuntimeError, match="boom"):
        t.g_step()
    assert all(p.requires_grad for p in t.disc.parameters())


@pytest.mark.parametrize("g_batch, g_needs_real", [(None, False), (48, False), (48, True), (5, False)])
def test_g_batch_size_sizes_the_generator_step_only(g_batch, g_needs_real):
    # spies record the batch each loss sees: the critic's real and fake batches have batch_size
    # rows; the generator's fakes (and its real batch, for a loss that needs one) g_batch_size,
    # which defaults to batch_size
    seen = {"d": [], "g": []}

    def d_loss(d_real, d_fake, eps):
        seen["d"].append((len(d_real), len(d_fake)))
        return losses.d_loss_bce(d_real, d_fake, eps)

    def g_loss(d_real, d_fake):
        seen["g"].append((None if d_real is None else len(d_real), len(d_fake)))
        return losses.g_loss_nonsaturating(d_fake)

    t = _trainer(variant=Variant("spy", d_loss, g_loss, g_needs_real=g_needs_real), hyper=Hyper(n_critic=2),
                 batch_size=16, g_batch_size=g_batch)
    t.train(3)
    g = 16 if g_batch is None else g_batch
    assert t.g_batch_size == g
    assert seen["d"] == [(16, 16)] * 6  # n_critic 2 × 3 iterations
    assert seen["g"] == [(g if g_needs_real else None, g)] * 3


@pytest.mark.parametrize("g_batch_size", [0, -4, 8.0, True])
def test_trainer_rejects_bad_g_batch_size(g_batch_size):
    with pytest.raises(ValueError, match="g_batch_size must be a positive integer"):
        _trainer(g_batch_size=g_batch_size)


# --- 3. label smoothing --------------------------------------------------------------------

def test_loop_passes_current_label_smoothing_to_d_loss():
    seen: list[float] = []

    def d_loss(d_real, d_fake, eps):
        seen.append(eps)
        return losses.d_loss_bce(d_real, d_fake, eps)

    t = _trainer(variant=Variant("spy", d_loss, VARIANTS["gan"].g_loss), hyper=Hyper(label_smoothing=0.1, n_critic=2))
    t.step()
    assert seen == [0.1, 0.1]  # both critic updates of the step
    t.hyper.label_smoothing = 0.25
    t.step()
    assert seen == [0.1, 0.1, 0.25, 0.25]  # the new ε acts on the next step


# d_real = [0, ln 3], d_fake = [0, −ln 3]. BCE of a logit l with target y is
# y·softplus(−l) + (1 − y)·softplus(l); with y = 1 − ε and softplus(l) − softplus(−l) = l the real term is
#   mean softplus(−l_r) + ε·mean l_r = (ln 2 + ln(4/3))/2 + ε·(ln 3)/2 = ln(8/3)/2 + ε·ln(3)/2,
# and the fake term (target 0) is mean softplus(l_f) = (ln 2 + ln(4/3))/2 = ln(8/3)/2 for every ε.
# So L_D(ε) = ln(8/3) + ε·ln(3)/2: 0.980829 (ε = 0), 1.035760 (0.1), 1.255482 (0.5), 1.475205 (0.9).
@pytest.mark.parametrize("eps, expected", [(0.0, 0.980829), (0.1, 1.035760), (0.5, 1.255482), (0.9, 1.475205)])
def test_d_loss_bce_label_smoothing_is_one_sided(eps, expected):
    ln3 = math.log(3.0)
    d_real = torch.tensor([0.0, ln3], dtype=torch.float64, requires_grad=True)
    d_fake = torch.tensor([0.0, -ln3], dtype=torch.float64, requires_grad=True)
    loss = losses.d_loss_bce(d_real, d_fake, eps)
    value = float(loss.detach())
    assert value == pytest.approx(math.log(8 / 3) + eps * ln3 / 2, abs=1e-12)
    assert value == pytest.approx(expected, abs=5e-7)  # the rounded numbers above
    # the fake term is BCE(d_fake, 0) whatever ε: L_D − (real term by hand) = ln(8/3)/2
    fake_term = torch.nn.functional.binary_cross_entropy_with_logits(d_fake.detach(), torch.zeros(2, dtype=torch.float64))
    real_by_hand = math.log(8 / 3) / 2 + eps * ln3 / 2
    assert value - real_by_hand == pytest.approx(float(fake_term), abs=1e-12)
    assert float(fake_term) == pytest.approx(math.log(8 / 3) / 2, abs=1e-12)
    # gradients: ∂L/∂l_f = σ(l_f)/M does not depend on ε; ∂L/∂l_r = (σ(l_r) − (1 − ε))/N does
    g_real, g_fake = torch.autograd.grad(loss, (d_real, d_fake))
    torch.testing.assert_close(g_fake, torch.sigmoid(d_fake.detach()) / 2, rtol=0, atol=1e-12)
    torch.testing.assert_close(g_real, (torch.sigmoid(d_real.detach()) - (1 - eps)) / 2, rtol=0, atol=1e-12)


# --- 4. hyperparameters act on the next step -----------------------------------------------

def test_learning_rates_reach_the_optimisers_on_the_next_step():
    t = _trainer()
    t.step()
    t.hyper.lr_d, t.hyper.lr_g = 1e-3, 3e-3
    # nothing is written before the next step …
    assert [g["lr"] for g in t.opt_d.param_groups] == [2e-4]
    t.step()
    # … and the next step runs with the new rates
    assert [g["lr"] for g in t.opt_d.param_groups] == [1e-3]
    assert [g["lr"] for g in t.opt_g.param_groups] == [3e-3]


def test_learning_rate_changed_before_a_step_is_used_by_that_step():
    # a trainer built with lr 1e-3 and one built with 2e-4 whose lr is set to 1e-3 before its first
    # step must take bitwise the same step: same init, same seed, same rate
    a = _trainer(hyper=Hyper(lr_d=1e-3, lr_g=5e-3))
    b = _trainer(hyper=Hyper(lr_d=2e-4, lr_g=2e-4))
    b.hyper.lr_d, b.hyper.lr_g = 1e-3, 5e-3
    a.step()
    b.step()
    _assert_same_tensors(_all_params(a), _all_params(b))
    # and a third trainer that keeps 2e-4 ends elsewhere (so the comparison above can fail)
    c = _trainer()
    c.step()
    assert not torch.equal(_clone(c.disc)["net.0.weight"], _clone(a.disc)["net.0.weight"])


def test_gamma_weights_the_penalty_on_the_next_step():
    base: list[torch.Tensor] = []
    fakes: list[torch.Tensor] = []

    def d_loss(d_real, d_fake, eps):
        out = losses.d_loss_bce(d_real, d_fake, eps)
        base.append(out.detach())
        return out

    def penalty(disc, real, fake, hyper, generator):
        fakes.append(fake)
        # Ω ≡ 1, but still a function of D's parameters (so it has a graph and a zero gradient)
        return 0.0 * sum(p.sum() for p in disc.parameters()) + 1.0

    variant = Variant("penalised", d_loss, VARIANTS["gan"].g_loss, penalty=penalty)
    t = _trainer(variant=variant)
    t.train(1)
    # γ = 0 (the default): L_D = L_base + 0·1 = L_base
    assert t.history["d_loss"][-1] == pytest.approx(float(base[-1]), abs=1e-6)
    t.hyper.gamma = 2.5
    t.train(1)
    # γ = 2.5: L_D = L_base + 2.5·Ω = L_base + 2.5 (float32 rounding of a sum ≈ 3.9: ulp 2.4e-7)
    assert t.history["d_loss"][-1] == pytest.approx(float(base[-1]) + 2.5, abs=1e-6)
    assert t.history["d_loss"][-1] - t.history["d_loss"][-2] > 2.0  # the penalty really appeared
    # the penalty sees the detached fakes: no graph back to G
    assert all(f.grad_fn is None and not f.requires_grad for f in fakes)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_variant_with_each_optimizer_trains(optimizer):
    # Variant's default optimizer_kwargs are Adam's ({"betas": (0.5, 0.999)}) whatever the optimizer,
    # so today Variant(..., optimizer="sgd" or "rmsprop") without explicit kwargs makes Trainer fail
    # with TypeError: SGD.__init__() got an unexpected keyword argument 'betas'.
    variant = Variant("x", losses.d_loss_bce, VARIANTS["gan"].g_loss, optimizer=optimizer)
    t = _trainer(variant=variant)
    assert type(t.opt_d) is OPTIMIZERS[optimizer] and type(t.opt_g) is OPTIMIZERS[optimizer]
    before = _all_params(t)
    t.step()
    after = _all_params(t)
    assert all(not torch.equal(after[k], before[k]) for k in before)


# --- 5. bad input --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    ({"n_critic": 0}, "n_critic must be an integer >= 1"),
    ({"n_critic": 1.5}, "n_critic must be an integer >= 1"),
    ({"n_critic": True}, "n_critic must be an integer >= 1"),
    ({"gamma": -1}, "gamma .* must be >= 0"),
    ({"gamma": float("inf")}, "gamma .* must be >= 0"),
    ({"label_smoothing": 1.0}, r"label_smoothing must lie in \[0, 1\)"),
    ({"label_smoothing": -0.1}, r"label_smoothing must lie in \[0, 1\)"),
    ({"lr_d": 0}, r"lr_d .* must be > 0"),
    ({"lr_g": -1e-3}, r"lr_g .* must be > 0"),
    ({"clip": 0}, r"clip \(the weight-clipping bound c\) must be > 0"),
    ({"clip": float("inf")}, r"clip .* must be > 0"),
    ({"power": 1.0}, r"power \(WGAN-div's exponent p\) must be > 1"),
])
def test_hyper_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Hyper(**kwargs)


def test_hyper_rejects_bad_values_after_construction():
    t = _trainer()
    with pytest.raises(ValueError, match="gamma .* must be >= 0"):
        t.hyper.gamma = -1
    assert t.hyper.gamma == 0.0  # unchanged
    with pytest.raises(ValueError, match="n_critic must be an integer >= 1"):
        t.hyper.n_critic = 0
    # a misspelt knob is not silently added: the message lists the valid names
    with pytest.raises(ValueError, match="valid names: label_smoothing, n_critic, gamma, clip, power, lr_d, lr_g"):
        t.hyper.n_crtic = 3
    assert not hasattr(t.hyper, "n_crtic")


@pytest.mark.parametrize("make", [lambda: _trainer(variant="nope"), lambda: get_variant("nope")],
                         ids=["Trainer", "get_variant"])
def test_unknown_variant_lists_valid_names(make):
    with pytest.raises(ValueError, match="unknown GAN variant 'nope'") as info:
        make()
    for name in VARIANTS:
        assert name in str(info.value)


@pytest.mark.parametrize("variant", [None, 3])
def test_trainer_rejects_a_variant_that_is_neither_name_nor_variant(variant):
    # Anything that is neither a registered name nor a Variant is refused with the valid names
    # (not an AttributeError from deep inside the constructor).
    with pytest.raises(ValueError, match="valid names") as info:
        _trainer(variant=variant)
    for name in VARIANTS:
        assert name in str(info.value)


def test_unknown_optimizer_lists_valid_names():
    with pytest.raises(ValueError, match="unknown optimizer 'adamw2'") as info:
        Variant("x", losses.d_loss_bce, VARIANTS["gan"].g_loss, optimizer="adamw2")
    for name in OPTIMIZERS:
        assert name in str(info.value)


@pytest.mark.parametrize("steps", [0, -1, 2.5])
def test_train_rejects_bad_steps(steps):
    t = _trainer()
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        t.train(steps)
    assert t.iteration == 0


@pytest.mark.parametrize("batch_size", [0, -4, 8.0, True])
def test_trainer_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        _trainer(batch_size=batch_size)


@pytest.mark.parametrize("snapshot_every", [0, -5])
def test_trainer_rejects_bad_snapshot_every(snapshot_every):
    # snapshot_every = 0 is accepted today and crashes the first train() step with ZeroDivisionError
    # (`self.iteration % self.snapshot_every` in _guard); it should be rejected up front like batch_size.
    with pytest.raises(ValueError, match="snapshot_every"):
        _trainer(snapshot_every=snapshot_every)


# --- 6. checkpoints ------------------------------------------------------------------------

def test_resume_from_checkpoint_is_bit_identical(tmp_path):
    path = tmp_path / "ckpt.pt"
    a = _trainer()
    a.train(40)
    b = _trainer()
    b.train(20)
    b.save(path)
    c = _trainer(model_seed=1)  # a different init: load must overwrite all of it
    assert not torch.equal(_clone(c.gen)["net.0.weight"], _clone(a.gen)["net.0.weight"])
    c.load(path)
    assert c.iteration == 20
    c.train(20)
    _assert_same_tensors(_all_params(c), _all_params(a))
    assert c.iteration == a.iteration == 40
    assert _without_seconds(c.history) == _without_seconds(a.history)
    assert c.history["step"] == list(range(1, 41))
    assert len(c.history["seconds"]) == 40
    # the optimisers' moments and the trainer's RNG went on identically too
    for name in ("opt_d", "opt_g"):
        sa, sc = getattr(a, name).state_dict()["state"], getattr(c, name).state_dict()["state"]
        for i in sa:
            _assert_same_tensors(sa[i], sc[i])
    assert torch.equal(a.rng.get_state(), c.rng.get_state())


def test_checkpoint_loads_with_weights_only(tmp_path):
    t = _trainer(hyper=Hyper(n_critic=2, gamma=0.5, label_smoothing=0.1))
    t.train(3)
    t.save(tmp_path / "ckpt.pt")
    state = torch.load(tmp_path / "ckpt.pt", weights_only=True)  # raises on anything but tensors/primitives
    assert set(state) == {"gen", "disc", "opt_g", "opt_d", "rng", "hyper", "iteration", "history", "gen_ema", "g_ema"}
    assert state["gen_ema"] is None and state["g_ema"] is None  # this trainer keeps no generator average
    assert state["iteration"] == 3
    assert state["hyper"] == {"label_smoothing": 0.1, "n_critic": 2, "gamma": 0.5, "clip": 0.01, "power": 6.0,
                              "lr_d": 2e-4, "lr_g": 2e-4}
    assert state["history"]["step"] == [1, 2, 3]
    # the hyperparameters come back with the checkpoint
    fresh = _trainer()
    fresh.load(tmp_path / "ckpt.pt")
    assert fresh.hyper == Hyper(label_smoothing=0.1, n_critic=2, gamma=0.5)


# --- 7. the divergence guard ---------------------------------------------------------------
# snapshot_every = 5 and a NaN loss from step 12 on: steps 1–11 are finite, snapshots are taken
# after steps 5 and 10, so the guard must restore the state after step 10.

def _diverge_at_12(which: str):
    control = {"nan_from": 12}  # n_critic = 1: the 12th call of either loss is in step 12
    t = _trainer(variant=_nan_variant(which, control), snapshot_every=5)
    with pytest.raises(TrainingDiverged) as info:
        t.train(30)
    return t, control, info


@pytest.mark.parametrize("which", ["d_loss", "g_loss"])
def test_guard_restores_last_snapshot(which):
    t, control, _ = _diverge_at_12(which)
    assert control["calls"] == 12  # training stopped in the step where the NaN appeared
    ref = _trainer(variant=_nan_variant(which, {"nan_from": math.inf}), snapshot_every=5)
    ref.train(10)
    params = _all_params(t)
    assert all(bool(torch.isfinite(v).all()) for v in params.values())
    _assert_same_tensors(params, _all_params(ref))
    assert t.iteration == 10
    # optimisers and RNG were restored too: with the NaN switched off, 5 more steps equal ref's next 5
    control["nan_from"] = math.inf
    t.train(5)
    ref.train(5)
    _assert_same_tensors(_all_params(t), _all_params(ref))


@pytest.mark.parametrize("which", ["d_loss", "g_loss"])
def test_guard_message_names_the_step_and_the_loss(which):
    _, _, info = _diverge_at_12(which)
    message = str(info.value)
    assert f"{which} = nan" in message
    assert "state (step 10)" in message  # the snapshot it went back to
    # the step where the NaN appeared is 12: the message names it, not the snapshot's step 10
    # (the guard reads the iteration before restoring).
    assert "diverged at step 12:" in message


@pytest.mark.parametrize("which", ["d_loss", "g_loss"])
def test_guard_truncates_history_to_the_snapshot(which):
    t, _, _ = _diverge_at_12(which)
    ref = _trainer(variant=_nan_variant(which, {"nan_from": math.inf}), snapshot_every=5)
    ref.train(10)
    # the state after step 10 includes the history of steps 1..10: the snapshot is taken after
    # step 10's record is appended, so history and iteration agree after a restore.
    assert t.history["step"] == list(range(1, 11))
    assert _without_seconds(t.history) == _without_seconds(ref.history)


def test_guard_after_load_restores_the_loaded_state(tmp_path):
    # B trains 20 steps and saves; C (another init) loads it and diverges 3 steps later, before its
    # next snapshot (snapshot_every = 50). The last good state C knows is the loaded step 20, not
    # C's own random init: load() makes the loaded state the guard's snapshot, so the guard never
    # throws the checkpointed run away.
    b = _trainer()
    b.train(20)
    b.save(tmp_path / "ckpt.pt")
    c = _trainer(model_seed=1, variant=_nan_variant("g_loss", {"nan_from": 3}))
    c.load(tmp_path / "ckpt.pt")
    with pytest.raises(TrainingDiverged):
        c.train(10)
    assert c.iteration == 20
    _assert_same_tensors(_all_params(c), _all_params(b))


def test_guard_catches_a_learning_rate_blow_up():
    # lr_d = 1e30: Adam's first update moves each D weight by ≈ 1e30, so the next forward pass
    # through D (the generator step of the same iteration) overflows float32 (max 3.4e38) to
    # inf/NaN, and the guard must stop and restore the snapshot of step 10
    t = _trainer(snapshot_every=5)
    t.train(10)
    good = _all_params(t)
    t.hyper.lr_d = 1e30
    with pytest.raises(TrainingDiverged, match=r"(d_loss|g_loss|d_grad_norm|g_grad_norm) = (nan|inf|-inf)"):
        t.train(20)
    params = _all_params(t)
    assert all(bool(torch.isfinite(v).all()) for v in params.values())
    _assert_same_tensors(params, good)
    assert t.iteration == 10


def test_guard_keeps_the_current_hyperparameters():
    # The guard restores weights, optimisers and RNG; the hyperparameters are the learner's (the
    # panel's sliders write them) and the message says "try a smaller learning rate", i.e. the rate
    # is still the one that diverged: after the blow-up trainer.hyper.lr_d must still be 1e30, as the
    # slider shows, not the snapshot's 2e-4.
    t = _trainer(snapshot_every=5)
    t.train(5)
    t.hyper.lr_d = 1e30
    t.hyper.label_smoothing = 0.2
    with pytest.raises(TrainingDiverged):
        t.train(20)
    assert t.hyper == Hyper(lr_d=1e30, label_smoothing=0.2)


# --- 8. device-agnostic: the meta device and a device guard --------------------------------

def test_step_on_meta_device():
    t = _trainer(device="meta")
    assert t.rng is None  # there is no meta generator: sample_real and noise get g = None
    out = t.step()
    assert set(out) == set(LOSS_KEYS)
    for k, v in out.items():
        assert v.device.type == "meta" and v.shape == (), k
    assert t.iteration == 1
    assert all(p.device.type == "meta" for p in [*t.gen.parameters(), *t.disc.parameters()])


def test_generator_average_lives_on_the_trainers_device():
    # the average (a copy of G) and its update counter are made on the trainer's device, not on the CPU
    t = _trainer(device="meta", g_ema=0.9)
    tensors = [*t.gen_ema.parameters(), *t.gen_ema.buffers(), *t._ema.buffers()]
    assert any(b.dtype == torch.long for b in t._ema.buffers())  # n_averaged is among them
    assert tensors and all(x.device.type == "meta" for x in tensors)


def test_step_on_meta_device_rejects_cpu_data():
    # negative control: real samples on the CPU while the models are on meta
    t = _trainer(device="meta", sample_device="cpu")
    with pytest.raises(RuntimeError, match="device"):
        t.step()


def test_device_guard_passes_a_cpu_step():
    t = _trainer()
    with DeviceGuard("cpu") as guard:
        t.step()
    assert t.iteration == 1
    assert len(guard.ops) >= 20  # it really saw the step's ops (linear, BCE, backward, Adam, …)
    assert any("addmm" in op for op in guard.ops)


def test_device_guard_catches_what_meta_lets_through():
    a, b = torch.empty(3, 3, device="meta"), torch.ones(3, 3)
    # Found on torch 2.x: the meta kernel of mm does not check devices, so mm(meta, cpu) quietly
    # returns a meta tensor, while elementwise ops do check (a + b raises "not on the expected device").
    # So a step that runs on meta is not yet proof that nothing mixes devices; hence the guard.
    # (Should a later PyTorch check devices in meta mm, the next line fails and can go; the guard stays.)
    assert torch.mm(a, b).device.type == "meta"
    with pytest.raises(RuntimeError, match="device"):
        a + b
    with DeviceGuard("meta"), pytest.raises(DeviceMismatch, match=r"aten\.mm.*on cpu, expected meta"):
        torch.mm(a, b)
    # a transfer onto the expected device passes, one off it is flagged
    with DeviceGuard("meta"):
        assert torch.ones(2, 2).to("meta").device.type == "meta"
    with DeviceGuard("cpu"), pytest.raises(DeviceMismatch, match=r"_to_copy.*on meta, expected cpu"):
        torch.ones(2, 2).to("meta")


def test_device_guard_passes_a_meta_step():
    t = _trainer(device="meta")
    with DeviceGuard("meta") as guard:
        t.step()
    assert t.iteration == 1
    assert any("addmm" in op for op in guard.ops)
    # the same guard stops a meta trainer fed CPU data at the first mixed op
    bad = _trainer(device="meta", sample_device="cpu")
    with DeviceGuard("meta"), pytest.raises(DeviceMismatch):
        bad.step()


# --- 9. history, callbacks, reset ----------------------------------------------------------

def test_history_callbacks_and_reset():
    t = _trainer()
    initial = _all_params(t)
    seen: list[tuple] = []

    def callback(trainer):
        seen.append((trainer, trainer.iteration, len(trainer.history["step"])))

    history = t.train(7, callbacks=[callback])
    assert history is t.history
    assert set(history) == set(HISTORY_KEYS)
    assert all(len(history[k]) == 7 for k in HISTORY_KEYS)  # one entry per iteration for every key
    assert history["step"] == [1, 2, 3, 4, 5, 6, 7]
    assert all(isinstance(v, float) and v > 0 for v in history["seconds"])
    for k in LOSS_KEYS:
        assert all(isinstance(v, float) and math.isfinite(v) for v in history[k]), k
    # BCE at the start: D ≈ chance, so L_D ≈ 2 ln 2 = 1.386 (each term ln 2 at zero logits); an
    # untrained MLP's logits are small but not zero, hence a loose band
    assert history["d_loss"][0] == pytest.approx(2 * math.log(2), abs=0.2)
    # the callback ran once per iteration, with the trainer, after that iteration was recorded
    assert [(tr is t, it, n) for tr, it, n in seen] == [(True, i, i) for i in range(1, 8)]
    first_run = _without_seconds(history)

    t.reset()
    _assert_same_tensors(_all_params(t), initial)
    assert t.iteration == 0
    assert t.history == {k: [] for k in HISTORY_KEYS}
    assert t.opt_d.state_dict()["state"] == {} and t.opt_g.state_dict()["state"] == {}
    # the RNG went back too: the same 7 steps again, bitwise
    t.train(7)
    assert _without_seconds(t.history) == first_run


def test_reset_keeps_the_current_hyperparameters():
    # reset()'s docstring: "Back to the initial weights, optimiser state, RNG and an empty history";
    # the hyperparameters are not in that list, and TrainingPanel.reset() relies on it: after
    # moving the ε and k sliders and pressing Reset the sliders still show ε = 0.1, k = 2, and the
    # loop must train with those (not the initial ε = 0, k = 1).
    t = _trainer()
    t.train(2)
    t.hyper.label_smoothing, t.hyper.n_critic = 0.1, 2
    t.reset()
    assert t.iteration == 0
    assert t.hyper == Hyper(label_smoothing=0.1, n_critic=2)


# --- 10. it learns ---------------------------------------------------------------------------

def test_nonsaturating_gan_learns_a_single_gaussian():
    # target N((2, −1), 0.1² I). The untrained G sits near the origin, √(2² + 1²) = 2.24 away.
    # 300 steps of Adam at lr 2e-3, batch 128 (≈ 0.4 s). Over model/trainer seeds 0–11 the distance
    # of the generated mean from (2, −1) after 300 steps was 0.02–0.15; we ask for < 0.3 = 3σ of the
    # target (the generated mass overlaps the target's 3σ disc), a 2× margin over the worst seed.
    target = GaussianMixture2D([[2.0, -1.0]], 0.1)
    mu = torch.tensor([2.0, -1.0])
    torch.manual_seed(0)
    gen, disc = Generator(2, 2, hidden=16), Discriminator(2, hidden=16)
    t = Trainer(gen, disc, lambda n, g: target.sample(n, g), variant="gan", hyper=Hyper(lr_d=2e-3, lr_g=2e-3),
                batch_size=128, seed=0)
    z = gen.noise(4000, generator=123)  # a fixed z: the same draws before and after
    with torch.no_grad():
        start = float((gen(z).mean(0) - mu).norm())
    assert start > 2.0  # it starts far away, so the check below can fail
    t.train(300)
    with torch.no_grad():
        x = gen(z)
    assert float((x.mean(0) - mu).norm()) < 0.3


def test_feature_matching_variant_gives_the_generator_loss_d_features():
    seen = {}

    def spy(real_features, fake_features):
        seen.update(real=real_features, fake=fake_features)
        return losses.g_loss_feature_matching(real_features, fake_features)

    t = _trainer(variant=Variant("spy", losses.d_loss_bce, spy, g_needs_real=True, g_features=True))
    out = t.g_step()
    # Discriminator(2, hidden=16): features are the last hidden layer, (batch, 16)
    assert seen["real"].shape == seen["fake"].shape == (64, 16)
    assert not seen["real"].requires_grad and seen["fake"].requires_grad  # the real side is a constant target
    assert torch.allclose(out["g_loss"], ((seen["real"].mean(0) - seen["fake"].mean(0)) ** 2).sum())
    # and the registered variant trains end to end
    t = _trainer(variant="gan_fm")
    t.train(5, progress=False)
    assert t.iteration == 5 and all(math.isfinite(v) for v in t.history["g_loss"])


def test_mlp_discriminator_logit_is_a_linear_map_of_its_features():
    torch.manual_seed(0)
    disc = Discriminator(2, hidden=16)
    x = torch.randn(8, 2)
    head = disc.net[-1]
    assert torch.allclose(disc(x), head(disc.features(x)).squeeze(-1))


# --- the generator's moving average (g_ema) ---------------------------------------------------

def test_ema_warmup_decay_closed_form():
    # β_n = min(β, (1 + n)/(10 + n)): n = 1 → 2/11, n = 8 → 1/2, capped at β = 0.3 from n = 3 on
    # ((1 + 3)/13 = 0.308 > 0.3); θ̄ ← β_n θ̄ + (1 − β_n) θ for floats, integer buffers copied
    # and for β = 0.999 the cap is reached at n = (10β − 1)/(1 − β) = 8,990 (8,991/9,000 = 0.999), not before
    for n, beta, decay in [(1, 0.999, 2 / 11), (8, 0.999, 0.5), (2, 0.3, 3 / 12), (3, 0.3, 0.3), (10**6, 0.999, 0.999),
                           (8989, 0.999, 8990 / 8999), (8990, 0.999, 0.999)]:
        avg, now, count = [torch.tensor([2.0, -1.0])], [torch.tensor([4.0, 3.0])], [torch.tensor(7)]
        ema_warmup(beta)(avg, now, torch.tensor(n))
        torch.testing.assert_close(avg[0], decay * torch.tensor([2.0, -1.0]) + (1 - decay) * torch.tensor([4.0, 3.0]))
        ema_warmup(beta)(count, [torch.tensor(9)], torch.tensor(n))
        assert count[0].item() == 9 and count[0].dtype == torch.long


def test_g_ema_follows_the_recurrence_after_each_step():
    # θ̄_1 = θ_1 (AveragedModel's first update copies), θ̄_t = β_n θ̄_{t−1} + (1 − β_n) θ_t with n = t − 1
    # updates so far and β_n = min(β, (1 + n)/(10 + n)), θ_t the generator's weights after step t,
    # recorded by a callback (callbacks run after the update); β = 0.3 is reached at n = 3, so the
    # 12 steps cover the warm-up and the capped decay
    beta = 0.3
    t = _trainer(g_ema=beta)
    expected = {}

    def record(tr):
        now, n = _clone(tr.gen), tr.iteration - 1
        decay = min(beta, (1 + n) / (10 + n))
        for k, v in now.items():
            expected[k] = v if tr.iteration == 1 else decay * expected[k] + (1 - decay) * v

    t.train(12, callbacks=[record])
    averaged = _clone(t.gen_ema)
    assert averaged.keys() == expected.keys()
    for k in expected:
        torch.testing.assert_close(averaged[k], expected[k], rtol=1e-5, atol=1e-6)
    # after 12 steps the average lags the weights: it is not a second name for gen
    assert not torch.equal(averaged["net.0.weight"], _clone(t.gen)["net.0.weight"])
    assert t.eval_gen is t.gen_ema and t.gen_ema is not t.gen


def test_g_ema_is_never_read_by_training():
    # the critic trains against gen and the average is only written: weights, history and RNG
    # of a run with an average equal those of the same run without one, bit for bit
    a, b = _trainer(g_ema=0.9), _trainer()
    a.train(15)
    b.train(15)
    _assert_same_tensors(_all_params(a), _all_params(b))
    assert _without_seconds(a.history) == _without_seconds(b.history)
    assert torch.equal(a.rng.get_state(), b.rng.get_state())
    assert b.gen_ema is None and b.eval_gen is b.gen


def test_g_ema_samples_are_what_the_mode_tracker_scores():
    from gan_tutor.metrics import PROTOCOL_SAMPLES, mode_stats
    from gan_tutor.recipes import ModeTracker, generate
    t = _trainer(g_ema=0.5)
    t.train(6)
    last = t.gen_ema.net[-1]  # make the average map every z onto the first centre: one mode, all high quality
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(DATA.centres[0])
    got = ModeTracker(DATA).score(t)
    assert got == mode_stats(generate(t.gen_ema, PROTOCOL_SAMPLES, 12345), DATA.centres, DATA.std)
    assert (got.modes, got.high_quality) == (1, 1.0)
    raw = mode_stats(generate(t.gen, PROTOCOL_SAMPLES, 12345), DATA.centres, DATA.std)
    assert raw != got  # the untrained-for-long gen itself scores otherwise, so the test can tell which was read
    assert ModeTracker(DATA).score(t, t.gen) == raw  # and the last weights when asked for


@pytest.mark.parametrize("g_ema", [0, 1, 1.5, -0.1, True, "0.99"])
def test_trainer_rejects_bad_g_ema(g_ema):
    with pytest.raises(ValueError, match=r"g_ema must be a decay in \(0, 1\)"):
        _trainer(g_ema=g_ema)


def test_g_ema_resumes_bit_identically_and_refuses_a_mismatched_state(tmp_path):
    a = _trainer(g_ema=0.9)
    a.train(30)
    b = _trainer(g_ema=0.9)
    b.train(10)
    b.save(tmp_path / "ckpt.pt")
    c = _trainer(model_seed=1, g_ema=0.9)
    c.load(tmp_path / "ckpt.pt")
    c.train(20)
    _assert_same_tensors(_clone(c.gen_ema), _clone(a.gen_ema))
    with pytest.raises(ValueError, match="saved with g_ema = 0.9 .* this trainer has g_ema = None"):
        _trainer().load(tmp_path / "ckpt.pt")
    with pytest.raises(ValueError, match="saved with g_ema = None .* this trainer has g_ema = 0.9"):
        _trainer(g_ema=0.9).load_state_dict(_trainer().state_dict())
    with pytest.raises(ValueError, match="saved with g_ema = 0.9 .* this trainer has g_ema = 0.99"):
        _trainer(g_ema=0.99).load(tmp_path / "ckpt.pt")  # another decay would go on differently


def test_g_ema_is_restored_by_the_guard():
    # as _diverge_at_12, with an average: the guard restores it to the snapshot after step 10,
    # which equals the average of a clean 10-step run (finite, though step 12 poisoned the weights)
    control = {"nan_from": 12}
    t = _trainer(variant=_nan_variant("g_loss", control), snapshot_every=5, g_ema=0.7)
    with pytest.raises(TrainingDiverged):
        t.train(30)
    ref = _trainer(variant=_nan_variant("g_loss", {"nan_from": math.inf}), snapshot_every=5, g_ema=0.7)
    ref.train(10)
    averaged = _clone(t.gen_ema)
    assert all(bool(torch.isfinite(v).all()) for v in averaged.values())
    _assert_same_tensors(averaged, _clone(ref.gen_ema))


def test_reset_restarts_the_average():
    t = _trainer(g_ema=0.9)
    start = _clone(t.gen)
    t.train(5)
    t.reset()
    t.train(1)  # the first update after a reset copies the weights again
    _assert_same_tensors(_clone(t.gen_ema), _clone(t.gen))
    assert not torch.equal(_clone(t.gen)["net.0.weight"], start["net.0.weight"])
