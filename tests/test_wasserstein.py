r"""Tests for the Wasserstein GANs (chapters 05–07): the critic losses of gan_tutor.losses,
the input-gradient penalties and weight clipping of gan_tutor.penalties, and the
``wgan_clip`` / ``wgan_gp`` / ``wgan_div`` variants of gan_tutor.train.

Book convention: the critic f scores REAL samples high. It minimises
:math:`\mathbb E_g f - \mathbb E_r f` (+ γ·penalty); the generator minimises :math:`-\mathbb E_g f`.

What is checked, and how each expected number is derived:

1. A linear critic f(x) = w·x + b has ∇f = w at every point, so for any batch size and for
   (N, d) points and (N, C, H, W) images: GP = (‖w‖ − 1)², one-sided GP = max(0, ‖w‖ − 1)²,
   WGAN-div = k‖w‖^p, R1 = ‖w‖², and their w-gradients are 2(‖w‖ − 1)w/‖w‖, k p ‖w‖^(p−2) w, 2w.
   A quadratic critic whose per-sample gradients differ tells the per-sample norm from a
   whole-batch or wrong-axis norm.
2. Interpolates: one ε per sample, reproducible, detached.
3. An exactly-zero input gradient (zero weights, dead ReLUs): GP = 1 and every backward finite.
4. Weight clipping; 5. bad input; 6. the losses and their gradients.
7. A critic fitted alone between N(0, 1) (real) and N(Δ, 1) (fake), whose W1 is exactly |Δ|:
   closed forms for a linear critic under each constraint, and for an unconstrained critic
   (a 1-D integral) under GP and WGAN-div; the sign of the WGAN-div penalty; the mirrored
   local minimum of the two-sided GP.
8. The registered variants: paper defaults, clipping / γ / p read afresh every step, the GP's
   ε drawn from the trainer's generator (bit-identical repeats and resumes); WGAN-div's step
   takes its loss and penalty from one critic pass and equals the three-pass step.
9. The penalties and a Wasserstein trainer step on the ``meta`` device.

Small models (linear critics, MLPs of width ≤ 32), one CPU thread (tests/conftest.py).
"""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from gan_tutor import losses
from gan_tutor import penalties as P
from gan_tutor.data import ring8
from gan_tutor.divergences import w1_samples
from gan_tutor.models import Discriminator, Generator
from gan_tutor.train import OPTIMIZERS, VARIANTS, Hyper, Trainer, fit_discriminator
from test_train_loop import DeviceGuard

F64 = torch.float64
DATA = ring8()


# --- critics with known input gradients -----------------------------------------------------

class LinearCritic(nn.Module):
    r"""f(x) = w·flatten(x) + b: ∇_x f = w (reshaped like a sample) at every x.
    ``keepdim`` returns scores as (N, 1) instead of (N,)."""

    def __init__(self, w: torch.Tensor, b: float = 0.0, keepdim: bool = False):
        super().__init__()
        self.w = nn.Parameter(w.detach().flatten().clone())
        self.b = nn.Parameter(torch.tensor(b, dtype=w.dtype))
        self.keepdim = keepdim

    def forward(self, x):
        out = x.flatten(1) @ self.w + self.b
        return out[:, None] if self.keepdim else out


class HalfSquare(nn.Module):
    r"""f(x) = a·½‖x‖²: ∇_x f(x_i) = a·x_i, a different gradient for every sample."""

    def __init__(self, a: float = 1.0):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=F64))

    def forward(self, x):
        return self.a * 0.5 * x.flatten(1).pow(2).sum(1)


SAMPLE_SHAPES = {"points": (2,), "images": (3, 4, 4)}


def _direction(shape) -> torch.Tensor:
    """A unit vector of the sample shape: (0.6, 0.8) for points, a seeded random image otherwise."""
    if shape == (2,):
        return torch.tensor([0.6, 0.8], dtype=F64)
    g = torch.Generator().manual_seed(11)
    v = torch.randn(shape, generator=g, dtype=F64)
    return v / v.norm()


def _pair(n: int, shape, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn((n, *shape), generator=g, dtype=F64), torch.randn((n, *shape), generator=g, dtype=F64)


def _assert_zero_or_unused(grad) -> None:
    """A parameter that ∇_x f does not depend on (the bias) gets a zero gradient, or none at all
    (autograd leaves ``.grad`` None for a parameter outside the penalty's graph)."""
    if grad is not None:
        torch.testing.assert_close(grad, torch.zeros_like(grad), rtol=0, atol=0)


def _grad_of(penalty: torch.Tensor, critic: nn.Module) -> dict[str, torch.Tensor]:
    critic.zero_grad(set_to_none=True)
    penalty.backward()
    return {name: p.grad for name, p in critic.named_parameters()}


# --- 1. a linear critic: every penalty in closed form ---------------------------------------

@pytest.mark.parametrize("norm", [0.6, 2.5])
@pytest.mark.parametrize("keepdim", [False, True], ids=["scores(N)", "scores(N,1)"])
@pytest.mark.parametrize("kind", sorted(SAMPLE_SHAPES))
@pytest.mark.parametrize("n", [1, 3, 64])
def test_linear_critic_penalties_are_closed_forms(n, kind, keepdim, norm):
    shape = SAMPLE_SHAPES[kind]
    w = norm * _direction(shape)  # ‖w‖ = r ∈ {0.6 (inside the unit ball), 2.5 (outside)}
    r = norm
    critic = LinearCritic(w, b=0.3, keepdim=keepdim)
    real, fake = _pair(n, shape)
    flat_w = w.flatten()
    g = torch.Generator().manual_seed(5)

    # ‖∇f(x_i)‖ = ‖w‖ for every sample, shape (N,)
    norms = P.gradient_norms(critic, real)
    torch.testing.assert_close(norms, torch.full((n,), r, dtype=F64), rtol=0, atol=1e-12)
    grads = P.input_gradients(critic, fake)
    assert grads.shape == fake.shape
    torch.testing.assert_close(grads, w.expand_as(fake), rtol=0, atol=0)  # exactly w, row by row

    # GP (two-sided) = (r − 1)²: 0.16 for r = 0.6, 2.25 for r = 2.5;
    # d/dw (‖w‖ − 1)² = 2(‖w‖ − 1) w/‖w‖; the bias has no effect on ∇_x f: gradient 0
    gp = P.gradient_penalty(critic, real, fake, generator=g)
    torch.testing.assert_close(gp, torch.tensor((r - 1) ** 2, dtype=F64), rtol=0, atol=1e-12)
    d = _grad_of(gp, critic)
    torch.testing.assert_close(d["w"], 2 * (r - 1) * flat_w / r, rtol=0, atol=1e-12)
    _assert_zero_or_unused(d["b"])

    # one-sided GP = max(0, r − 1)²: 0 for r = 0.6 (and a zero gradient), (r − 1)² = 2.25 for r = 2.5
    gp1 = P.gradient_penalty(critic, real, fake, generator=g, one_sided=True)
    excess = max(0.0, r - 1)
    torch.testing.assert_close(gp1, torch.tensor(excess ** 2, dtype=F64), rtol=0, atol=1e-12)
    d = _grad_of(gp1, critic)
    torch.testing.assert_close(d["w"], 2 * excess * flat_w / r, rtol=0, atol=1e-12)

    # WGAN-div = k r^p, at the pooled batch and at interpolates alike; d/dw k‖w‖^p = k p ‖w‖^(p−2) w.
    # Defaults k = 2, p = 6: 2·0.6⁶ = 0.093312, 2·2.5⁶ = 488.28125.
    for kwargs in ({}, {"interpolate": True, "generator": g}, {"k": 1.0, "p": 2.0}, {"k": 0.5, "p": 1.5},
                   {"k": 3.0, "p": 4.0, "interpolate": True}):
        k, p = kwargs.get("k", 2.0), kwargs.get("p", 6.0)
        div = P.wgan_div_penalty(critic, real, fake, **kwargs)
        torch.testing.assert_close(div, torch.tensor(k * r ** p, dtype=F64), rtol=1e-12, atol=0)
        d = _grad_of(div, critic)
        torch.testing.assert_close(d["w"], k * p * r ** (p - 2) * flat_w, rtol=1e-12, atol=1e-12)
        _assert_zero_or_unused(d["b"])

    # scores_and_gradients: f(x_i) = w·x_i + b as (N,), ∇f = w row by row, from one pass; then
    # gradient_power(∇f, p) = E‖w‖^p = r^p, WGAN-div's penalty with k = 1 (what the trainer adds)
    scores, grads = P.scores_and_gradients(critic, real)
    torch.testing.assert_close(scores, real.flatten(1) @ flat_w + 0.3, rtol=0, atol=1e-12)
    torch.testing.assert_close(grads, w.expand_as(real), rtol=0, atol=0)
    for p in (6.0, 1.5):
        power = P.gradient_power(grads, p)
        torch.testing.assert_close(power, torch.tensor(r ** p, dtype=F64), rtol=1e-12, atol=0)
        torch.testing.assert_close(_grad_of(power, critic)["w"], p * r ** (p - 2) * flat_w, rtol=1e-12, atol=1e-12)
        scores, grads = P.scores_and_gradients(critic, real)  # a fresh graph for the next backward

    # R1 = r² (0.36 or 6.25); d/dw ‖w‖² = 2w
    r1 = P.r1_penalty(critic, real)
    torch.testing.assert_close(r1, torch.tensor(r ** 2, dtype=F64), rtol=1e-12, atol=0)
    torch.testing.assert_close(_grad_of(r1, critic)["w"], 2 * flat_w, rtol=0, atol=1e-12)


def test_defaults_of_wgan_div_are_k2_p6():
    # ‖w‖ = 1.5: k‖w‖^p = 2·1.5⁶ = 2·11.390625 = 22.78125 with the paper's k = 2, p = 6
    critic = LinearCritic(torch.tensor([0.9, 1.2], dtype=F64))
    real, fake = _pair(8, (2,))
    torch.testing.assert_close(P.wgan_div_penalty(critic, real, fake), torch.tensor(22.78125, dtype=F64),
                               rtol=1e-14, atol=0)


# Per-sample gradients that differ: f(x) = a·½‖x‖² has ∇f(x_i) = a x_i. Two samples with
# ‖x_1‖ = 0.5 and ‖x_2‖ = 2.5 (points (0.3, 0.4), (1.5, 2.0); images with pixels
# (0.1, 0.2, 0.2, 0.4) and (0.5, 1, 1, 2), whose squares sum to 0.25 and 6.25). With a = 1:
#   GP       = ((0.5 − 1)² + (2.5 − 1)²)/2 = (0.25 + 2.25)/2 = 1.25
#   one-sided= (0 + 2.25)/2 = 1.125
#   WGAN-div = 2·(0.5⁶ + 2.5⁶)/2 = 0.015625 + 244.140625 = 244.15625  (k = 2, p = 6)
#   R1       = (0.25 + 6.25)/2 = 3.25
# and the derivatives in a (at a = 1, gradient norms a·n_i):
#   dGP/da  = (1/N) Σ 2(a n_i − 1) n_i = (2(−0.5)(0.5) + 2(1.5)(2.5))/2 = (−0.5 + 7.5)/2 = 3.5
#   d(one-sided)/da = (1/N) Σ 2 max(0, a n_i − 1) n_i = (0 + 7.5)/2 = 3.75
#   dDiv/da = k p a^(p−1) mean n_i^p = 2·6·122.078125 = 1464.9375
#   dR1/da  = 2a mean n_i² = 6.5
# The bugs these catch: one norm over the whole batch gives (√6.5 − 1)² = 2.4010 for the GP;
# a norm over the batch axis (dim 0) gives per-coordinate norms √2.34 = 1.5297 and √4.16 = 2.0396,
# hence GP ((0.5297)² + (1.0396)²)/2 = 0.6807.
# real = fake = X, so the interpolates are X (ε X + (1 − ε) X, to one rounding: atol 1e-12).
HALF_SQUARE_INPUTS = {
    "points": torch.tensor([[0.3, 0.4], [1.5, 2.0]], dtype=F64),
    "images": torch.tensor([[0.1, 0.2, 0.2, 0.4], [0.5, 1.0, 1.0, 2.0]], dtype=F64).reshape(2, 1, 2, 2),
}


@pytest.mark.parametrize("kind", sorted(HALF_SQUARE_INPUTS))
def test_penalties_take_one_norm_per_sample(kind):
    x = HALF_SQUARE_INPUTS[kind]
    critic = HalfSquare(1.0)
    g = torch.Generator().manual_seed(0)
    torch.testing.assert_close(P.gradient_norms(critic, x), torch.tensor([0.5, 2.5], dtype=F64), rtol=0, atol=1e-15)

    cases = [
        (lambda: P.gradient_penalty(critic, x, x, generator=g), 1.25, 3.5),
        (lambda: P.gradient_penalty(critic, x, x, generator=g, one_sided=True), 1.125, 3.75),
        (lambda: P.wgan_div_penalty(critic, x, x), 244.15625, 1464.9375),
        (lambda: P.wgan_div_penalty(critic, x, x, interpolate=True, generator=g), 244.15625, 1464.9375),
        (lambda: P.r1_penalty(critic, x), 3.25, 6.5),
    ]
    for make, value, slope in cases:
        out = make()
        torch.testing.assert_close(out, torch.tensor(value, dtype=F64), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(_grad_of(out, critic)["a"], torch.tensor(slope, dtype=F64), rtol=1e-12, atol=1e-12)


# --- 2. interpolates ------------------------------------------------------------------------

def test_interpolates_use_one_epsilon_per_image():
    n = 16
    g = torch.Generator().manual_seed(3)
    fake = torch.randn(n, 3, 4, 4, generator=g, dtype=F64)
    real = fake + 1 + torch.rand(n, 3, 4, 4, generator=g, dtype=F64)  # real − fake ≥ 1 in every pixel
    x_hat = P.interpolates(real, fake, torch.Generator().manual_seed(7))
    assert x_hat.shape == real.shape and x_hat.dtype == F64
    # x̂ − fake = ε_i (real − fake): the ratio is one number per sample, the same in all 48 pixels
    ratio = ((x_hat - fake) / (real - fake)).flatten(1)  # (N, 48)
    eps = ratio[:, 0]
    assert float((ratio.max(1).values - ratio.min(1).values).max()) < 1e-12
    assert bool(((eps >= 0) & (eps <= 1)).all())
    assert len(set(eps.tolist())) == n  # a fresh ε for every sample (16 continuous uniforms never tie)
    torch.testing.assert_close(x_hat, eps.view(n, 1, 1, 1) * real + (1 - eps.view(n, 1, 1, 1)) * fake,
                               rtol=0, atol=1e-12)


def test_interpolates_lie_on_the_segments_with_uniform_epsilon():
    n = 4096
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(n, 2, generator=g, dtype=F64), torch.randn(n, 2, generator=g, dtype=F64) + 3
    x_hat = P.interpolates(real, fake, torch.Generator().manual_seed(2))
    eps = (x_hat - fake)[:, 0] / (real - fake)[:, 0]
    # each x̂_i on the segment [fake_i, real_i]: the same ε in both coordinates, 0 ≤ ε ≤ 1
    torch.testing.assert_close(x_hat - fake, eps[:, None] * (real - fake), rtol=0, atol=1e-9)
    assert float(eps.min()) >= -1e-9 and float(eps.max()) <= 1 + 1e-9
    # ε ~ U[0, 1]: mean 1/2 and variance 1/12; the mean of 4096 draws has sd √(1/12/4096) = 0.00451,
    # so ±5 sd = ±0.0226; the sample variance has sd ≈ √((1/80 − 1/144)/4096) = 0.00116, ±5 sd = ±0.0058
    assert float(eps.mean()) == pytest.approx(0.5, abs=0.0226)
    assert float(eps.var()) == pytest.approx(1 / 12, abs=0.0058)


def test_interpolates_are_reproducible_and_detached():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(32, 1, 4, 4, generator=g, requires_grad=True)
    fake = torch.randn(32, 1, 4, 4, generator=g)
    a = P.interpolates(real, fake, torch.Generator().manual_seed(42))
    b = P.interpolates(real, fake, torch.Generator().manual_seed(42))
    c = P.interpolates(real, fake, torch.Generator().manual_seed(43))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)  # a different seed, different ε
    assert not a.requires_grad and a.grad_fn is None  # no graph back to real (or to G)


# --- 3. an exactly-zero input gradient ------------------------------------------------------

def _zero_gradient_critics():
    torch.manual_seed(0)
    dead = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)).double()
    with torch.no_grad():
        dead[0].bias.fill_(-100.0)  # every ReLU off for |x| ≪ 100: f is constant there, ∇f = 0 exactly
    return {"zero-weight linear": LinearCritic(torch.zeros(2, dtype=F64), b=0.7), "dead-ReLU MLP": dead}


@pytest.mark.parametrize("name", ["zero-weight linear", "dead-ReLU MLP"])
def test_gradient_penalty_at_a_zero_gradient(name):
    critic = _zero_gradient_critics()[name]
    real, fake = _pair(5, (2,))
    assert float(P.gradient_norms(critic, real).abs().max()) == 0.0
    # ‖∇f‖ = 0 everywhere: GP = (0 − 1)² = 1 exactly; one-sided max(0, −1)² = 0
    gp = P.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))
    assert float(gp.detach()) == 1.0
    grads = _grad_of(gp, critic)
    # ‖·‖ is not differentiable at 0; any element of its generalised gradient is finite, and the
    # chain rule gives |∂GP/∂θ| ≤ 2·(Lipschitz bound of ∇f in θ): finite, never NaN
    for pname, gr in grads.items():
        if gr is not None:
            assert bool(torch.isfinite(gr).all()), pname
    assert float(P.gradient_penalty(critic, real, fake, one_sided=True).detach()) == 0.0


@pytest.mark.parametrize("p", [6.0, 2.0, 1.5])
@pytest.mark.parametrize("name", ["zero-weight linear", "dead-ReLU MLP"])
def test_wgan_div_and_r1_at_a_zero_gradient(name, p):
    critic = _zero_gradient_critics()[name]
    real, fake = _pair(5, (2,))
    # k‖∇f‖^p = 0 at ∇f = 0, and for p > 1 its derivative k p ‖v‖^(p−2) v → 0 as v → 0: the exact
    # gradient in the weights is 0 (the slider of the live panel goes down to p = 1.5)
    for out in (P.wgan_div_penalty(critic, real, fake, p=p),
                P.wgan_div_penalty(critic, real, fake, p=p, interpolate=True,
                                   generator=torch.Generator().manual_seed(0)),
                P.r1_penalty(critic, real)):
        assert float(out.detach()) == 0.0
        for pname, gr in _grad_of(out, critic).items():
            if gr is not None:
                torch.testing.assert_close(gr, torch.zeros_like(gr), rtol=0, atol=0,
                                           msg=f"{name}, p = {p}: d/d{pname} = {gr.flatten().tolist()}, expected 0")


# --- 4. weight clipping ---------------------------------------------------------------------

def test_clip_weights_clamps_only_what_lies_outside():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)  # Linear init U(±1/√3), U(±1/√8) × 3 and BN's weight 3: many entries beyond c
    net(torch.randn(16, 3))  # give BN running statistics (buffers, not parameters)
    c = float(torch.tensor(0.3))  # 0.3 rounded to float32, the parameters' dtype: the bound as stored
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert P.clip_weights_(net, c) is None
    names = {name for name, _ in net.named_parameters()}
    n_in = n_out = 0
    for name, value in net.state_dict().items():
        old = before[name]
        if name not in names:  # running_mean/var, num_batches_tracked: buffers are not clipped
            assert torch.equal(value, old), name
            continue
        inside = old.abs() <= c
        n_in, n_out = n_in + int(inside.sum()), n_out + int((~inside).sum())
        assert torch.equal(value[inside], old[inside]), name  # untouched, bitwise
        assert torch.equal(value[~inside], c * old[~inside].sign()), name  # exactly ±c
        assert float(value.abs().max()) <= c
    assert n_in > 0 and n_out > 0  # both branches were exercised


@pytest.mark.parametrize("c", [0, -1, float("nan"), float("inf"), -float("inf")])
def test_clip_weights_rejects_bad_bounds(c):
    net = nn.Linear(2, 1)
    before = net.weight.detach().clone()
    with pytest.raises(ValueError, match="clipping bound c must be a positive number"):
        P.clip_weights_(net, c)
    assert torch.equal(net.weight.detach(), before)


# --- 5. bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda c: P.gradient_penalty(c, torch.randn(4, 2), torch.randn(5, 2)),
    lambda c: P.wgan_div_penalty(c, torch.randn(4, 2), torch.randn(4, 3)),
    lambda c: P.interpolates(torch.randn(4, 2), torch.randn(4, 1, 2)),
], ids=["gp-N", "div-d", "interpolates-ndim"])
def test_real_and_fake_of_different_shapes_are_refused(call):
    with pytest.raises(ValueError, match="real and fake must have the same shape"):
        call(LinearCritic(torch.ones(2)))


@pytest.mark.parametrize("call", [
    lambda c: P.gradient_penalty(c, torch.randn(4), torch.randn(4)),
    lambda c: P.wgan_div_penalty(c, torch.randn(4), torch.randn(4)),
    lambda c: P.interpolates(torch.randn(4), torch.randn(4)),
    lambda c: P.r1_penalty(c, torch.randn(4)),
    lambda c: P.gradient_norms(c, torch.randn(4)),
    lambda c: P.gradient_penalty(c, torch.ones(4, 2, dtype=torch.int64), torch.ones(4, 2, dtype=torch.int64)),
], ids=["gp", "div", "interpolates", "r1", "norms", "gp-int"])
def test_one_dimensional_or_integer_batches_are_refused(call):
    with pytest.raises(ValueError, match=r"\(N, d\) points or \(N, C, H, W\) images"):
        call(LinearCritic(torch.ones(1)))


@pytest.mark.parametrize("call", [
    lambda c, x: P.gradient_penalty(c, x, x),
    lambda c, x: P.wgan_div_penalty(c, x, x),
    lambda c, x: P.r1_penalty(c, x),
    lambda c, x: P.qp_penalty(c, x, x),
], ids=["gp", "div", "r1", "qp"])
def test_a_critic_with_two_scores_per_sample_is_refused(call):
    critic = nn.Linear(3, 2)  # (N, 2): two scores per sample (WGAN-div scores the pooled batch, N = 4 + 4)
    with pytest.raises(ValueError, match=r"one score per sample, \(N,\) or \(N, 1\) with N = (4|8); got \((4|8), 2\)"):
        call(critic, torch.randn(4, 3))


@pytest.mark.parametrize("kwargs, match", [
    ({"k": -0.1}, r"k \(the penalty weight\) must be >= 0"),
    ({"k": float("nan")}, r"k \(the penalty weight\) must be >= 0"),
    ({"p": 1.0}, r"p \(the power of the gradient norm\) must be > 1"),
    ({"p": 0.5}, r"p \(the power of the gradient norm\) must be > 1"),
    ({"p": float("inf")}, r"p \(the power of the gradient norm\) must be > 1"),
])
def test_wgan_div_rejects_bad_k_and_p(kwargs, match):
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match=match):
        P.wgan_div_penalty(LinearCritic(torch.ones(2)), x, x, **kwargs)
    if "p" in kwargs:  # the same check guards the trainer's path, which is given the gradients
        with pytest.raises(ValueError, match=match):
            P.gradient_power(x, kwargs["p"])


@pytest.mark.parametrize("bad", [torch.ones(4), torch.ones(4, 2, dtype=torch.int64), [[1.0, 2.0]]])
def test_gradient_power_refuses_what_is_not_a_batch_of_gradients(bad):
    match = r"grad must be a floating-point batch of gradients, \(N, d\) or \(N, C, H, W\)"
    with pytest.raises(ValueError, match=match):
        P.gradient_power(bad, 6.0)


# --- 6. the losses ----------------------------------------------------------------------------

def test_wasserstein_losses_values_order_and_gradients():
    # f_real = (1, 2, 3): mean 2; f_fake = (−1, 0.5): mean −0.25
    #   estimate Ŵ = 2 − (−0.25) = 2.25;  L_f = E_g f − E_r f = −2.25;  L_G = −E_g f = 0.25
    for shape in ((-1,), (-1, 1)):  # (N,) and (N, 1) scores alike
        f_real = torch.tensor([1.0, 2.0, 3.0], dtype=F64).reshape(shape).requires_grad_(True)
        f_fake = torch.tensor([-1.0, 0.5], dtype=F64).reshape(shape).requires_grad_(True)
        est = losses.wasserstein_estimate(f_real, f_fake)
        d = losses.d_loss_wasserstein(f_real, f_fake)
        g = losses.g_loss_wasserstein(f_fake)
        assert (est.item(), d.item(), g.item()) == (2.25, -2.25, 0.25)  # exact in binary
        # the order (real, fake) matters: swapping the arguments flips the sign
        assert losses.d_loss_wasserstein(f_fake, f_real).item() == 2.25
        assert losses.wasserstein_estimate(f_fake, f_real).item() == -2.25
        # ∂L_f/∂f_real_j = −1/N = −1/3, ∂L_f/∂f_fake_j = +1/M = 1/2
        gr, gf = torch.autograd.grad(d, (f_real, f_fake))
        torch.testing.assert_close(gr, torch.full_like(gr, -1 / 3), rtol=0, atol=1e-15)
        torch.testing.assert_close(gf, torch.full_like(gf, 1 / 2), rtol=0, atol=1e-15)
        # ∂L_G/∂f_fake_j = −1/M = −1/2
        (gg,) = torch.autograd.grad(g, f_fake)
        torch.testing.assert_close(gg, torch.full_like(gg, -1 / 2), rtol=0, atol=1e-15)


def test_generator_loss_gradient_never_saturates():
    # −1/M whatever the scores: the same at ±1e6 as at 0 (no sigmoid to saturate); M = 4 → −0.25
    f_fake = torch.tensor([-1e6, -3.0, 0.0, 1e6], dtype=F64, requires_grad=True)
    (grad,) = torch.autograd.grad(losses.g_loss_wasserstein(f_fake), f_fake)
    torch.testing.assert_close(grad, torch.full((4,), -0.25, dtype=F64), rtol=0, atol=0)


@pytest.mark.parametrize("bad", [torch.zeros(3, 2), torch.tensor(1.0), torch.zeros(3, 1, 1),
                                 torch.zeros(3, dtype=torch.int64)], ids=["(N,2)", "scalar", "(N,1,1)", "int"])
def test_wasserstein_losses_reject_bad_scores(bad):
    ok = torch.zeros(3)
    for call in (lambda: losses.d_loss_wasserstein(bad, ok), lambda: losses.d_loss_wasserstein(ok, bad),
                 lambda: losses.wasserstein_estimate(bad, ok), lambda: losses.g_loss_wasserstein(bad)):
        with pytest.raises(ValueError, match="critic score"):
            call()
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        losses.g_loss_wasserstein([0.0, 1.0])


# --- 7. a critic fitted alone between N(0, 1) and N(Δ, 1) -------------------------------------

DELTA = 2.0
N_EVAL = 200_000


def _eval_sets(delta: float = DELTA):
    """Fixed held-out samples: real ~ N(0, 1), fake ~ N(Δ, 1), (N_EVAL, 1) each."""
    g = torch.Generator().manual_seed(999)
    return torch.randn(N_EVAL, 1, generator=g), torch.randn(N_EVAL, 1, generator=g) + delta


def _fit_gaussians(critic: nn.Module, variant, steps: int, lr: float, seed: int = 0, delta: float = DELTA,
                   **hyper) -> float:
    """Fit ``critic`` alone (fit_discriminator) on real ~ N(0, 1), fake ~ N(Δ, 1) drawn from one seeded
    generator, which also draws the GP's ε; return Ŵ = E f(real) − E f(fake) on the held-out sets."""
    g = torch.Generator().manual_seed(seed)
    fit_discriminator(critic, lambda n: torch.randn(n, 1, generator=g),
                      lambda n: torch.randn(n, 1, generator=g) + delta, steps, batch_size=256, lr=lr,
                      variant=variant, generator=g, **hyper)
    real, fake = _eval_sets(delta)
    with torch.no_grad():
        return float(losses.wasserstein_estimate(critic(real), critic(fake)))


def _linear(w0, dim: int = 1) -> nn.Linear:
    torch.manual_seed(0)
    lin = nn.Linear(dim, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(w0, dtype=torch.float32).reshape(1, dim))
        lin.bias.zero_()
    return lin


def test_exact_w1_of_the_two_gaussians_is_delta():
    # W1(N(0, 1), N(Δ, 1)) = |Δ| (a shift moves every quantile by Δ). Between the two empirical sets of
    # n = 200 000 the sorted pairs differ by Δ + (z'_(i) − z_(i)), all positive here, so W1_n = Δ + (ȳ − x̄ − Δ)
    # whose error has sd √(2/n) = 0.0032: ±5 sd = ±0.016. Jensen gives W1_n ≥ |ȳ − x̄| always.
    real, fake = _eval_sets()
    w1 = w1_samples(real[:, 0].numpy(), fake[:, 0].numpy())
    assert w1 == pytest.approx(DELTA, abs=0.016)
    mean_gap = float(fake.double().mean() - real.double().mean())
    assert w1 >= mean_gap - 1e-9
    # here every sorted difference lies in [1.76, 2.23] > 0 (seeded), so the equality holds to rounding
    assert w1 == pytest.approx(mean_gap, abs=1e-9)


def test_linear_wgan_gp_critic_reaches_the_closed_form():
    # f(x) = s x + b has |f'| = |s| everywhere, so GP = (|s| − 1)² exactly and the critic minimises
    #   s Δ̂ + γ(|s| − 1)²   (E_g f − E_r f = s(ȳ − x̄) = s Δ̂)
    # whose minimum on s < 0 is s = −(1 + Δ/(2γ)) = −1.1 for Δ = 2, γ = 10: Ŵ = Δ(1 + Δ/(2γ)) = 2.2.
    # Tolerance: a batch of 256 has Δ̂ = Δ ± √(2/256) = ±0.088, which moves that batch's optimum by
    # 0.088/(2γ) = 0.0044; Adam (lr 2e-3, β₁ = 0) jitters by about lr. ±0.015 on |s| ≈ 3σ + lr.
    critic = _linear(0.0)  # from s = 0, not from the mirrored basin (see the next test)
    est = _fit_gaussians(critic, "wgan_gp", steps=800, lr=2e-3)
    s = float(critic.weight.detach())
    assert s == pytest.approx(-(1 + DELTA / 20), abs=0.015)
    # Ŵ on the held-out sets = −s·(ȳ − x̄) exactly; the held-out Δ̂ has sd √(2/2e5) = 0.0032, ×1.1 ×5 = 0.018:
    real, fake = _eval_sets()
    assert est == pytest.approx(-s * float(fake.mean() - real.mean()), rel=1e-4)
    assert est == pytest.approx(DELTA * (1 + DELTA / 20), abs=0.015 * DELTA + 0.018)


def test_two_sided_gp_has_a_mirrored_local_minimum():
    # Point masses real = 0, fake = Δ = 2 (no sampling noise). The linear critic's loss
    #   L(s) = s Δ + γ(|s| − 1)²
    # has, besides the global minimum s = −(1 + Δ/(2γ)) = −1.1 (L = −2.1, Ŵ = 2.2), a local one on s > 0
    # where L'(s) = Δ + 2γ(s − 1) = 0: s = 1 − Δ/(2γ) = 0.9 (L = 1.9, Ŵ = −sΔ = −1.8), as long as Δ < 2γ.
    # A critic that starts with the wrong sign stays there: the two-sided GP charges γ for passing
    # through s = 0. The one-sided GP, max(0, |s| − 1)², is 0 on |s| < 1: no barrier.
    # (The same trap catches MLP critics: Discriminator(1, 32, 2) fits on N(0,1) vs N(2,1) ended at
    # Ŵ ≈ −1.8 for 2 seeds out of 6.) Adam at lr 1e-2 on a deterministic loss jitters by ≈ lr/2.
    one_sided = replace(VARIANTS["wgan_gp"], name="WGAN-GP one-sided",
                        penalty=lambda d, r, f, h, g: P.gradient_penalty(d, r, f, g, one_sided=True))
    for variant, s0, s_end, loss_end in [("wgan_gp", +0.5, 0.9, 1.9), ("wgan_gp", -0.5, -1.1, -2.1),
                                         (one_sided, +0.5, -1.1, -2.1)]:
        critic = _linear(s0)
        hist = fit_discriminator(critic, lambda n: torch.zeros(n, 1), lambda n: torch.full((n, 1), DELTA), 400,
                                 batch_size=64, lr=1e-2, variant=variant, generator=torch.Generator().manual_seed(0))
        assert float(critic.weight.detach()) == pytest.approx(s_end, abs=0.02), (variant, s0)
        # the loss at s_end ± 0.02: L changes by at most (Δ + 2γ·0.02)·0.02 = 0.048
        assert hist["loss"][-1] == pytest.approx(loss_end, abs=0.05), (variant, s0)


def test_linear_wgan_div_critic_reaches_the_closed_form():
    # WGAN-div as registered: L = s Δ̂ + γ E_u|f'|^p with γ = k = 2, p = 6, and |f'| = |s| everywhere:
    #   minimise −|s|Δ + k|s|^p  →  |s| = (Δ/(pk))^(1/(p−1)) = (1/6)^(1/5) = 0.698827,  Ŵ = Δ|s| = 1.397654.
    # Curvature at the optimum k p (p−1)|s|^(p−2) = 60·0.6988⁴ = 14.3, so a batch's Δ̂ (±0.088) moves its
    # optimum by 0.088/14.3 = 0.0062; Adam at lr 2e-3 adds ≈ lr: ±0.02 on |s| (≈ 3σ + lr).
    s_star = (DELTA / 12) ** (1 / 5)
    assert s_star == pytest.approx(0.698827, abs=1e-6)
    critic = _linear(0.0)
    est = _fit_gaussians(critic, "wgan_div", steps=800, lr=2e-3)
    s = float(critic.weight.detach())
    assert s == pytest.approx(-s_star, abs=0.02)
    assert est == pytest.approx(DELTA * s_star, abs=0.02 * DELTA + 0.018)  # + the held-out Δ̂'s 5 sd


def test_wgan_div_sign_finite_optimum_and_flipped_sign_blows_up():
    # Point masses in the plane: real at a = (1, −1), fake at a + Δu with u = (0.6, 0.8), Δ = 2.
    # f(x) = w·x + b: E_g f − E_r f = Δ w·u and ∇f = w, so as implemented the critic minimises
    #   Δ w·u + k‖w‖^p   (convex, k = γ = 2, p = 6)
    # whose minimum is w* = −r u, r = (Δ/(pk))^(1/(p−1)) = 0.698827: w points from fake toward real,
    # with a finite norm; the loss there is −Δr + k r^p = −Δr(1 − 1/p) = −1.164712.
    # With the penalty's sign flipped, Δ w·u − k‖w‖^p is unbounded below: ‖w‖ grows without limit
    # (Adam moves ≥ ~lr per step: ≥ 4 after 400 steps of lr 1e-2; it reached 17.0 when written).
    a, u = torch.tensor([1.0, -1.0]), torch.tensor([0.6, 0.8])
    r = (DELTA / 12) ** 0.2
    div = VARIANTS["wgan_div"]
    flipped = replace(div, name="WGAN-div, penalty sign flipped",
                      grad_penalty=lambda grad, h: -div.grad_penalty(grad, h))
    out = {}
    for name, variant in (("right", div), ("flipped", flipped)):
        critic = _linear([0.0, 0.0], dim=2)
        hist = fit_discriminator(critic, lambda n: a.expand(n, 2).clone(),
                                 lambda n: (a + DELTA * u).expand(n, 2).clone(), 400, batch_size=64, lr=1e-2, variant=variant)
        out[name] = (critic.weight.detach()[0], hist["loss"][-1])
    w, loss = out["right"]
    # Adam on a deterministic convex loss: within a few lr = 1e-2 of w*
    torch.testing.assert_close(w, -r * u, rtol=0, atol=0.01)
    assert loss == pytest.approx(-DELTA * r * 5 / 6, abs=0.01)
    w_flip, loss_flip = out["flipped"]
    assert float(w_flip.norm()) > 4.0 > 5 * r  # far beyond the finite optimum 0.70
    assert loss_flip < -1e3  # Δ w·u − k‖w‖⁶ at ‖w‖ ≥ 4 is ≤ −2·4⁶ + 8 ≈ −8184


def test_linear_clipped_critic_estimates_c_times_delta():
    # f(x) = s x + b with |s| ≤ c: Ŵ = −s(ȳ − x̄) ≤ c·Δ̂ on any sets, with equality at s = −c, where
    # RMSprop drives s (from the init s = 0.8, clipped to 0.01 at the first step, to −c within ~20 steps).
    # So the estimate is c·Δ = 0.02 (the held-out Δ̂ = 2 ± 0.016), a hundredth of W1 = 2.
    c = 0.01
    c32 = float(torch.tensor(c))  # the bound in the weights' float32
    critic = _linear(0.8)
    est = _fit_gaussians(critic, "wgan_clip", steps=200, lr=1e-3, clip=c)
    assert float(critic.weight.detach()) == -c32  # exactly: clamped to the bound
    assert abs(float(critic.bias.detach())) <= c
    real, fake = _eval_sets()
    torch.testing.assert_close(est, c * float(fake.mean() - real.mean()), rtol=1e-4, atol=0)
    assert est == pytest.approx(c * DELTA, abs=c * 0.016)


def test_clipped_mlp_critic_is_bounded_by_its_lipschitz_constant():
    # Discriminator(1, 32, 2) clipped at c = 0.01. LeakyReLU is 1-Lipschitz, so Lip(f) ≤ K = Π_l ‖W_l‖₂,
    # and ‖W‖₂ ≤ ‖W‖_F ≤ √(mn)·c: K ≤ (√32 c)(32 c)(√32 c) = 1024 c³ = 1.024e-3. By Kantorovich–Rubinstein
    # on the held-out empirical sets, Ŵ ≤ K·W1_n (W1_n ≈ Δ = 2): the clipped critic sees at most 0.1% of W1.
    c = 0.01
    torch.manual_seed(0)
    critic = Discriminator(1, 32, 2)
    est = _fit_gaussians(critic, "wgan_clip", steps=200, lr=1e-3, clip=c)
    assert all(float(p.detach().abs().max()) <= c for p in critic.parameters())  # what makes K ≤ 1024 c³
    # Ŵ ≤ K·W1 ≈ 1.024e-3 · 2 follows from the line above (KR); what the fit adds is the sign: Ŵ > 0
    # means the clipped critic learned to score the real side higher (a flipped loss would give Ŵ < 0).
    assert 0 < est < 1024 * c ** 3 * DELTA * 1.05  # 5 % margin: the 200k-sample sets' W1 is Δ ± 0.016 (0.8 %, test_exact_w1_…)


def _flexible_gp_estimate(delta: float, gamma: float) -> float:
    r"""Ŵ of the best critic with ANY slope g(t) = f'(t) under the GP, real N(0,1), fake N(Δ,1).
    E_r f − E_g f = ∫ f'(t)(F_g − F_r) dt = ∫ |g| D dt with D = Φ(t) − Φ(t − Δ) ≥ 0 (take g ≤ 0), and
    the GP is γ ∫ (|g| − 1)² q dt with q the density of x̂ = εx + (1 − ε)y: q(t) = ∫₀¹ N(t; (1−ε)Δ,
    ε² + (1−ε)²) dε. Pointwise: |g| = 1 + D/(2γq), so Ŵ = ∫ D + D²/(2γq) dt = Δ + (1/(2γ)) ∫ D²/q dt."""
    from scipy import stats

    t = np.linspace(-10, 10 + delta, 6001)
    e = np.linspace(0, 1, 2001)[:, None]
    var = e ** 2 + (1 - e) ** 2
    q = np.trapezoid(np.exp(-(t - (1 - e) * delta) ** 2 / (2 * var)) / np.sqrt(2 * np.pi * var), e[:, 0], axis=0)
    D = stats.norm.cdf(t) - stats.norm.cdf(t - delta)
    return float(np.trapezoid(D + D ** 2 / (2 * gamma * q), t))


def _flexible_div_estimate(delta: float, k: float, p: float) -> float:
    r"""The same for WGAN-div: maximise |g| D − k |g|^p u pointwise, u = (φ(t) + φ(t − Δ))/2 the density of
    the pooled batch: |g| = (D/(p k u))^(1/(p−1)), Ŵ = ∫ |g| D dt."""
    from scipy import stats

    t = np.linspace(-10, 10 + delta, 6001)
    D = stats.norm.cdf(t) - stats.norm.cdf(t - delta)
    u = (stats.norm.pdf(t) + stats.norm.pdf(t - delta)) / 2
    return float(np.trapezoid(D * (D / (p * k * u)) ** (1 / (p - 1)), t))


@pytest.mark.parametrize("variant, seed, linear, flexible, tol", [
    # linear Δ(1 + Δ/(2γ)) = 2.2; any-slope optimum 2.2103 (the integral above; the linear critic is one
    # of the candidates, so flexible ≥ linear)
    ("wgan_gp", 3, 2.2, 2.2103, 0.15),
    # linear Δ(Δ/(pk))^(1/(p−1)) = 1.3977; any-slope optimum 1.4143
    ("wgan_div", 0, 1.397654, 1.4143, 0.1),
])
def test_mlp_critic_approaches_the_unconstrained_optimum(variant, seed, linear, flexible, tol):
    hp = VARIANTS[variant].defaults
    if variant == "wgan_gp":
        assert _flexible_gp_estimate(DELTA, hp.gamma) == pytest.approx(flexible, abs=2e-4)
    else:
        assert _flexible_div_estimate(DELTA, hp.gamma, hp.power) == pytest.approx(flexible, abs=2e-4)
    assert linear < flexible
    # Discriminator(1, 32, 2), 600 steps of batch 256 at lr 1e-3 (≈ 1.5 s). The seed is one whose init
    # lies in the right basin (seeds 0 and 2 fall into the GP's mirrored minimum, see above). The
    # tolerance is empirical, not derived: over the runs made when this was written (hidden 32 with 600
    # steps and hidden 64 with 1000, seeds 0–5) Ŵ lay within 0.12 of the any-slope optimum for WGAN-GP
    # (8 runs in the right basin: 2.09–2.27) and within 0.07 for WGAN-div (12 runs: 1.35–1.45). Minibatch
    # noise and finite training, not a bias. The bands still exclude Ŵ = W1 = 2, the 1-Lipschitz optimum:
    # both penalties are soft, so their critics do not estimate W1 itself (GP above it, WGAN-div below).
    torch.manual_seed(seed)
    est = _fit_gaussians(Discriminator(1, 32, 2), variant, steps=600, lr=1e-3, seed=seed)
    assert est == pytest.approx(flexible, abs=tol)


# --- 8. the registered variants in the trainer -----------------------------------------------

def test_wasserstein_variants_have_the_paper_defaults():
    clip, gp, div = VARIANTS["wgan_clip"], VARIANTS["wgan_gp"], VARIANTS["wgan_div"]
    # Arjovsky et al. 2017, Algorithm 1: RMSProp, α = 5e-5, c = 0.01, n_critic = 5
    assert clip.optimizer == "rmsprop" and clip.optimizer_kwargs == {}
    assert (clip.defaults.n_critic, clip.defaults.clip, clip.defaults.lr_d, clip.defaults.lr_g) == (5, 0.01, 5e-5, 5e-5)
    assert clip.knobs == ("n_critic", "clip") and clip.after_d_step is not None and clip.penalty is None
    # Gulrajani et al. 2017, Algorithm 1: Adam α = 1e-4, β = (0, 0.9), λ = 10, n_critic = 5
    assert gp.optimizer == "adam" and gp.optimizer_kwargs == {"betas": (0.0, 0.9)}
    assert (gp.defaults.n_critic, gp.defaults.gamma, gp.defaults.lr_d, gp.defaults.lr_g) == (5, 10.0, 1e-4, 1e-4)
    assert gp.knobs == ("n_critic", "gamma") and gp.after_d_step is None and gp.penalty is not None
    # Wu et al. 2018: Adam α = 2e-4, β = (0.5, 0.999), k = 2, p = 6, n_critic = 5
    assert div.optimizer == "adam" and div.optimizer_kwargs == {"betas": (0.5, 0.999)}
    assert (div.defaults.n_critic, div.defaults.gamma, div.defaults.power, div.defaults.lr_d, div.defaults.lr_g) \
        == (5, 2.0, 6.0, 2e-4, 2e-4)
    assert div.knobs == ("n_critic", "gamma", "power") and div.after_d_step is None
    for v in (clip, gp, div):  # the critic's and the generator's losses are the Wasserstein ones
        fr, ff = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([-1.0, 0.5])
        assert float(v.d_loss(fr, ff, 0.0)) == -2.25 and float(v.g_loss(None, ff)) == 0.25


def _trainer(variant, disc=None, model_seed: int = 0, **kwargs) -> Trainer:
    torch.manual_seed(model_seed)
    gen = Generator(2, 2, hidden=16)
    disc = Discriminator(2, hidden=16) if disc is None else disc
    kwargs.setdefault("batch_size", 64)
    return Trainer(gen, disc, lambda n, g: DATA.sample(n, g), variant=variant, **kwargs)


def test_wgan_clip_trainer_clips_after_every_critic_step_with_the_current_c():
    t = _trainer("wgan_clip")
    assert type(t.opt_d) is OPTIMIZERS["rmsprop"] and t.opt_d.param_groups[0]["lr"] == 5e-5
    before_each_update: list[float] = []

    def largest() -> float:
        return max(float(p.detach().abs().max()) for p in t.disc.parameters())

    t.opt_d.register_step_pre_hook(lambda opt, args, kw: before_each_update.append(largest()))
    t.step()
    c = 0.01
    assert largest() <= c
    # the init (Linear U(±1/√2)) lies far outside; after the 1st of the 5 updates the weights are clipped,
    # so updates 2–5 start within [−c, c]: clipping runs after every critic step, not once per iteration
    assert before_each_update[0] > 10 * c and all(m <= c for m in before_each_update[1:5])
    # a new c set between steps acts on the next step; weights sitting at ±0.01 are cut to exactly ±0.002
    t.hyper.clip = 0.002
    t.step()
    assert largest() == pytest.approx(0.002, rel=1e-6)


class _Spy:
    """Wraps a variant's d_loss and records the unpenalised critic loss of every critic step."""

    def __init__(self, d_loss):
        self.d_loss, self.values = d_loss, []

    def __call__(self, f_real, f_fake, eps):
        out = self.d_loss(f_real, f_fake, eps)
        self.values.append(float(out.detach()))
        return out


@pytest.mark.parametrize("name", ["wgan_gp", "wgan_div"])
def test_penalised_trainer_reads_gamma_and_power_every_step(name):
    # A linear critic with ‖w‖ = 1.5 (w = (0.9, 1.2)): its penalty is known in closed form whatever the
    # batch. The trainer's d_loss is L_f + γΩ, the spy records L_f, so d_loss − L_f = γΩ(w), with w the
    # weights before that (only, n_critic = 1) critic update:
    #   wgan_gp:  γ(‖w‖ − 1)²      γ = 10 → 10·0.25 = 2.5;       then γ = 3 → ≈ 3·0.25 = 0.75
    #   wgan_div: γ‖w‖^p (k = 1)   γ = 2, p = 6 → 2·11.390625 = 22.78;  then p = 3 → ≈ 2·3.375 = 6.75
    spy = _Spy(VARIANTS[name].d_loss)
    critic = LinearCritic(torch.tensor([0.9, 1.2]))
    t = _trainer(replace(VARIANTS[name], d_loss=spy), disc=critic,
                 hyper=replace(VARIANTS[name].defaults, n_critic=1))
    expected = []
    for change in (None, "knob"):
        if change:
            if name == "wgan_gp":
                t.hyper.gamma = 3.0
            else:
                t.hyper.power = 3.0
        w = float(critic.w.detach().norm())  # ‖w‖ before this step's critic update
        hp = t.hyper
        expected.append(hp.gamma * ((w - 1) ** 2 if name == "wgan_gp" else w ** hp.power))
        t.train(1)
    got = [d - s for d, s in zip(t.history["d_loss"], spy.values)]
    # float32: d_loss ≈ 23 carries an ulp of 2e-6
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-5)
    first = {"wgan_gp": 2.5, "wgan_div": 22.78125}[name]
    second = {"wgan_gp": 0.75, "wgan_div": 6.75}[name]
    assert expected[0] == pytest.approx(first, rel=1e-6)
    assert expected[1] == pytest.approx(second, rel=2e-3)  # ‖w‖ moved by one Adam step (≤ √2·lr ≈ 3e-4)


def test_gp_trainer_draws_epsilon_from_its_own_generator():
    seen = []

    def spy(disc, real, fake, hyper, generator):
        seen.append(generator)
        return VARIANTS["wgan_gp"].penalty(disc, real, fake, hyper, generator)

    t = _trainer(replace(VARIANTS["wgan_gp"], penalty=spy))
    t.step()
    assert len(seen) == 5 and all(g is t.rng for g in seen)  # n_critic = 5 penalties, each with the trainer's rng


def _without_seconds(history):
    return {k: v for k, v in history.items() if k != "seconds"}


def _params(t: Trainer):
    return {**{f"g.{k}": v.clone() for k, v in t.gen.state_dict().items()},
            **{f"d.{k}": v.clone() for k, v in t.disc.state_dict().items()}}


def test_gp_trainer_repeats_and_resumes_bit_identically():
    a = _trainer("wgan_gp", seed=5)
    a.train(6)
    b = _trainer("wgan_gp", seed=5)
    torch.manual_seed(12345)  # the global RNG must not matter: ε comes from the trainer's generator
    b.train(3)
    assert _without_seconds(b.history) == {k: v[:3] for k, v in _without_seconds(a.history).items()}
    state = b.state_dict()
    c = _trainer("wgan_gp", model_seed=1, seed=5)  # another init: loading must overwrite it
    c.load_state_dict(state)
    c.train(3)
    assert _without_seconds(c.history) == _without_seconds(a.history)
    pa, pc = _params(a), _params(c)
    assert all(torch.equal(pa[k], pc[k]) for k in pa)
    # and a different trainer seed gives a different run (so the comparisons above can fail)
    d = _trainer("wgan_gp", seed=6)
    d.train(3)
    assert d.history["d_loss"] != a.history["d_loss"][:3]


# --- 9. the meta device -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(SAMPLE_SHAPES))
def test_penalties_run_on_the_meta_device(kind):
    shape = SAMPLE_SHAPES[kind]
    critic = LinearCritic(_direction(shape)).to("meta")
    real = torch.empty((4, *shape), device="meta", dtype=F64)
    fake = torch.empty((4, *shape), device="meta", dtype=F64)
    assert P.interpolates(real, fake).device.type == "meta"
    assert P.gradient_norms(critic, real).shape == (4,)
    for make in (lambda: P.gradient_penalty(critic, real, fake),
                 lambda: P.gradient_penalty(critic, real, fake, one_sided=True),
                 lambda: P.wgan_div_penalty(critic, real, fake),
                 lambda: P.wgan_div_penalty(critic, real, fake, interpolate=True),
                 lambda: P.r1_penalty(critic, real)):
        with DeviceGuard("meta"):
            out = make()
            assert out.device.type == "meta" and out.shape == ()
            grads = _grad_of(out, critic)
        assert grads["w"].device.type == "meta" and grads["w"].shape == critic.w.shape


@pytest.mark.parametrize("name", ["wgan_clip", "wgan_gp", "wgan_div"])
def test_wasserstein_trainer_step_on_the_meta_device(name):
    torch.manual_seed(0)
    t = Trainer(Generator(2, 2, hidden=16), Discriminator(2, hidden=16),
                lambda n, g: DATA.sample(n, g, "meta"), variant=name, batch_size=16, device="meta")
    with DeviceGuard("meta"):
        out = t.step()
    assert all(v.device.type == "meta" and v.shape == () for v in out.values())
    assert t.iteration == 1


def test_a_critic_that_ignores_its_input_has_zero_gradient():
    # f(x) = b for every x: ∇f = 0, so GP = (0 − 1)² = 1, WGAN-div = k·0 = 0, R1 = 0 (no autograd error)
    class Constant(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.b = torch.nn.Parameter(torch.tensor(0.3))

        def forward(self, x):
            return self.b.expand(x.shape[0])

    critic, real, fake = Constant(), torch.randn(5, 2), torch.randn(5, 2)
    assert torch.equal(P.input_gradients(critic, real), torch.zeros(5, 2))
    assert float(P.gradient_penalty(critic, real, fake)) == 1.0
    assert float(P.wgan_div_penalty(critic, real, fake)) == 0.0
    assert float(P.r1_penalty(critic, real)) == 0.0


class _CountingCritic(nn.Module):
    """Counts its forward passes (and the samples in them)."""

    def __init__(self, critic: nn.Module):
        super().__init__()
        self.critic, self.calls = critic, []

    def forward(self, x):
        self.calls.append(x.shape[0])
        return self.critic(x)


def test_wgan_div_step_takes_loss_and_penalty_from_one_pass_and_equals_the_three_pass_step():
    # The registered WGAN-div evaluates its critic once, on [real; fake] (2N samples), and takes the
    # scores for L_f and ∇f for the penalty from that pass. The same variant with its penalty written
    # as penalties.wgan_div_penalty (k = 1; γ plays k) evaluates the critic three times (real, fake,
    # and [real; fake] inside the penalty). For a critic that scores each sample on its own the two
    # are one function of the weights: same loss, same weight gradients, same step, to rounding
    # (float64 here, so 1e-12).
    from gan_tutor.train import _d_update

    div = VARIANTS["wgan_div"]
    three_pass = replace(div, grad_penalty=None,
                       penalty=lambda d, real, fake, h, g: P.wgan_div_penalty(d, real, fake, k=1.0, p=h.power))
    real, fake = _pair(32, (2,), seed=3)
    hp = replace(div.defaults, gamma=3.0, power=3.0)  # not the defaults (2, 6): the loop must read hp
    out = {}
    for name, variant in (("one pass", div), ("three passes", three_pass)):
        torch.manual_seed(0)
        critic = _CountingCritic(Discriminator(2, hidden=16).double())
        opt = torch.optim.SGD(critic.parameters(), lr=0.1)
        loss, grad_norm = _d_update(critic, opt, variant, hp, real, fake, None)
        out[name] = (loss, grad_norm, [p.detach().clone() for p in critic.parameters()], critic.calls)
    assert out["one pass"][3] == [64] and out["three passes"][3] == [32, 32, 64]
    torch.testing.assert_close(out["one pass"][0], out["three passes"][0], rtol=1e-12, atol=0)
    torch.testing.assert_close(out["one pass"][1], out["three passes"][1], rtol=1e-12, atol=0)
    for a, b in zip(out["one pass"][2], out["three passes"][2]):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    # and the loss is the closed-form sum: L_f + γ E‖∇f‖^p on the starting weights
    torch.manual_seed(0)
    critic = Discriminator(2, hidden=16).double()
    expected = (losses.d_loss_wasserstein(critic(real), critic(fake))
                + 3.0 * P.wgan_div_penalty(critic, real, fake, k=1.0, p=3.0))
    torch.testing.assert_close(out["one pass"][0], expected.detach(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["wgan_gp", "wgan_div", "gan_qp"])
def test_a_penalised_variant_refuses_a_batch_norm_critic(name):
    # batch norm makes f(x_i) depend on the whole batch, so "∇f at x_i" (or GAN-QP's f(x_r,i) − f(x_f,i))
    # is not a per-sample quantity
    from gan_tutor.models import DCGANDiscriminator

    torch.manual_seed(0)
    match = f"{VARIANTS[name].name} penalises its critic sample by sample, but this critic has BatchNorm2d, .*'layer'"
    with pytest.raises(ValueError, match=match):
        Trainer(Generator(2, 2, hidden=8), DCGANDiscriminator(size=16, width=8, norm="batch"),
                lambda n, g: DATA.sample(n, g), variant=name)
    bn_mlp = nn.Sequential(nn.Linear(1, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    with pytest.raises(ValueError, match="this critic has BatchNorm1d"):
        fit_discriminator(bn_mlp, lambda n: torch.zeros(n, 1), lambda n: torch.ones(n, 1), 1, variant=name)
    with pytest.raises(ValueError, match="this critic has MinibatchDiscrimination, .*and no minibatch features"):
        Trainer(Generator(2, 2, hidden=8), DCGANDiscriminator(size=16, width=8, norm="layer", minibatch_features=4),
                lambda n, g: DATA.sample(n, g), variant=name)
    # per-sample or no normalisation is accepted; an unpenalised GAN may keep its batch norm, and so may
    # a variant whose penalty reads only the weights (historical averaging, chapter 04)
    Trainer(Generator(2, 2, hidden=8), DCGANDiscriminator(size=16, width=8, norm="layer"),
            lambda n, g: DATA.sample(n, g), variant=name)
    fit_discriminator(bn_mlp, lambda n: torch.zeros(n, 1), lambda n: torch.ones(n, 1), 1, variant="gan")
    fit_discriminator(bn_mlp, lambda n: torch.zeros(n, 1), lambda n: torch.ones(n, 1), 1, variant="wgan_clip")
    averaged = P.HistoricalAverage(bn_mlp)
    on_weights = replace(VARIANTS["gan"], penalty=lambda disc, real, fake, hyper, rng: averaged.penalty())
    assert on_weights.penalised and not on_weights.per_sample_penalty
    fit_discriminator(bn_mlp, lambda n: torch.zeros(n, 1), lambda n: torch.ones(n, 1), 1, variant=on_weights)
    assert VARIANTS[name].per_sample_penalty


def test_a_variant_takes_penalty_or_grad_penalty_not_both():
    from gan_tutor.train import Variant

    base = VARIANTS["gan"]
    on_grad = replace(base, grad_penalty=lambda grad, hyper: P.gradient_power(grad, 2.0))
    assert on_grad.penalised and on_grad.per_sample_penalty and on_grad.knobs == ("label_smoothing", "n_critic", "gamma")
    assert not base.penalised and VARIANTS["wgan_gp"].penalised and VARIANTS["wgan_div"].penalised
    with pytest.raises(ValueError, match="set penalty .* or grad_penalty .*, not both"):
        Variant("both", base.d_loss, base.g_loss, penalty=VARIANTS["wgan_gp"].penalty,
                grad_penalty=VARIANTS["wgan_div"].grad_penalty)


def test_a_variant_with_a_penalty_gets_the_gamma_knob_and_rates_are_not_knobs():
    from gan_tutor.train import Variant

    base = VARIANTS["gan"]
    penalised = replace(base, penalty=lambda disc, real, fake, hyper, rng: P.r1_penalty(disc, real))
    assert penalised.knobs == ("label_smoothing", "n_critic", "gamma")  # γ weights the penalty: it gets a slider
    with pytest.raises(ValueError, match=r"valid names: label_smoothing, n_critic, gamma, clip, power \(the learning"):
        Variant("bad", base.d_loss, base.g_loss, knobs=("lr_d",))


def test_a_misspelt_hyperparameter_names_the_valid_ones():
    from gan_tutor.recipes import toy2d_trainer
    from gan_tutor.train import fit_discriminator

    critic = nn.Linear(1, 1)
    with pytest.raises(ValueError, match="unknown hyperparameter 'gama'; valid names: .*gamma"):
        fit_discriminator(critic, lambda n: torch.zeros(n, 1), lambda n: torch.ones(n, 1), 1, variant="wgan_gp", gama=5)
    with pytest.raises(ValueError, match="unknown hyperparameter 'n_critc'"):
        toy2d_trainer(ring8(), "wgan_gp", hidden=4, depth=1, n_critc=2)
    # a misspelt argument of toy2d_trainer itself: the message names those too
    with pytest.raises(ValueError, match="unknown hyperparameter 'g_hiden'.*toy2d_trainer's own arguments: .*g_hidden"):
        toy2d_trainer(ring8(), "gan", hidden=4, depth=1, g_hiden=8)
    # fit_discriminator has one rate, lr=: a per-player rate would be ignored, so it is refused
    with pytest.raises(ValueError, match=r"trains D alone, at the rate lr=; got lr_d= \(write lr=0.5 instead\)"):
        fit_discriminator(critic, lambda n: torch.zeros(n, 1), lambda n: torch.ones(n, 1), 1, variant="wgan_gp", lr_d=0.5)
    assert toy2d_trainer(ring8(), "wgan_gp", hidden=4, depth=1, lr=1e-3, lr_g=1e-4).hyper.lr_g == 1e-4  # TTUR
