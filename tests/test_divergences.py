"""Tests for gan_tutor.divergences: KL, JS, TV, W1, the Gaussian closed forms,
the optimal discriminator, the value of the game and the parallel lines.

Every expected number is derived in the comment beside it.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_tutor import divergences as dv
from gan_tutor.data import ParallelLine, normal_pdf

LN2 = math.log(2.0)
LOG4 = math.log(4.0)


# --- helpers -------------------------------------------------------------------------

def random_pair(k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two Dirichlet(1, ..., 1) probability vectors of length k (normalised Exp(1) draws)."""
    g = torch.Generator().manual_seed(seed)
    e = -torch.log(torch.rand(2, k, generator=g, dtype=torch.float64))  # Exp(1)
    p, q = e / e.sum(1, keepdim=True)
    return p, q


def grid(lo: float, hi: float, n: int) -> tuple[torch.Tensor, float]:
    x = torch.linspace(lo, hi, n, dtype=torch.float64)
    return x, (hi - lo) / (n - 1)


# Probability vectors for the property tests: no subnormals (see the separate
# test of the subnormal case below), zeros allowed, not all zero.
_entry = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, allow_subnormal=False)


@st.composite
def prob_pairs(draw):
    k = draw(st.integers(min_value=1, max_value=8))
    vec = st.lists(_entry, min_size=k, max_size=k).filter(lambda v: sum(v) > 1e-3)
    p = torch.tensor(draw(vec), dtype=torch.float64)
    q = torch.tensor(draw(vec), dtype=torch.float64)
    return p / p.sum(), q / q.sum()


PROPERTY = settings(max_examples=60, deadline=None)


# --- KL, JS, TV on discrete distributions ----------------------------------------------

def test_hand_computed_example():
    p = [0.5, 0.5]
    q = [0.25, 0.75]
    # KL(p||q) = ½ ln(0.5/0.25) + ½ ln(0.5/0.75) = ½ ln(4/3) = 0.143841
    assert dv.kl(p, q) == pytest.approx(0.5 * math.log(4 / 3), abs=1e-14)
    # KL(q||p) = ¼ ln(0.25/0.5) + ¾ ln(0.75/0.5) = ¼ ln ½ + ¾ ln(3/2) = 0.130812
    assert dv.kl(q, p) == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5), abs=1e-14)
    # m = (3/8, 5/8): KL(p||m) = ½ ln(4/3) + ½ ln(4/5); KL(q||m) = ¼ ln(2/3) + ¾ ln(6/5)
    js = 0.5 * (0.5 * math.log(4 / 3) + 0.5 * math.log(4 / 5)) + 0.5 * (0.25 * math.log(2 / 3) + 0.75 * math.log(6 / 5))
    assert dv.js(p, q) == pytest.approx(js, abs=1e-14)  # = 0.034141...
    # TV = ½(|½ − ¼| + |½ − ¾|) = ¼
    assert dv.tv(p, q) == pytest.approx(0.25, abs=1e-15)


@pytest.mark.parametrize("name", ["kl", "js", "tv"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identical_distributions_give_zero(name, seed):
    p, _ = random_pair(7, seed)
    # KL(p||p) = Σ p log 1 = 0; JS: m = p, so 0; TV = ½ Σ |0| = 0
    assert dv.divergence(name, p, p.clone()) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("p, q", [
    ([1.0, 0.0], [0.0, 1.0]),
    ([0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.3, 0.7]),
    ([0.2, 0.0, 0.8, 0.0], [0.0, 0.9, 0.0, 0.1]),
])
def test_disjoint_supports(p, q):
    # Disjoint supports: m = p/2 on supp p, so KL(p||m) = Σ p ln 2 = ln 2 and JS = ½ ln2 + ½ ln2 = ln 2;
    # p puts mass where q has none, so KL = +∞ (both ways); TV = ½(Σp + Σq) = 1.
    assert dv.js(p, q) == pytest.approx(LN2, abs=1e-15)
    assert dv.js(q, p) == pytest.approx(LN2, abs=1e-15)
    assert dv.kl(p, q) == math.inf
    assert dv.kl(q, p) == math.inf
    assert dv.tv(p, q) == pytest.approx(1.0, abs=1e-15)


def test_js_disjoint_supports_with_a_subnormal_mass():
    # p = (1, 5e-324, 0), q = (0, 0, 1): the supports are still disjoint, so JS = ln 2 exactly
    # (the 5e-324 changes JS by ~1e-323). m = (p + q)/2 must not be computed so that
    # m = 5e-324/2 underflows to 0 where p > 0, which would turn KL(p||m) into +∞.
    p = torch.tensor([1.0, 5e-324, 0.0], dtype=torch.float64)
    q = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    assert dv.js(p, q) == pytest.approx(LN2, abs=1e-12)


def test_kl_infinite_only_where_p_has_mass_q_lacks():
    # q = 0 where p = 0 is fine (0 log 0 = 0): KL((½,½,0) || (¼,¾,0)) = ½ ln(4/3) as in the 2-state example
    assert dv.kl([0.5, 0.5, 0.0], [0.25, 0.75, 0.0]) == pytest.approx(0.5 * math.log(4 / 3), abs=1e-14)
    # p = 0 where q > 0 is fine too: KL((1,0)||(½,½)) = 1·ln 2
    assert dv.kl([1.0, 0.0], [0.5, 0.5]) == pytest.approx(LN2, abs=1e-15)
    # but KL((½,½)||(1,0)) = +∞
    assert dv.kl([0.5, 0.5], [1.0, 0.0]) == math.inf


@PROPERTY
@given(prob_pairs())
def test_js_symmetric_and_bounded(pq):
    p, q = pq
    a, b = dv.js(p, q), dv.js(q, p)
    assert a == pytest.approx(b, abs=1e-12)  # JS(p, q) = JS(q, p) by definition
    assert -1e-12 <= a <= LN2 + 1e-12  # 0 ≤ JS ≤ ln 2


@PROPERTY
@given(prob_pairs())
def test_tv_in_unit_interval_and_symmetric(pq):
    p, q = pq
    t = dv.tv(p, q)
    assert 0.0 <= t <= 1.0 + 1e-12  # ½ Σ|p − q| ≤ ½(Σp + Σq) = 1
    assert t == pytest.approx(dv.tv(q, p), abs=1e-15)


@PROPERTY
@given(prob_pairs())
def test_kl_nonnegative_and_pinsker(pq):
    p, q = pq
    k = dv.kl(p, q)
    assert k >= -1e-12  # Gibbs' inequality
    # Pinsker: TV ≤ sqrt(KL / 2) (trivially true when KL = ∞)
    assert dv.tv(p, q) <= math.sqrt(max(k, 0.0) / 2) + 1e-9


@PROPERTY
@given(prob_pairs())
def test_js_between_tv_and_bhattacharyya_bounds(pq):
    # JS = ln 2 − ½ Σ (p+q) h(p/(p+q)), h(t) = binary entropy in nats.
    # h(t) ≥ 2 ln2 · min(t, 1−t) (concavity)     ⇒ JS ≤ ln2 · (1 − Σ min(p, q)) = ln2 · TV
    # h(t) ≤ 2 ln2 · sqrt(t(1−t))                  ⇒ JS ≥ ln2 · (1 − Σ sqrt(p q))  (Bhattacharyya coefficient)
    p, q = pq
    j = dv.js(p, q)
    bc = float(torch.sqrt(p * q).sum())
    assert j <= LN2 * dv.tv(p, q) + 1e-12
    assert j >= LN2 * (1.0 - bc) - 1e-12


# --- Gaussian closed forms vs grid densities ----------------------------------------------

def test_kl_gaussians_closed_form_value():
    # KL(N(μp,σp²)||N(μq,σq²)) = ln(σq/σp) + (σp² + Δμ²)/(2σq²) − ½
    # N(0,1) vs N(1,2²): ln 2 + (1 + 1)/8 − ½ = ln 2 − ¼ = 0.443147
    assert dv.kl_gaussians(0.0, 1.0, 1.0, 2.0) == pytest.approx(LN2 - 0.25, abs=1e-15)
    # equal stds: Δμ²/2σ² ; N(0,1) vs N(1,1) → 0.5
    assert dv.kl_gaussians(0.0, 1.0, 1.0, 1.0) == pytest.approx(0.5, abs=1e-15)


@pytest.mark.parametrize("mu_p, s_p, mu_q, s_q", [
    (0.0, 1.0, 1.0, 2.0),   # closed form ln 2 − ¼ (above)
    (0.0, 1.0, 1.0, 1.0),   # ½
    (1.0, 0.5, -1.0, 1.5),
    (0.0, 2.0, 0.5, 1.0),
])
def test_kl_grid_matches_closed_form(mu_p, s_p, mu_q, s_q):
    # Grid [−20, 20], dx = 1e-3: both densities are below 1e-40 at the ends and the Riemann sum
    # of a smooth, rapidly decaying integrand is accurate far beyond 1e-9 at this spacing.
    x, dx = grid(-20.0, 20.0, 40001)
    p, q = normal_pdf(x, mu_p, s_p), normal_pdf(x, mu_q, s_q)
    assert dv.kl(p, q, dx) == pytest.approx(dv.kl_gaussians(mu_p, s_p, mu_q, s_q), abs=1e-9)
    assert dv.divergence("kl", p, q, dx) == pytest.approx(dv.kl_gaussians(mu_p, s_p, mu_q, s_q), abs=1e-9)


@pytest.mark.parametrize("dmu, sigma", [(1.0, 1.0), (0.3, 0.5), (4.0, 1.0), (-2.0, 2.0)])
def test_tv_gaussians_vs_grid(dmu, sigma):
    x, dx = grid(-20.0, 20.0, 40001)
    p, q = normal_pdf(x, 0.0, sigma), normal_pdf(x, dmu, sigma)
    # 2Φ(|Δμ|/2σ) − 1 = erf(|Δμ| / (2σ√2))
    expected = math.erf(abs(dmu) / (2 * sigma * math.sqrt(2)))
    assert dv.tv_gaussians(0.0, sigma, dmu, sigma) == pytest.approx(expected, abs=1e-15)
    # |p − q| has one kink (at the midpoint), where the Riemann sum errs by at most
    # ~|p' − q'| dx² ≤ 1 · 1e-6 · ½; the smooth part is far more accurate.
    assert dv.tv(p, q, dx) == pytest.approx(expected, abs=1e-6)


def test_tv_gaussians_value_and_unequal_stds_rejected():
    # N(0,1) vs N(1,1): 2Φ(½) − 1 = erf(1/(2√2)) = 0.382925
    assert dv.tv_gaussians(0.0, 1.0, 1.0, 1.0) == pytest.approx(0.3829249225480262, abs=1e-12)
    with pytest.raises(ValueError, match="equal standard deviations"):
        dv.tv_gaussians(0.0, 1.0, 1.0, 2.0)


def test_w1_gaussians_special_cases():
    # Equal stds: the quantile coupling is a translation, W1 = |Δμ|
    assert dv.w1_gaussians(0.0, 1.0, 3.0, 1.0) == pytest.approx(3.0, abs=1e-15)
    assert dv.w1_gaussians(2.0, 0.7, -1.5, 0.7) == pytest.approx(3.5, abs=1e-15)
    # Equal means: W1 = E|Δσ Z| = |Δσ| sqrt(2/π); Δσ = 1 → 0.797885
    assert dv.w1_gaussians(0.0, 1.0, 0.0, 2.0) == pytest.approx(math.sqrt(2 / math.pi), abs=1e-15)
    # Symmetric in its two Gaussians
    assert dv.w1_gaussians(0.0, 1.0, 0.5, 3.0) == pytest.approx(dv.w1_gaussians(0.5, 3.0, 0.0, 1.0), abs=1e-15)


@pytest.mark.parametrize("mu_p, s_p, mu_q, s_q", [
    (0.0, 1.0, 1.0, 2.0),
    (0.0, 1.0, 0.5, 3.0),
    (1.0, 0.5, -1.0, 2.0),
    (0.0, 1.0, 0.0, 2.0),
    (0.0, 1.0, 3.0, 1.0),
])
def test_w1_grid_matches_w1_gaussians(mu_p, s_p, mu_q, s_q):
    x, dx = grid(-30.0, 30.0, 60001)  # dx = 1e-3
    p, q = normal_pdf(x, mu_p, s_p), normal_pdf(x, mu_q, s_q)
    # w1_grid uses left Riemann sums for the CDFs: F_grid − F = (p − q)(x) dx/2 + O(dx²), so the
    # error in ∫|F_p − F_q| is at most (dx/2)∫|p − q| = dx · TV ≤ dx.
    assert dv.w1_grid(p, q, dx) == pytest.approx(dv.w1_gaussians(mu_p, s_p, mu_q, s_q), abs=dx)
    assert dv.w1_grid(p, q, dx) == pytest.approx(dv.w1_grid(q, p, dx), abs=1e-12)


@pytest.mark.parametrize("mu_p, s_p, mu_q, s_q", [(0.0, 1.0, 1.0, 2.0), (0.0, 1.0, 0.5, 3.0)])
def test_w1_samples_quantile_coupled_vs_w1_gaussians(mu_p, s_p, mu_q, s_q):
    # x_i = μp + σp z_i and y_i = μq + σq z_i are both increasing in z_i, so sorting pairs them
    # and the empirical W1 is exactly mean_i |Δμ + Δσ z_i|: a sample mean of |Y|,
    # Y ~ N(Δμ, Δσ²), whose expectation is w1_gaussians. Tolerance: 5 standard errors
    # std(|Y|)/√n (CLT; a fixed seed makes it deterministic anyway).
    n = 20_000
    z = torch.randn(n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x, y = mu_p + s_p * z, mu_q + s_q * z
    w1 = dv.w1_samples(x, y)
    absy = (x - y).abs()
    assert w1 == pytest.approx(float(absy.mean()), abs=1e-10)  # exactness of the sorted coupling
    se = float(absy.std()) / math.sqrt(n)
    assert w1 == pytest.approx(dv.w1_gaussians(mu_p, s_p, mu_q, s_q), abs=5 * se)


def test_w1_samples_independent_vs_w1_gaussians():
    # Independent samples of size n. Triangle inequality:
    # |W1(P_n, Q_n) − W1(P, Q)| ≤ W1(P_n, P) + W1(Q_n, Q), and in 1-D
    # E W1(P_n, P) ≈ sqrt(2/π) σ J / √n with J = ∫ sqrt(Φ(1 − Φ)) dz  (√n(F_n − F) → Brownian
    # bridge with variance F(1 − F); E|N(0, v)| = sqrt(2v/π)). Tolerance: 4× that mean bound.
    n = 20_000
    mu_p, s_p, mu_q, s_q = 0.0, 1.0, 1.0, 2.0
    g = torch.Generator().manual_seed(1)
    x = mu_p + s_p * torch.randn(n, generator=g, dtype=torch.float64)
    y = mu_q + s_q * torch.randn(n, generator=g, dtype=torch.float64)
    zs, dz = grid(-12.0, 12.0, 24001)
    cdf = torch.special.ndtr(zs)
    J = float(torch.sqrt(cdf * (1 - cdf)).sum() * dz)
    mean_err = math.sqrt(2 / math.pi) * J * (s_p + s_q) / math.sqrt(n)
    assert dv.w1_samples(x, y) == pytest.approx(dv.w1_gaussians(mu_p, s_p, mu_q, s_q), abs=4 * mean_err)


@pytest.mark.parametrize("c", [(3.0, 4.0), (0.5, -0.25), (0.0, 1e-3), (-2.0, 0.0)])
def test_w1_samples_translation_in_2d(c):
    # Translating a point set by c: the identity coupling costs |c|, and any coupling γ costs
    # Σ γ_ij ‖y_j − x_i‖ ≥ ‖Σ γ_ij (y_j − x_i)‖ = ‖mean y − mean x‖ = |c|, so W1 = |c| exactly.
    x = torch.randn(150, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    c = torch.tensor(c, dtype=torch.float64)
    expected = float(torch.linalg.vector_norm(c))  # (3, 4) → 5
    assert dv.w1_samples(x, x + c) == pytest.approx(expected, abs=1e-9)
    assert dv.w1_samples(x + c, x) == pytest.approx(expected, abs=1e-9)


def test_w1_samples_1d_reference_and_zero():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(500, generator=g, dtype=torch.float64)
    y = 2 * torch.rand(500, generator=g, dtype=torch.float64)
    # Equal sizes in 1-D: W1 = mean_i |x_(i) − y_(i)| (sorted samples)
    expected = float((x.sort().values - y.sort().values).abs().mean())
    assert dv.w1_samples(x, y) == pytest.approx(expected, abs=1e-12)
    assert dv.w1_samples(x[:, None], y[:, None]) == pytest.approx(expected, abs=1e-12)  # (N, 1) too
    assert dv.w1_samples(x, x.flip(0)) == pytest.approx(0.0, abs=1e-15)  # same set, any order


# --- the optimal discriminator and the value of the game --------------------------------

def _fit_tabular_discriminator(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Train one logit per state on the exact expected BCE, full batch, with L-BFGS in float64:
    L(l) = −Σ p log σ(l) − Σ q log(1 − σ(l)) = Σ p softplus(−l) + q softplus(l) = −V(σ(l), G).
    Returns D = σ(l)."""
    logits = torch.nn.Parameter(torch.zeros_like(p))
    opt = torch.optim.LBFGS([logits], lr=1.0, max_iter=200, tolerance_grad=1e-14,
                            tolerance_change=1e-16, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (p * F.softplus(-logits)).sum() + (q * F.softplus(logits)).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    return torch.sigmoid(logits.detach())


@pytest.mark.parametrize("k, seed", [(2, 0), (5, 1), (10, 2), (10, 3)])
def test_tabular_discriminator_reaches_optimum(k, seed):
    p, q = random_pair(k, seed)
    d = _fit_tabular_discriminator(p, q)
    d_star = dv.optimal_discriminator(p, q)
    # Pointwise, a log y + b log(1 − y) has its unique maximum at y = a/(a+b); the gradient of L in
    # l_i is (p_i + q_i)(D_i − D*_i), driven below ~1e-14 by L-BFGS, so |D − D*| ≪ 1e-6.
    torch.testing.assert_close(d, p / (p + q), rtol=0, atol=1e-6)
    torch.testing.assert_close(d_star, p / (p + q), rtol=0, atol=1e-15)
    # V(D*) − V(D) = ½ Σ (p+q)/(D*(1−D*)) (D − D*)² + O(ΔD³)  (second derivative of V in D_i at D*
    # is −(p_i+q_i)/(D*_i(1−D*_i))); D* is the maximiser, so the gap is ≥ 0.
    gap_bound = float(((p + q) / (d_star * (1 - d_star)) * (d - d_star) ** 2).sum()) + 1e-12
    v, v_star = dv.value(d, p, q), dv.value_at_optimum(p, q)
    assert v <= v_star + 1e-12
    assert v == pytest.approx(v_star, abs=gap_bound)
    # Goodfellow et al. 2014, Thm 1: V(D*, G) = −log 4 + 2 JS(p, q)
    assert v == pytest.approx(-LOG4 + 2 * dv.js(p, q), abs=gap_bound + 1e-12)


@pytest.mark.parametrize("k, seed", [(2, 10), (3, 11), (6, 12), (20, 13), (50, 14)])
def test_value_at_optimum_equals_js_identity_random_pairs(k, seed):
    p, q = random_pair(k, seed)
    # V(D*) = Σ p log(p/(p+q)) + q log(q/(p+q)) = Σ p log(p/m) + q log(q/m) − ln 2 Σ(p+q) = 2 JS − log 4
    assert dv.value_at_optimum(p, q) == pytest.approx(-LOG4 + 2 * dv.js(p, q), abs=1e-12)


@PROPERTY
@given(prob_pairs(), st.integers(0, 2**31 - 1))
def test_value_at_optimum_identity_and_maximality(pq, seed):
    p, q = pq
    assert dv.value_at_optimum(p, q) == pytest.approx(-LOG4 + 2 * dv.js(p, q), abs=1e-12)
    # Any other table D in (0, 1) does no better than D*
    d = torch.rand(p.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    d = d.clamp(1e-6, 1 - 1e-6)
    assert dv.value(d, p, q) <= dv.value_at_optimum(p, q) + 1e-12


def test_value_of_the_coin_flip_discriminator():
    # D = ½ everywhere: V = Σ p log ½ + q log ½ = −2 ln 2 = −log 4, for any p, q
    p, q = random_pair(6, 20)
    assert dv.value(torch.full_like(p, 0.5), p, q) == pytest.approx(-LOG4, abs=1e-14)
    # identical distributions: D* = ½, V(D*) = −log 4 and JS = 0
    assert dv.value_at_optimum(p, p) == pytest.approx(-LOG4, abs=1e-14)


@pytest.mark.parametrize("mu_p, s_p, mu_q, s_q", [
    (0.0, 1.0, 1.0, 1.0),
    (0.0, 1.0, 3.0, 0.5),
    (-1.0, 2.0, 1.0, 1.0),
    (0.0, 1.0, 0.0, 1.0),
    (0.0, 1.0, 10.0, 1.0),  # D* rounds to exactly 0 or 1 over much of the grid
])
def test_value_at_optimum_equals_js_identity_on_gaussian_grid(mu_p, s_p, mu_q, s_q):
    x, dx = grid(-20.0, 20.0, 20001)
    p, q = normal_pdf(x, mu_p, s_p), normal_pdf(x, mu_q, s_q)
    mass = float((p + q).sum()) * dx
    # On the grid the identity is exact up to the grid masses M_p + M_q:
    # V(D*) = Σ[p log(p/m) + q log(q/m)] dx − ln 2 Σ (p + q) dx = 2 JS − ln 2 (M_p + M_q)
    assert dv.value_at_optimum(p, q, dx) == pytest.approx(2 * dv.js(p, q, dx) - LN2 * mass, abs=1e-12)
    # and M_p = M_q = 1 to ~1e-15 here (Riemann sums of a Gaussian over ±19σ are exponentially accurate)
    assert mass == pytest.approx(2.0, abs=1e-10)
    assert dv.value_at_optimum(p, q, dx) == pytest.approx(-LOG4 + 2 * dv.js(p, q, dx), abs=1e-9)


def test_value_with_logits():
    p, q = random_pair(6, 21)
    l = torch.linspace(-4.0, 4.0, 6, dtype=torch.float64)
    # logits=True: log D = log σ(l), log(1 − D) = log σ(−l); same number as passing σ(l)
    assert dv.value(l, p, q, logits=True) == pytest.approx(dv.value(torch.sigmoid(l), p, q), abs=1e-12)
    # Extreme logits, p = q = (½, ½), l = (40, −40): σ(40) rounds to 1 in float64, so with
    # probabilities V = −∞, while from the logits
    # V = ½[log σ(40) + log σ(−40)] + ½[log σ(−40) + log σ(40)] = −softplus(−40) − softplus(40)
    #   = −40 − 2 log(1 + e^{−40}) ≈ −40
    half = torch.tensor([0.5, 0.5], dtype=torch.float64)
    ext = torch.tensor([40.0, -40.0], dtype=torch.float64)
    assert dv.value(torch.sigmoid(ext), half, half) == -math.inf
    assert dv.value(ext, half, half, logits=True) == pytest.approx(-40 - 2 * math.log1p(math.exp(-40)), abs=1e-12)
    # the tabular optimum in logit form: l* = log p − log q
    assert dv.value(torch.log(p) - torch.log(q), p, q, logits=True) == \
        pytest.approx(-LOG4 + 2 * dv.js(p, q), abs=1e-12)


def test_optimal_discriminator_edge_values():
    p = torch.tensor([0.5, 0.5, 0.0, 0.0])
    q = torch.tensor([0.0, 0.25, 0.75, 0.0])
    # p/(p+q): 1 where q = 0 < p; ⅔ = 0.5/0.75; 0 where p = 0 < q; ½ by convention where both vanish
    expected = torch.tensor([1.0, 2 / 3, 0.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close(dv.optimal_discriminator(p, q), expected, rtol=0, atol=1e-15)
    # With those conventions V(D*) stays finite: 0·log 0 = 0. JS = ... via the identity.
    assert dv.value_at_optimum(p, q) == pytest.approx(-LOG4 + 2 * dv.js(p, q), abs=1e-12)


# --- the parallel lines -----------------------------------------------------------------

@pytest.mark.parametrize("theta", [1.0, -0.5, 1e-3, 10.0])
def test_parallel_lines_without_noise(theta):
    r = dv.parallel_lines(theta)
    # Disjoint supports for θ ≠ 0: KL = ∞, JS = ln 2, TV = 1; W1 = |θ| (move every point sideways)
    assert r["kl"] == math.inf
    assert r["js"] == pytest.approx(LN2, abs=1e-15)
    assert r["tv"] == pytest.approx(1.0, abs=1e-15)
    assert r["w1"] == pytest.approx(abs(theta), abs=1e-15)


def test_parallel_lines_at_zero():
    # P_0 = P_θ at θ = 0: every divergence is 0, with or without noise
    for sigma in (0.0, 0.5):
        r = dv.parallel_lines(0.0, sigma)
        for key in ("kl", "js", "tv", "w1"):
            assert r[key] == pytest.approx(0.0, abs=1e-12), (sigma, key)


@pytest.mark.parametrize("theta, sigma", [(1.0, 1.0), (1.0, 0.5), (-2.0, 1.5), (0.3, 0.1)])
def test_parallel_lines_with_noise_closed_forms(theta, sigma):
    r = dv.parallel_lines(theta, sigma)
    # The noisy lines differ only in the first coordinate: N(0, σ²) vs N(θ, σ²)
    assert r["kl"] == pytest.approx(theta**2 / (2 * sigma**2), rel=1e-12)  # KL = θ²/2σ²; (1, 1) → ½
    assert r["tv"] == pytest.approx(math.erf(abs(theta) / (2 * sigma * math.sqrt(2))), abs=1e-12)  # 2Φ(|θ|/2σ) − 1
    assert r["w1"] == pytest.approx(abs(theta), abs=1e-15)  # ≥ |difference of means| = |θ|, ≤ W1 without noise


def test_parallel_lines_small_theta_js_is_quadratic():
    # JS(N(0,σ²), N(θ,σ²)) = θ² I / 8 + O(θ⁴) with Fisher information I = 1/σ²:
    # θ = 1e-3, σ = ½ → 1e-6/(8·¼) = 5e-7, with relative correction O(θ²/σ²) = O(4e-6)
    r = dv.parallel_lines(1e-3, 0.5)
    assert r["js"] == pytest.approx(5e-7, rel=1e-4)


def test_parallel_lines_js_decreasing_in_sigma():
    sigmas = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
    js = [dv.parallel_lines(1.0, s)["js"] for s in sigmas]
    # more noise → more overlap → smaller JS, strictly
    assert all(a > b for a, b in zip(js, js[1:])), js


@pytest.mark.parametrize("theta, sigma", [
    (1.0, 2.0), (1.0, 1.0), (1.0, 0.3), (1.0, 0.1), (1.0, 0.03), (1.0, 1e-2), (1.0, 1e-3),
    (1.0, 1e-4), (1.0, 1e-5), (1.0, 1e-6),      # σ → 0: JS → ln 2
    (100.0, 0.5), (30.0, 1.0),                   # well separated means
])
def test_parallel_lines_js_bounds(theta, sigma):
    # For N(0,σ²) vs N(θ,σ²): TV = erf(|θ|/(2σ√2)), Bhattacharyya coefficient BC = exp(−θ²/8σ²), and
    # ln2 · (1 − BC) ≤ JS ≤ ln2 · TV ≤ ln 2  (see test_js_between_tv_and_bhattacharyya_bounds).
    # As σ → 0, BC → 0, so JS → ln 2.
    r = dv.parallel_lines(theta, sigma)
    tv = math.erf(abs(theta) / (2 * sigma * math.sqrt(2)))
    bc = math.exp(-theta**2 / (8 * sigma**2))
    assert LN2 * (1 - bc) - 1e-9 <= r["js"] <= LN2 * tv + 1e-9
    assert r["js"] <= LN2 + 1e-12


@pytest.mark.parametrize("theta, noise", [(0.75, 0.0), (-1.5, 0.0), (0.25, 0.3)])
def test_parallel_lines_w1_against_samples(theta, noise):
    # Same seed → the same u (and the same noise) in both sets, so P_θ's sample is P_0's sample
    # translated by (θ, 0): W1 = |θ| exactly (see test_w1_samples_translation_in_2d).
    # These θ are exact in float32; with noise, θ + noise·ε is rounded to float32 (≤ 3e-7 here),
    # hence abs=1e-6.
    n = 200
    x0 = ParallelLine(0.0).sample(n, generator=7, noise=noise)
    xt = ParallelLine(theta).sample(n, generator=7, noise=noise)
    assert dv.w1_samples(x0, xt) == pytest.approx(dv.parallel_lines(theta, noise)["w1"], abs=1e-6)
    assert dv.parallel_lines(theta, noise)["w1"] == pytest.approx(abs(theta), abs=1e-15)


# --- bad input ----------------------------------------------------------------------------

def test_unknown_divergence_names_valid_ones():
    with pytest.raises(ValueError, match="foo") as info:
        dv.divergence("foo", [0.5, 0.5], [0.5, 0.5])
    for name in ("kl", "js", "tv"):
        assert name in str(info.value)
    with pytest.raises(ValueError, match="valid names"):
        dv.divergence(["kl"], [0.5, 0.5], [0.5, 0.5])  # unhashable name: still a ValueError


@pytest.mark.parametrize("fn", [dv.kl, dv.js, dv.tv, dv.value_at_optimum])
@pytest.mark.parametrize("p, q, match", [
    ([0.5, 0.5], [0.2, 0.3, 0.5], "same shape"),
    ([0.5, 0.6], [0.5, 0.5], "sum to 1"),
    ([0.5, 0.5], [0.3, 0.3], "sum to 1"),
    ([1.5, -0.5], [0.5, 0.5], "non-negative"),
    ([0.5, 0.5], [float("nan"), 1.0], "finite"),
    ([], [], "empty"),
])
def test_bad_distributions(fn, p, q, match):
    with pytest.raises(ValueError, match=match):
        fn(p, q)


@pytest.mark.parametrize("dx", [0.0, -0.1, float("nan"), float("inf")])
def test_bad_grid_spacing(dx):
    with pytest.raises(ValueError, match="dx"):
        dv.kl([0.5, 0.5], [0.5, 0.5], dx)


def test_grid_density_not_integrating_to_one():
    x, dx = grid(-10.0, 10.0, 2001)
    with pytest.raises(ValueError, match="integrate"):
        dv.js(2 * normal_pdf(x, 0.0, 1.0), normal_pdf(x, 0.0, 1.0), dx)  # ∫ 2φ = 2


def test_bad_w1_inputs():
    with pytest.raises(ValueError, match="1-D"):
        dv.w1_grid(torch.full((2, 2), 0.25), torch.full((2, 2), 0.25), 1.0)
    with pytest.raises(ValueError, match="same dimension"):
        dv.w1_samples(torch.zeros(5, 2), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="non-empty"):
        dv.w1_samples(torch.zeros(0, 2), torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, d\)"):
        dv.w1_samples(torch.zeros(2, 2, 2), torch.zeros(5, 2))


@pytest.mark.parametrize("fn", [dv.kl_gaussians, dv.tv_gaussians, dv.w1_gaussians])
@pytest.mark.parametrize("s_p, s_q", [(0.0, 1.0), (1.0, -1.0), (float("nan"), 1.0)])
def test_gaussian_closed_forms_reject_bad_stds(fn, s_p, s_q):
    with pytest.raises(ValueError, match="positive"):
        fn(0.0, s_p, 1.0, s_q)


def test_value_and_optimal_discriminator_reject_bad_tables():
    p = [0.5, 0.5]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dv.value([0.5, 1.5], p, p)
    with pytest.raises(ValueError, match="shape"):
        dv.value([0.5, 0.5, 0.5], p, p)
    with pytest.raises(ValueError, match="same shape"):
        dv.optimal_discriminator([0.5, 0.5], [1.0])


@pytest.mark.parametrize("theta, sigma, match", [
    (float("inf"), 0.0, "theta"),
    (float("nan"), 0.0, "theta"),
    (1.0, -0.1, "sigma"),
    (1.0, float("inf"), "sigma"),
])
def test_parallel_lines_bad_arguments(theta, sigma, match):
    with pytest.raises(ValueError, match=match):
        dv.parallel_lines(theta, sigma)


def test_inputs_accept_numpy_and_tensors_alike():
    p = np.array([0.2, 0.3, 0.5])
    q = np.array([0.5, 0.3, 0.2])
    # KL(p||q) = 0.2 ln 0.4 + 0 + 0.5 ln 2.5 = 0.5 ln 2.5 + 0.2 ln 0.4 = 0.274931
    expected = 0.2 * math.log(0.4) + 0.5 * math.log(2.5)
    assert dv.kl(p, q) == pytest.approx(expected, abs=1e-14)
    assert dv.kl(torch.tensor(p, dtype=torch.float32), torch.tensor(q, dtype=torch.float32)) == \
        pytest.approx(expected, abs=1e-6)  # float32 inputs: rounding of p, q at ~1e-8 relative
