"""Tests for gan_tutor.losses: BCE discriminator loss, saturating and
non-saturating generator losses, on logits l with D = σ(l).

Identities used below: −log σ(l) = softplus(−l), −log(1 − σ(l)) = softplus(l),
log σ(l) − log(1 − σ(l)) = l, d/dl softplus(l) = σ(l).
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_tutor import losses

LN2 = math.log(2.0)


def _logits(n: int, seed: int, scale: float = 4.0, dtype=torch.float64) -> torch.Tensor:
    """n logits uniform in [−scale, scale] (moderate: log(sigmoid) is accurate there)."""
    g = torch.Generator().manual_seed(seed)
    return ((2 * torch.rand(n, generator=g, dtype=torch.float64) - 1) * scale).to(dtype)


# --- values ----------------------------------------------------------------------------

@pytest.mark.parametrize("real_shape", [(4,), (4, 1), (1,)])
@pytest.mark.parametrize("fake_shape", [(3,), (7, 1)])
def test_zero_logits_give_ln2_per_term(real_shape, fake_shape):
    # D = σ(0) = ½: −log ½ = ln 2 for the real term and −log(1 − ½) = ln 2 for the fake one
    loss = losses.d_loss_bce(torch.zeros(real_shape), torch.zeros(fake_shape))
    assert loss.shape == ()
    assert loss.item() == pytest.approx(2 * LN2, abs=1e-6)  # 1.386294 (float32)
    zeros = torch.zeros(fake_shape)
    assert losses.g_loss_saturating(zeros).item() == pytest.approx(-LN2, abs=1e-6)  # log(1 − ½)
    assert losses.g_loss_nonsaturating(zeros).item() == pytest.approx(LN2, abs=1e-6)  # −log ½


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_d_loss_is_minus_value_function(seed):
    # L_D = −V̂ = −mean log σ(l_r) − mean log(1 − σ(l_f)); at |l| ≤ 4 the naive log(sigmoid) is
    # accurate to ~1e-16 relative in float64, so it is a fair reference.
    real, fake = _logits(64, seed), _logits(48, seed + 100)
    v_hat = torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean()
    torch.testing.assert_close(losses.d_loss_bce(real, fake), -v_hat, rtol=0, atol=1e-12)
    # (N, 1) logits give the same number as (N,)
    torch.testing.assert_close(losses.d_loss_bce(real[:, None], fake[:, None]), -v_hat, rtol=0, atol=1e-12)
    # float32 logits: same value up to float32 rounding (~1e-7 relative on O(1) terms)
    torch.testing.assert_close(losses.d_loss_bce(real.float(), fake.float()).double(), -v_hat,
                               rtol=0, atol=1e-5)


@pytest.mark.parametrize("seed", [3, 4])
def test_generator_losses_against_naive_formulas(seed):
    fake = _logits(50, seed)
    d = torch.sigmoid(fake)
    # saturating: E[log(1 − D(G(z)))]; non-saturating: −E[log D(G(z))]
    torch.testing.assert_close(losses.g_loss_saturating(fake), torch.log(1 - d).mean(), rtol=0, atol=1e-12)
    torch.testing.assert_close(losses.g_loss_nonsaturating(fake), -torch.log(d).mean(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("eps", [0.1, 0.2, 0.5, 0.9])
def test_label_smoothing_changes_only_the_real_term(eps):
    real, fake, other_fake = _logits(40, 5), _logits(30, 6), _logits(30, 7)
    d_r, d_f = torch.sigmoid(real), torch.sigmoid(fake)
    # Real term = BCE with target 1 − ε: −mean[(1 − ε) log D(x) + ε log(1 − D(x))]; fake term unchanged
    real_term = -((1 - eps) * torch.log(d_r) + eps * torch.log(1 - d_r)).mean()
    fake_term = -torch.log(1 - d_f).mean()
    torch.testing.assert_close(losses.d_loss_bce(real, fake, label_smoothing=eps), real_term + fake_term,
                               rtol=0, atol=1e-12)
    # Hence L_ε − L_0 = ε · mean[log D(x) − log(1 − D(x))] = ε · mean(l_real), whatever the fakes are
    for f in (fake, other_fake):
        diff = losses.d_loss_bce(real, f, eps) - losses.d_loss_bce(real, f, 0.0)
        torch.testing.assert_close(diff, eps * real.mean(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stable_at_extreme_logits(dtype):
    big = torch.full((5,), 100.0, dtype=dtype, requires_grad=True)
    small = torch.full((5,), -100.0, dtype=dtype, requires_grad=True)
    tiny = math.exp(-100)  # softplus(−100) = log(1 + e^−100) ≈ e^−100 = 3.7e-44
    # Confident and right: real → 100, fake → −100: 2 softplus(−100) ≈ 7.4e-44 ≈ 0
    assert losses.d_loss_bce(big, small).item() == pytest.approx(2 * tiny, abs=1e-40)
    # Confident and wrong: 2 softplus(100) = 2(100 + log(1 + e^−100)) = 200
    assert losses.d_loss_bce(small, big).item() == pytest.approx(200.0, rel=1e-6)
    # −log σ(−100) = softplus(100) = 100; −log σ(100) ≈ e^−100
    assert losses.g_loss_nonsaturating(small).item() == pytest.approx(100.0, rel=1e-6)
    assert losses.g_loss_nonsaturating(big).item() == pytest.approx(tiny, abs=1e-40)
    # log(1 − σ(l)) = −softplus(l): −100 at l = 100, ≈ −e^−100 at l = −100
    assert losses.g_loss_saturating(big).item() == pytest.approx(-100.0, rel=1e-6)
    assert losses.g_loss_saturating(small).item() == pytest.approx(-tiny, abs=1e-40)
    # Gradients are finite and right: d/dl softplus(−l) = −σ(−l): −1 at l = −100 (per sample, /N)
    (g_small,) = torch.autograd.grad(losses.g_loss_nonsaturating(small), small)
    torch.testing.assert_close(g_small, torch.full_like(small, -1.0 / 5), rtol=1e-6, atol=0)
    # d/dl [−softplus(l)] = −σ(l): −1 at l = 100
    (g_big,) = torch.autograd.grad(losses.g_loss_saturating(big), big)
    torch.testing.assert_close(g_big, torch.full_like(big, -1.0 / 5), rtol=1e-6, atol=0)
    gr, gf = torch.autograd.grad(losses.d_loss_bce(small, big), (small, big))
    # ∂/∂l_r softplus(−l_r)/N = −σ(−l_r)/N = −1/5 at −100; ∂/∂l_f softplus(l_f)/M = σ(l_f)/M = 1/5 at 100
    torch.testing.assert_close(gr, torch.full_like(small, -0.2), rtol=1e-6, atol=0)
    torch.testing.assert_close(gf, torch.full_like(big, 0.2), rtol=1e-6, atol=0)


# --- gradients ---------------------------------------------------------------------------

@pytest.mark.parametrize("logit", [-2.0, -5.0, -10.0, -20.0])
def test_saturating_gradient_vanishes_nonsaturating_does_not(logit):
    l = torch.tensor([logit], dtype=torch.float64, requires_grad=True)  # N = 1: no 1/N factor
    (g_sat,) = torch.autograd.grad(losses.g_loss_saturating(l), l)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(l), l)
    sig = 1 / (1 + math.exp(-logit))  # D(G(z)) = σ(l); at l = −10: 1/(1 + e^10) = 4.5398e-5
    # saturating: d/dl[−softplus(l)] = −σ(l) → 0 as D(G(z)) → 0 (|grad| ≤ e^l)
    assert g_sat.item() == pytest.approx(-sig, rel=1e-12)
    assert abs(g_sat.item()) <= math.exp(logit)
    # non-saturating: d/dl softplus(−l) = −σ(−l) = −(1 − σ(l)) → −1 (|grad| ≥ 1 − e^l ≥ 0.86)
    assert g_ns.item() == pytest.approx(-(1 - sig), rel=1e-12)
    assert abs(g_ns.item()) >= 1 - math.exp(logit)


def test_saturating_gradient_at_minus_ten_is_tiny():
    l = torch.tensor([-10.0], requires_grad=True)
    (g_sat,) = torch.autograd.grad(losses.g_loss_saturating(l), l)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(l), l)
    assert g_sat.item() == pytest.approx(-4.5398e-5, rel=1e-4)  # −σ(−10) = −1/(1 + e^10)
    assert g_ns.item() == pytest.approx(-0.9999546, rel=1e-6)  # −σ(10) = −(1 − 4.5398e-5)


@pytest.mark.parametrize("name", ["saturating", "nonsaturating"])
def test_generator_loss_gradients_are_analytic(name):
    fake = torch.linspace(-12.0, 12.0, 49, dtype=torch.float64).requires_grad_()
    (grad,) = torch.autograd.grad(losses.g_loss(name)(fake), fake)
    n = fake.numel()
    # mean over N: saturating −σ(l)/N; non-saturating −(1 − σ(l))/N = −σ(−l)/N (written as σ(−l) to
    # avoid the cancellation in 1 − σ(l) at large l)
    expected = (-torch.sigmoid(fake.detach()) if name == "saturating" else -torch.sigmoid(-fake.detach())) / n
    torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize("name", ["saturating", "nonsaturating"])
def test_generator_losses_gradcheck(name):
    fake = torch.linspace(-8.0, 8.0, 17, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(losses.g_loss(name), (fake,), eps=1e-6, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_d_loss_gradients(eps):
    real = torch.linspace(-6.0, 6.0, 13, dtype=torch.float64).requires_grad_()
    fake = torch.linspace(-5.0, 7.0, 9, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda r, f: losses.d_loss_bce(r, f, eps), (real, fake),
                                    eps=1e-6, atol=1e-8, rtol=1e-6)
    gr, gf = torch.autograd.grad(losses.d_loss_bce(real, fake, eps), (real, fake))
    # ∂/∂l_r of BCE(l_r, 1 − ε)/N = (σ(l_r) − (1 − ε))/N;  ∂/∂l_f of BCE(l_f, 0)/M = σ(l_f)/M
    torch.testing.assert_close(gr, (torch.sigmoid(real.detach()) - (1 - eps)) / 13, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(gf, torch.sigmoid(fake.detach()) / 9, rtol=1e-12, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-30.0, 30.0, allow_nan=False), min_size=1, max_size=16))
def test_generator_losses_sum_to_minus_mean_logit(ls):
    # g_ns(l) + g_sat(l) = mean[softplus(−l) − softplus(l)] = −mean(l), since softplus(l) − softplus(−l) = l
    # (log σ(l) − log(1 − σ(l)) = l)
    # Tolerance: torch's softplus returns l itself for l > 20 (its `threshold`), an error of
    # log(1 + e^−20) = 2.06e-9 at most; elsewhere float64 rounding (~1e-14 here).
    l = torch.tensor(ls, dtype=torch.float64)
    total = losses.g_loss_nonsaturating(l) + losses.g_loss_saturating(l)
    torch.testing.assert_close(total, -l.mean(), rtol=0, atol=math.log1p(math.exp(-20)) + 1e-12)


# --- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("eps", [-0.1, 1.0, 1.5, float("nan")])
def test_label_smoothing_outside_unit_interval(eps):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        losses.d_loss_bce(torch.zeros(4), torch.zeros(4), label_smoothing=eps)


@pytest.mark.parametrize("bad", [torch.zeros(4, 2), torch.zeros(()), torch.zeros(4, 1, 1)])
def test_logits_of_wrong_shape(bad):
    ok = torch.zeros(4)
    for call in (lambda: losses.d_loss_bce(bad, ok), lambda: losses.d_loss_bce(ok, bad),
                 lambda: losses.g_loss_saturating(bad), lambda: losses.g_loss_nonsaturating(bad)):
        with pytest.raises(ValueError, match=r"\(N,\) or \(N, 1\)"):
            call()


def test_logits_of_wrong_type():
    with pytest.raises(ValueError, match="floating-point"):
        losses.g_loss_nonsaturating(torch.zeros(4, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.Tensor"):
        losses.d_loss_bce([0.0, 0.0], torch.zeros(2))


def test_g_loss_registry():
    assert losses.g_loss("saturating") is losses.g_loss_saturating
    assert losses.g_loss("nonsaturating") is losses.g_loss_nonsaturating
    for name in ("foo", "non-saturating", None, ["saturating"]):
        with pytest.raises(ValueError, match="valid names") as info:
            losses.g_loss(name)
        assert "saturating" in str(info.value) and "nonsaturating" in str(info.value)


# --- feature matching (Salimans et al. 2016, §3.1) -------------------------------------------

def _with_mean(mean: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n rows whose batch mean is exactly ``mean`` (to rounding): mean + noise − noise.mean(0)."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, mean.numel(), generator=g, dtype=torch.float64)
    return mean + noise - noise.mean(0)


def test_feature_matching_closed_form():
    # ‖E f(x) − E f(G(z))‖² with means (1, 2, 3) and (0, 0, 1): 1² + 2² + 2² = 9, whatever the spread
    m_real = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    m_fake = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    loss = losses.g_loss_feature_matching(_with_mean(m_real, 10, 0), _with_mean(m_fake, 7, 1))
    assert loss.shape == ()
    torch.testing.assert_close(loss, torch.tensor(9.0, dtype=torch.float64), rtol=0, atol=1e-12)


def test_feature_matching_sees_only_the_means():
    # different samples with equal means: zero loss (feature matching matches first moments only)
    m = torch.tensor([0.5, -1.0], dtype=torch.float64)
    real, fake = _with_mean(m, 16, 2), _with_mean(m, 5, 3)
    assert not torch.allclose(real[:5], fake)
    torch.testing.assert_close(losses.g_loss_feature_matching(real, fake), torch.tensor(0.0, dtype=torch.float64),
                               rtol=0, atol=1e-24)


def test_feature_matching_gradients():
    # L = ‖m_r − m_f‖², m_f = (1/M) Σ_j f_j: ∂L/∂f_j = −2(m_r − m_f)/M for every fake row j,
    # and ∂L/∂r_i = +2(m_r − m_f)/N for every real row i
    real = _with_mean(torch.tensor([1.0, -2.0, 0.5]), 6, 4).requires_grad_()
    fake = _with_mean(torch.tensor([0.0, 1.0, 0.5]), 4, 5).requires_grad_()
    g_real, g_fake = torch.autograd.grad(losses.g_loss_feature_matching(real, fake), (real, fake))
    diff = torch.tensor([1.0, -3.0, 0.0], dtype=torch.float64)  # m_r − m_f
    torch.testing.assert_close(g_fake, (-2 * diff / 4).expand(4, 3), rtol=0, atol=1e-12)
    torch.testing.assert_close(g_real, (2 * diff / 6).expand(6, 3), rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(losses.g_loss_feature_matching, (real, fake), eps=1e-6, atol=1e-8)


def test_feature_matching_bad_input():
    ok = torch.zeros(4, 3)
    for bad in (torch.zeros(4), torch.zeros(4, 3, 1), torch.zeros(4, 3, dtype=torch.long)):
        with pytest.raises(ValueError, match=r"\(N, F\)"):
            losses.g_loss_feature_matching(ok, bad)
        with pytest.raises(ValueError, match=r"\(N, F\)"):
            losses.g_loss_feature_matching(bad, ok)
    with pytest.raises(ValueError, match="same length F"):
        losses.g_loss_feature_matching(ok, torch.zeros(4, 2))
    with pytest.raises(TypeError, match="torch.Tensor"):
        losses.g_loss_feature_matching([[0.0]], ok)
    assert "feature_matching" not in losses.G_LOSSES  # takes features, not logits: see its docstring
