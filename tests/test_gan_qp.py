r"""Tests for GAN-QP (Su 2018; chapter 07's last section): ``penalties.qp_penalty`` and the
``gan_qp`` variant.

Book convention: the critic f scores REAL samples high and minimises
:math:`\mathbb E[f(x_f) - f(x_r)] + \gamma\,\mathbb E[(f(x_r) - f(x_f))^2 / \lVert x_r - x_f\rVert]`
over the pairs (real_i, fake_i) of two batches; the paper's weight is γ = 1/(2λ) = 0.05.

How each expected number is derived:

1. A linear critic f(x) = w·flatten(x) + b gives f(x_r) − f(x_f) = w·δ with δ = x_r − x_f, so
   Ω = mean_i (w·δ_i)² / ‖δ_i‖ and ∂Ω/∂w = mean_i 2(w·δ_i) δ_i / ‖δ_i‖, ∂Ω/∂b = 0 (b cancels).
2. Pairs are taken index by index: reordering one batch changes Ω (a whole-batch formula would not).
3. Two point masses, real at 0 and fake at Δ (1-D), linear critic f = s x + b:
   L(s) = sΔ + γ (sΔ)²/Δ = Δ(s + γ s²), minimal at s* = −1/(2γ) whatever Δ, so Ŵ = −s*Δ = Δ/(2γ).
"""

from dataclasses import replace

import pytest
import torch

from gan_tutor import penalties as P
from gan_tutor.models import Discriminator, Generator
from gan_tutor.train import VARIANTS, Trainer, fit_discriminator
from test_train_loop import DeviceGuard
from test_wasserstein import DATA, F64, SAMPLE_SHAPES, LinearCritic, _direction, _grad_of, _pair, _Spy, _trainer


# --- 1. a linear critic: the penalty and its gradient in closed form ----------------------------

@pytest.mark.parametrize("keepdim", [False, True], ids=["scores(N)", "scores(N,1)"])
@pytest.mark.parametrize("kind", sorted(SAMPLE_SHAPES))
@pytest.mark.parametrize("n", [1, 3, 64])
def test_linear_critic_qp_penalty_is_the_closed_form(n, kind, keepdim):
    shape = SAMPLE_SHAPES[kind]
    w = 2.5 * _direction(shape)
    critic = LinearCritic(w, b=0.7, keepdim=keepdim)
    real, fake = _pair(n, shape, seed=n)
    delta = (real - fake).flatten(1)  # δ_i, (N, D)
    proj = delta @ w.flatten()  # w·δ_i
    dist = delta.norm(dim=1)  # ‖δ_i‖
    expected = (proj**2 / dist).mean()
    expected_grad = (2 * proj[:, None] * delta / dist[:, None]).mean(0)
    omega = P.qp_penalty(critic, real, fake)
    torch.testing.assert_close(omega, expected, rtol=1e-12, atol=0)
    grads = _grad_of(omega, critic)
    torch.testing.assert_close(grads["w"], expected_grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grads["b"], torch.zeros((), dtype=F64), rtol=0, atol=1e-12)  # b cancels


def test_qp_penalty_pairs_sample_i_with_sample_i():
    # real = (1, 0), (0, 1); fake = 0, 0; critic w = (1, 0): pairs give (1²/1 + 0²/1)/2 = 0.5.
    # Reversing the fake batch changes nothing here (both fakes are 0), so make them differ:
    # fake = (0, 0), (3, 1). In order: (1 − 0)²/1 = 1 and (0 − 3)²/‖(−3, 0)‖ = 9/3 = 3 → mean 2.
    # Reversed: (1 − 3)²/‖(−2, −1)‖ = 4/√5 and (0 − 0)²/1 = 0 → mean 2/√5 = 0.894.
    critic = LinearCritic(torch.tensor([1.0, 0.0], dtype=F64))
    real = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=F64)
    fake = torch.tensor([[0.0, 0.0], [3.0, 1.0]], dtype=F64)
    assert float(P.qp_penalty(critic, real, fake).detach()) == pytest.approx(2.0, rel=1e-12)
    assert float(P.qp_penalty(critic, real, fake.flip(0)).detach()) == pytest.approx(2 / 5**0.5, rel=1e-12)


def test_an_identical_pair_adds_zero_and_keeps_gradients_finite():
    # pair 0 is identical (δ = 0, difference 0): it adds 0; pair 1: (w·(1, 1))²/√2 = (0.5)²/√2 with w = (0.2, 0.3)
    critic = LinearCritic(torch.tensor([0.2, 0.3], dtype=F64))
    real = torch.tensor([[0.5, 0.5], [1.0, 1.0]], dtype=F64)
    fake = torch.tensor([[0.5, 0.5], [0.0, 0.0]], dtype=F64)
    omega = P.qp_penalty(critic, real, fake)
    assert float(omega.detach()) == pytest.approx(0.25 / 2**0.5 / 2, rel=1e-12)
    grads = _grad_of(omega, critic)
    assert torch.isfinite(grads["w"]).all()


def test_qp_penalty_refuses_batches_of_different_shapes():
    critic = LinearCritic(torch.tensor([1.0, 0.0], dtype=F64))
    with pytest.raises(ValueError, match="same shape"):
        P.qp_penalty(critic, torch.zeros(4, 2, dtype=F64), torch.zeros(3, 2, dtype=F64))


# --- 3. a critic fitted between two point masses ----------------------------------------------

@pytest.mark.parametrize("gamma, delta", [(0.5, 2.0), (0.5, 0.5), (0.25, 2.0)])
def test_linear_qp_critic_between_two_points_reaches_the_closed_form(gamma, delta):
    # L(s) = Δ(s + γ s²) → s* = −1/(2γ): −1 for γ = 0.5 (both distances), −2 for γ = 0.25; Ŵ = Δ/(2γ).
    # The loss is deterministic (point masses); Adam at lr 1e-2 settles within a few lr of s*.
    torch.manual_seed(0)
    critic = torch.nn.Linear(1, 1)
    with torch.no_grad():
        critic.weight.zero_()
        critic.bias.zero_()
    fit_discriminator(critic, lambda n: torch.zeros(n, 1), lambda n: torch.full((n, 1), delta), 1500,
                      batch_size=8, lr=1e-2, variant="gan_qp", gamma=gamma)
    s = float(critic.weight.detach())
    assert s == pytest.approx(-1 / (2 * gamma), abs=0.03)
    with torch.no_grad():
        w_hat = float(critic(torch.zeros(1, 1)) - critic(torch.full((1, 1), delta)))
    assert w_hat == pytest.approx(delta / (2 * gamma), abs=0.03 * delta)


def test_without_the_penalty_the_critic_runs_away():
    # γ = 0: L(s) = sΔ has no minimum; the slope keeps growing (Adam moves it by ≈ lr per step).
    critic = torch.nn.Linear(1, 1)
    with torch.no_grad():
        critic.weight.zero_()
        critic.bias.zero_()
    fit_discriminator(critic, lambda n: torch.zeros(n, 1), lambda n: torch.full((n, 1), 2.0), 500,
                      batch_size=8, lr=1e-2, variant="gan_qp", gamma=0.0)
    assert float(critic.weight.detach()) < -4.0  # ≈ −500·lr = −5; with γ = 0.5 it would stop at −1


# --- the variant -----------------------------------------------------------------------------------

def test_gan_qp_variant_defaults_lambda_10_on_the_plain_distance():
    v = VARIANTS["gan_qp"]
    # Su 2018 and its script: λ = 10 (γ = 1/(2λ) = 0.05), two critic steps, Adam(2e-4, β1 = 0.5)
    assert (v.defaults.n_critic, v.defaults.gamma, v.defaults.lr_d, v.defaults.lr_g) == (2, 0.05, 2e-4, 2e-4)
    assert v.optimizer == "adam" and v.optimizer_kwargs == {"betas": (0.5, 0.999)}
    assert v.knobs == ("n_critic", "gamma") and v.penalty is not None and v.after_d_step is None
    fr, ff = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([-1.0, 0.5])
    # the Wasserstein losses: E f(fake) − E f(real) = −0.25 − 2 = −2.25; G: −E f(fake) = 0.25
    assert float(v.d_loss(fr, ff, 0.0)) == -2.25 and float(v.g_loss(None, ff)) == 0.25


def test_gan_qp_trainer_reads_gamma_every_step():
    # The spies record the unpenalised critic loss L_f and the penalty Ω of every critic step; the
    # trainer's d_loss must be L_f + γΩ with the γ of that step (0.05, then 0.4 set between steps).
    omegas = []

    def penalty(disc, real, fake, hyper, generator):
        out = P.qp_penalty(disc, real, fake)
        omegas.append(float(out.detach()))
        return out

    spy = _Spy(VARIANTS["gan_qp"].d_loss)
    t = _trainer(replace(VARIANTS["gan_qp"], d_loss=spy, penalty=penalty),
                 hyper=replace(VARIANTS["gan_qp"].defaults, n_critic=1))
    t.train(1)
    t.hyper.gamma = 0.4
    t.train(1)
    got = [d - s for d, s in zip(t.history["d_loss"], spy.values)]
    assert got == pytest.approx([0.05 * omegas[0], 0.4 * omegas[1]], rel=1e-5, abs=1e-6)
    assert omegas[0] > 0 and omegas[1] > 0


def test_qp_penalty_and_a_gan_qp_step_on_the_meta_device():
    critic = LinearCritic(_direction((2,))).to("meta")
    real = torch.empty((4, 2), device="meta", dtype=F64)
    with DeviceGuard("meta"):
        out = P.qp_penalty(critic, real, torch.empty((4, 2), device="meta", dtype=F64))
        assert out.device.type == "meta" and out.shape == ()
    torch.manual_seed(0)
    t = Trainer(Generator(2, 2, hidden=16), Discriminator(2, hidden=16),
                lambda n, g: DATA.sample(n, g, "meta"), variant="gan_qp", batch_size=16, device="meta")
    with DeviceGuard("meta"):
        step = t.step()
    assert all(v.device.type == "meta" and v.shape == () for v in step.values())
