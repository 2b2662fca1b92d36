"""Tests for gan_tutor.data.toy: samplers (seeding, shapes, devices, moments)
and the 1-D mixture density.

Moment tolerances are a number of standard errors (SE), derived beside each check;
the seeds are fixed, so the tests are deterministic.
"""

import math

import pytest
import torch

from gan_tutor.data import (GaussianMixture1D, GaussianMixture2D, ParallelLine, gaussian_1d, grid25,
                            normal_pdf, ring8)

MIX_MEANS, MIX_STDS, MIX_WEIGHTS = [-1.0, 2.0], [0.5, 1.0], [0.3, 0.7]

SAMPLERS = {
    "gaussian_1d": (lambda: gaussian_1d(1.0, 2.0), 1),
    "mixture_1d": (lambda: GaussianMixture1D(MIX_MEANS, MIX_STDS, MIX_WEIGHTS), 1),
    "parallel_line": (lambda: ParallelLine(0.5), 2),
    "ring8": (ring8, 2),
    "grid25": (grid25, 2),
}


def _draw(name, n, generator=None, device="cpu"):
    make, _ = SAMPLERS[name]
    return make().sample(n, generator=generator, device=device)


# --- seeding, shapes, dtypes, devices -----------------------------------------------------

@pytest.mark.parametrize("name", SAMPLERS)
def test_shape_and_dtype(name):
    _, dim = SAMPLERS[name]
    for n in (1, 17):
        x = _draw(name, n, generator=0)
        assert x.shape == (n, dim)
        assert x.dtype == torch.float32
        assert x.device.type == "cpu"


@pytest.mark.parametrize("name", SAMPLERS)
def test_same_seed_same_samples_different_seed_different_samples(name):
    a, b = _draw(name, 64, generator=123), _draw(name, 64, generator=123)
    assert torch.equal(a, b)
    assert not torch.equal(a, _draw(name, 64, generator=124))
    # a torch.Generator seeded alike gives the same numbers as the int seed (a fresh CPU generator)
    assert torch.equal(a, _draw(name, 64, generator=torch.Generator().manual_seed(123)))


@pytest.mark.parametrize("name", SAMPLERS)
def test_int_seed_ignores_global_state_and_none_uses_it(name):
    torch.manual_seed(0)
    a = _draw(name, 32, generator=5)
    torch.manual_seed(1)
    assert torch.equal(a, _draw(name, 32, generator=5))
    # generator=None: PyTorch's global generator, so torch.manual_seed reproduces it
    torch.manual_seed(9)
    g1 = _draw(name, 32)
    torch.manual_seed(9)
    assert torch.equal(g1, _draw(name, 32))


@pytest.mark.parametrize("name", SAMPLERS)
def test_generator_object_advances(name):
    g = torch.Generator().manual_seed(3)
    first, second = _draw(name, 16, generator=g), _draw(name, 16, generator=g)
    assert not torch.equal(first, second)  # successive batches from one stream differ


@pytest.mark.parametrize("name", SAMPLERS)
@pytest.mark.parametrize("device", ["cpu", torch.device("cpu"), "meta"])
def test_device_argument_respected(name, device):
    # "meta" tensors carry shape and dtype but no data; every sampler supports them
    _, dim = SAMPLERS[name]
    x = _draw(name, 8, device=device)
    assert x.device == torch.device(device)
    assert x.shape == (8, dim) and x.dtype == torch.float32
    # with an int seed the draw happens on a CPU generator and is moved to `device`
    y = _draw(name, 8, generator=1, device=device)
    assert y.device == torch.device(device)


@pytest.mark.parametrize("name", SAMPLERS)
@pytest.mark.parametrize("n", [0, -1, 2.5, "3", None])
def test_bad_n(name, n):
    with pytest.raises(ValueError, match="positive integer"):
        _draw(name, n, generator=0)


@pytest.mark.parametrize("name", SAMPLERS)
@pytest.mark.parametrize("bad", ["seed", 1.5, True])
def test_bad_generator_type(name, bad):
    with pytest.raises(TypeError, match="torch.Generator, an int seed or None"):
        _draw(name, 4, generator=bad)


# --- 1-D Gaussians and mixtures -------------------------------------------------------------

def test_normal_pdf_values():
    x = torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64)
    # N(0; 0, 1) = 1/√(2π) = 0.398942; N(1; 0, 1) = e^{−½}/√(2π); N(−2; 0, 2²) = e^{−½}/(2√(2π))
    torch.testing.assert_close(normal_pdf(x[:2], 0.0, 1.0),
                               torch.tensor([1, math.exp(-0.5)], dtype=torch.float64) / math.sqrt(2 * math.pi),
                               rtol=1e-15, atol=0)
    torch.testing.assert_close(normal_pdf(x[2:], 0.0, 2.0),
                               torch.tensor([math.exp(-0.5) / (2 * math.sqrt(2 * math.pi))], dtype=torch.float64),
                               rtol=1e-15, atol=0)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="sigma must be positive"):
            normal_pdf(x, 0.0, bad)


@pytest.mark.parametrize("make", [
    lambda: gaussian_1d(0.0, 1.0),
    lambda: gaussian_1d(2.0, 0.5),
    lambda: GaussianMixture1D(MIX_MEANS, MIX_STDS, MIX_WEIGHTS),
    lambda: GaussianMixture1D([-3.0, 0.0, 4.0], [1.0, 0.2, 2.0]),
], ids=["N(0,1)", "N(2,0.5^2)", "mixture2", "mixture3_equal_weights"])
def test_density_integrates_to_one(make):
    # Grid [−30, 30], dx = 1e-3: every component's density is < 1e-40 at the ends, and the Riemann
    # sum of a Gaussian on a fine grid is exact to ~1e-15, so ∫ p = 1 within 1e-9.
    x = torch.linspace(-30.0, 30.0, 60001, dtype=torch.float64)
    dx = 60.0 / 60000
    dens = make().density(x)
    assert dens.shape == x.shape and dens.dtype == torch.float64
    assert float(dens.sum()) * dx == pytest.approx(1.0, abs=1e-9)


def test_mixture_density_values():
    mix = GaussianMixture1D(MIX_MEANS, MIX_STDS, MIX_WEIGHTS)
    x = torch.tensor([2.0, -1.0])
    c = 1 / math.sqrt(2 * math.pi)
    # p(2) = 0.3 N(2; −1, ½²) + 0.7 N(2; 2, 1) = 0.3 · 2c e^{−½·36} + 0.7 c
    # p(−1) = 0.3 · 2c + 0.7 c e^{−½·9}
    expected = torch.tensor([0.3 * 2 * c * math.exp(-18) + 0.7 * c,
                             0.3 * 2 * c + 0.7 * c * math.exp(-4.5)])
    torch.testing.assert_close(mix.density(x), expected, rtol=1e-6, atol=0)  # float32 in, float32 out


def test_single_gaussian_density_dtype_follows_input():
    g = gaussian_1d(0.0, 1.0)
    out = g.density(torch.tensor([0.0], dtype=torch.float32))
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-6)  # 0.398942
    assert g.density(torch.tensor([0])).dtype == torch.float64  # integer input → float64


@pytest.mark.parametrize("means, stds, weights", [
    ([0.0], [1.0], None),
    ([1.0], [2.0], None),
    (MIX_MEANS, MIX_STDS, MIX_WEIGHTS),
    ([-3.0, 0.0, 4.0], [1.0, 0.2, 2.0], None),
])
def test_mixture_sample_moments(means, stds, weights):
    k = len(means)
    w = [1.0 / k] * k if weights is None else weights
    # Mixture moments: mean m = Σ π μ; var v = Σ π (σ² + μ²) − m²;
    # 4th central moment μ4 = Σ π (d⁴ + 6 d² σ² + 3 σ⁴), d = μ − m.
    m = sum(pi * mu for pi, mu in zip(w, means))
    v = sum(pi * (s**2 + mu**2) for pi, mu, s in zip(w, means, stds)) - m**2
    mu4 = sum(pi * ((mu - m) ** 4 + 6 * (mu - m) ** 2 * s**2 + 3 * s**4) for pi, mu, s in zip(w, means, stds))
    n = 100_000
    x = GaussianMixture1D(means, stds, weights).sample(n, generator=11).double()[:, 0]
    # SE of the sample mean = sqrt(v/n); SE of the sample variance = sqrt((μ4 − v²)/n). Tolerance 5 SE.
    assert float(x.mean()) == pytest.approx(m, abs=5 * math.sqrt(v / n))
    assert float(x.var()) == pytest.approx(v, abs=5 * math.sqrt((mu4 - v**2) / n))


@pytest.mark.parametrize("means, stds, weights, match", [
    ([0.0, 1.0], [1.0], None, "same length"),
    ([0.0, 1.0], [1.0, 0.0], None, "positive"),
    ([0.0, 1.0], [1.0, -1.0], None, "positive"),
    ([0.0, 1.0], [1.0, 1.0], [0.5, 0.6], "summing to 1"),
    ([0.0, 1.0], [1.0, 1.0], [1.5, -0.5], "non-negative"),
    ([0.0, 1.0], [1.0, 1.0], [1.0], "2 non-negative"),
])
def test_mixture_1d_bad_parameters(means, stds, weights, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture1D(means, stds, weights)


# --- 2-D mixtures ------------------------------------------------------------------------

def test_ring8_centres_and_std():
    r = ring8()
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)  # 2πk/8
    expected = torch.stack([angles.cos(), angles.sin()], 1).float()
    torch.testing.assert_close(r.centres, expected, rtol=0, atol=1e-7)
    torch.testing.assert_close(torch.linalg.vector_norm(r.centres, dim=1), torch.ones(8), rtol=0, atol=1e-6)
    assert r.std == 0.01
    assert len(r.centres) == 8
    big = ring8(radius=2.0, std=0.1)
    torch.testing.assert_close(torch.linalg.vector_norm(big.centres, dim=1), torch.full((8,), 2.0), rtol=0, atol=1e-6)
    assert big.std == 0.1


def test_grid25_centres_and_std():
    g = grid25()
    ticks = [-4.0, -2.0, 0.0, 2.0, 4.0]  # (k − 2)·2 for k = 0..4
    assert {tuple(c) for c in g.centres.tolist()} == {(a, b) for a in ticks for b in ticks}
    assert len(g.centres) == 25
    assert g.std == 0.05
    assert {tuple(c) for c in grid25(spacing=1.0).centres.tolist()} == \
        {(a / 2, b / 2) for a in ticks for b in ticks}


@pytest.mark.parametrize("make, n_modes, std", [(ring8, 8, 0.01), (grid25, 25, 0.05)])
def test_2d_mixture_samples(make, n_modes, std):
    mix = make()
    n = 40_000
    x = mix.sample(n, generator=21).double()
    c = mix.centres.double()
    # Modes are ≥ 0.765 apart (ring: 2 sin(π/8)) or 2 apart (grid), ≫ std, so the nearest centre is
    # the mode a sample came from.
    k = torch.cdist(x, c).argmin(1)
    resid = x - c[k]  # ~ N(0, std² I)
    # std estimate from 2n squared normals around the known centres: relative SE of σ̂ = 1/(2√n).
    std_hat = float(resid.pow(2).mean().sqrt())
    assert std_hat == pytest.approx(std, rel=5 / (2 * math.sqrt(n)))
    # uniform modes: each count ~ Binomial(n, 1/K), SE = sqrt(n (1/K)(1 − 1/K)); tolerance 5 SE
    counts = torch.bincount(k, minlength=n_modes).double()
    se = math.sqrt(n * (1 / n_modes) * (1 - 1 / n_modes))
    torch.testing.assert_close(counts, torch.full((n_modes,), n / n_modes, dtype=torch.float64),
                               rtol=0, atol=5 * se)


@pytest.mark.parametrize("centres, std, match", [
    ([[0.0, 0.0, 0.0]], 0.1, r"\(K, 2\)"),
    ([0.0, 0.0], 0.1, r"\(K, 2\)"),
    ([[0.0, 0.0]], 0.0, "positive"),
    ([[0.0, 0.0]], -1.0, "positive"),
])
def test_mixture_2d_bad_parameters(centres, std, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture2D(centres, std)


# --- the parallel line ----------------------------------------------------------------------

@pytest.mark.parametrize("theta", [0.0, 0.5, -1.25, 0.1])
def test_parallel_line_samples(theta):
    n = 20_000
    x = ParallelLine(theta).sample(n, generator=4)
    # first coordinate: θ exactly (as float32); second: u ~ U[0, 1]
    assert torch.equal(x[:, 0], torch.full((n,), theta, dtype=torch.float32))
    assert float(x[:, 1].min()) >= 0.0 and float(x[:, 1].max()) <= 1.0
    # E u = ½, Var u = 1/12: SE of the mean = sqrt(1/(12 n)); tolerance 5 SE
    assert float(x[:, 1].double().mean()) == pytest.approx(0.5, abs=5 * math.sqrt(1 / (12 * n)))


def test_parallel_line_instance_noise():
    n, noise, theta = 20_000, 0.3, 1.0
    x = ParallelLine(theta).sample(n, generator=8, noise=noise).double()
    # first coordinate θ + noise·ε: mean θ (SE noise/√n), std noise (relative SE 1/√(2n)); 5 SE
    assert float(x[:, 0].mean()) == pytest.approx(theta, abs=5 * noise / math.sqrt(n))
    assert float(x[:, 0].std()) == pytest.approx(noise, rel=5 / math.sqrt(2 * n))
    # second: u + noise·ε, variance 1/12 + noise²; u + noise·ε is platykurtic (kurtosis < 3), so the
    # relative SE of the sample variance is ≤ sqrt(2/n) = 0.01; tolerance 5 SE
    assert float(x[:, 1].var()) == pytest.approx(1 / 12 + noise**2, rel=5 * math.sqrt(2 / n))
    with pytest.raises(ValueError, match=">= 0"):
        ParallelLine(theta).sample(4, noise=-0.1)
