"""Tests for gan_tutor.metrics.mode_stats: the VEEGAN/PacGAN mode-coverage protocol.

A sample is high quality (HQ) if its distance to the nearest centre is < 3σ; a mode is
captured if at least one HQ sample is nearest to it; the reverse KL is
KL(h ‖ u) = Σ_k h_k log(K h_k) for the histogram h of HQ samples over the K modes.

Exact samples: ‖x − μ‖²/σ² ~ χ²₂, so P(HQ) = P(χ²₂ < 9) = 1 − e^{−9/2} = 0.988891.
The HQ histogram of N_hq exact samples is multinomial(N_hq, uniform); Pearson's
X² = Σ (n_k − N_hq/K)²/(N_hq/K) ~ χ²_{K−1}, and to second order KL(h ‖ u) = X²/(2 N_hq),
so E[KL] ≈ (K − 1)/(2 N_hq).
"""

import math

import pytest
import torch

from gan_tutor.data import grid25, ring8
from gan_tutor.metrics import PROTOCOL_SAMPLES, ModeStats, mode_stats

DATASETS = {"ring8": ring8, "grid25": grid25}

P_HQ = 1 - math.exp(-4.5)  # P(χ²₂ < 3²) = 0.988891
# χ²_{K−1} quantiles at 1e-4 and 1 − 1e-4 (scipy.stats.chi2.ppf): K = 8 → 0.29997, 29.878; K = 25 → 6.2230, 58.613
CHI2_QUANTILES = {8: (0.29997, 29.878), 25: (6.2230, 58.613)}


# --- exact samples ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ring8", "grid25"])
@pytest.mark.parametrize("seed", [0, 1])
def test_exact_samples_capture_every_mode(name, seed):
    data = DATASETS[name]()
    k = len(data.centres)
    n = PROTOCOL_SAMPLES
    assert n == 2500
    stats = mode_stats(data.sample(n, seed), data.centres, data.std)
    assert isinstance(stats, ModeStats)
    assert stats.modes == stats.total_modes == k  # N/K = 100 or 312 samples per mode: all captured
    # binomial standard error sqrt(p(1 − p)/N) = sqrt(0.98889·0.01111/2500) = 0.0020962; ±4 SE = ±0.0084
    se = math.sqrt(P_HQ * (1 - P_HQ) / n)
    assert stats.high_quality == pytest.approx(P_HQ, abs=4 * se)
    # reverse KL ≈ X²/(2 N_hq) with X² ~ χ²_{K−1}: E ≈ (K − 1)/(2·2472) = 0.0014 (K = 8), 0.0049 (K = 25).
    # Two-sided bounds from the χ² quantiles at 1e-4 and 1 − 1e-4: for K = 8, 6.1e-5 < KL < 0.0060;
    # for K = 25, 0.0013 < KL < 0.0119. (A perfectly balanced histogram, KL = 0, would be suspicious.)
    n_hq = stats.high_quality * n
    lo, hi = CHI2_QUANTILES[k]
    assert lo / (2 * n_hq) < stats.reverse_kl < hi / (2 * n_hq)


# --- constructed samples with exact answers ------------------------------------------------

@pytest.mark.parametrize("name", ["ring8", "grid25"])
@pytest.mark.parametrize("where", [0, -1])
def test_all_samples_on_one_centre(name, where):
    data = DATASETS[name]()
    k = len(data.centres)
    samples = data.centres[where].repeat(500, 1)  # (500, 2), every sample exactly on one centre
    stats = mode_stats(samples, data.centres, data.std)
    assert stats.modes == 1 and stats.total_modes == k
    assert stats.high_quality == 1.0
    # h = (1, 0, …, 0): KL = 1·log(K·1) = log K = log 8 = 2.079442, log 25 = 3.218876
    assert stats.reverse_kl == pytest.approx(math.log(k), abs=1e-12)


# m of K centres, each with N/m samples (offset by (σ, σ), distance √2 σ < 3σ: still HQ and still
# nearest to its own centre): h_k = 1/m on m modes, KL = m·(1/m)·log(K/m) = log(K/m).
# ring8: log 8 = 2.079442, log 4 = 1.386294, log 2 = 0.693147, log 1 = 0; grid25: log 5 = 1.609438, 0.
@pytest.mark.parametrize("name, m", [("ring8", 1), ("ring8", 2), ("ring8", 4), ("ring8", 8),
                                     ("grid25", 5), ("grid25", 25)])
def test_samples_split_evenly_over_m_modes(name, m):
    data = DATASETS[name]()
    k = len(data.centres)
    chosen = torch.arange(0, k, k // m)  # m modes spread evenly: every (K/m)-th
    per_mode = 200
    samples = data.centres[chosen].repeat_interleave(per_mode, dim=0) + data.std  # (m·200, 2)
    stats = mode_stats(samples, data.centres, data.std)
    assert stats.modes == m
    assert stats.high_quality == 1.0
    assert stats.reverse_kl == pytest.approx(math.log(k / m), abs=1e-12)


def test_only_high_quality_samples_count():
    # 300 samples on centre 0 and 100 halfway between centres 0 and 1 of ring8 (0.38 from each,
    # ≫ 3σ = 0.03): HQ = 300/400 = 0.75, one mode, and the far ones do not enter h: KL = log 8
    data = ring8()
    c = data.centres.double()
    samples = torch.cat([c[0].repeat(300, 1), ((c[0] + c[1]) / 2).repeat(100, 1)])
    stats = mode_stats(samples, data.centres, data.std)
    assert stats.modes == 1
    assert stats.high_quality == 0.75
    assert stats.reverse_kl == pytest.approx(math.log(8), abs=1e-12)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_samples_far_from_every_centre(name):
    data = DATASETS[name]()
    samples = torch.tensor([[100.0, 100.0], [-50.0, 20.0]]).repeat(50, 1)
    stats = mode_stats(samples, data.centres, data.std)
    assert stats.modes == 0 and stats.total_modes == len(data.centres)
    assert stats.high_quality == 0.0
    assert stats.reverse_kl == math.inf  # no HQ sample: h is undefined, KL = ∞ by convention


# --- the 3σ boundary is strict ---------------------------------------------------------------

@pytest.mark.parametrize("name, where", [("ring8", 0), ("ring8", 3), ("grid25", 0), ("grid25", 12)])
@pytest.mark.parametrize("direction", [(1.0, 0.0), (0.0, -1.0)])
@pytest.mark.parametrize("offset, counted", [(-1e-9, True), (1e-9, False)])
def test_three_sigma_boundary(name, where, direction, offset, counted):
    # one sample at distance 3σ ± 1e-9 from a centre, along an axis (float64: the distance is exact to
    # ~1e-16 ≪ 1e-9); its nearest centre is that one (the modes are ≥ 0.77 apart, 3σ ≤ 0.15)
    data = DATASETS[name]()
    centre = data.centres[where].double()
    sample = centre + (3 * data.std + offset) * torch.tensor(direction, dtype=torch.float64)
    stats = mode_stats(sample[None], data.centres, data.std)
    assert stats.high_quality == (1.0 if counted else 0.0)
    assert stats.modes == (1 if counted else 0)


@pytest.mark.parametrize("radius", [3.0, 1.0])
def test_boundary_exactly_at_radius_is_not_counted(radius):
    # centres at 0 and (10, 0), σ = 1: r·σ is exact in binary and ‖(r, 0) − 0‖ = r exactly,
    # so "< rσ" must reject the point at distance r and accept the one just inside
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    on = torch.tensor([[radius, 0.0], [0.0, -radius]], dtype=torch.float64)
    inside = torch.tensor([[math.nextafter(radius, 0.0), 0.0]], dtype=torch.float64)
    assert mode_stats(on, centres, 1.0, radius=radius).high_quality == 0.0
    assert mode_stats(inside, centres, 1.0, radius=radius).high_quality == 1.0


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("samples, centres, match", [
    (torch.zeros(5), torch.zeros(3, 2), "must be \\(N, d\\)"),            # 1-D samples
    (torch.zeros(5, 2, 1), torch.zeros(3, 2), "must be \\(N, d\\)"),      # 3-D samples
    (torch.zeros(5, 2), torch.zeros(3), "must be \\(N, d\\)"),            # 1-D centres
    (torch.zeros(5, 3), torch.zeros(3, 2), "same d"),                     # d mismatch
    (torch.zeros(0, 2), torch.zeros(3, 2), "samples is empty"),
])
def test_bad_shapes(samples, centres, match):
    with pytest.raises(ValueError, match=match):
        mode_stats(samples, centres, 0.1)


@pytest.mark.parametrize("std, radius", [(0.0, 3.0), (-0.1, 3.0), (float("nan"), 3.0), (0.1, 0.0), (0.1, -1.0)])
def test_bad_std_or_radius(std, radius):
    with pytest.raises(ValueError, match="std and radius must be positive"):
        mode_stats(torch.zeros(4, 2), torch.zeros(2, 2), std, radius=radius)


def test_str():
    stats = ModeStats(modes=7, total_modes=8, high_quality=0.9876, reverse_kl=0.01234)
    assert str(stats) == "7/8 modes, 98.8% high quality, reverse KL 0.012"
