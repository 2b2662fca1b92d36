"""Tests for gan_tutor.models and gan_tutor.train: shapes and input checks of the
networks, the discriminator step (G untouched), fitting D towards D*, and the
generator's gradient norm against a hand-built linear discriminator.
"""

import copy
import math

import pytest
import torch
from torch import nn

from gan_tutor import divergences as dv
from gan_tutor import losses
from gan_tutor.data import ParallelLine, gaussian_1d, normal_pdf, ring8
from gan_tutor.models import Discriminator, Generator, InstanceNoise, ParallelLineGenerator, mlp
from gan_tutor.train import discriminator_step, fit_discriminator, generator_grad_norm


def _linear_disc(w0: float, w1: float, b: float) -> Discriminator:
    """A Discriminator whose logit is l(x) = w0 x₀ + w1 x₁ + b."""
    disc = Discriminator(in_dim=2)
    disc.net = nn.Linear(2, 1)
    with torch.no_grad():
        disc.net.weight.copy_(torch.tensor([[w0, w1]]))
        disc.net.bias.fill_(b)
    return disc


# --- networks -------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 5, 64])
@pytest.mark.parametrize("z_dim, out_dim", [(2, 2), (3, 2), (1, 1)])
def test_generator_and_discriminator_shapes(n, z_dim, out_dim):
    torch.manual_seed(0)
    gen = Generator(z_dim=z_dim, out_dim=out_dim, hidden=16)
    disc = Discriminator(in_dim=out_dim, hidden=16)
    z = gen.noise(n, generator=0)
    assert z.shape == (n, z_dim) and z.dtype == torch.float32
    x = gen(z)
    assert x.shape == (n, out_dim)
    assert disc(x).shape == (n,)  # one logit per sample, squeezed


def test_parallel_line_generator_shapes_and_law():
    gen = ParallelLineGenerator(theta=0.75)
    z = gen.noise(100, generator=3)
    assert z.shape == (100, 1)
    x = gen(z)
    assert x.shape == (100, 2)
    # G_θ(z) = (θ, z): it generates exactly ParallelLine(θ)'s samples for the same seed
    # (torch.rand(n, 1) and torch.rand(n) consume the same stream)
    assert torch.equal(x.detach(), ParallelLine(0.75).sample(100, generator=3))
    assert list(dict(gen.named_parameters())) == ["theta"]


@pytest.mark.parametrize("module, bad", [
    (lambda: Generator(z_dim=3, out_dim=2), torch.zeros(4, 2)),
    (lambda: Generator(z_dim=3, out_dim=2), torch.zeros(4)),
    (lambda: Discriminator(in_dim=2), torch.zeros(4, 3)),
    (lambda: Discriminator(in_dim=2), torch.zeros(4)),
    (lambda: Discriminator(in_dim=2), torch.zeros(4, 2, 1)),
    (lambda: ParallelLineGenerator(), torch.zeros(4, 2)),
    (lambda: ParallelLineGenerator(), torch.zeros(4)),
])
def test_wrong_input_shape(module, bad):
    with pytest.raises(ValueError, match=r"expects input of shape \(N, \d\)"):
        module()(bad)


def test_noise_reproducible_and_bad_n():
    gen = Generator(z_dim=2)
    assert torch.equal(gen.noise(8, generator=1), gen.noise(8, generator=1))
    assert not torch.equal(gen.noise(8, generator=1), gen.noise(8, generator=2))
    pgen = ParallelLineGenerator()
    z = pgen.noise(1000, generator=1)
    assert float(z.min()) >= 0.0 and float(z.max()) <= 1.0  # z ~ U[0, 1]
    for bad in (0, -3, 1.5):
        with pytest.raises(ValueError, match="positive integer"):
            gen.noise(bad)
        with pytest.raises(ValueError, match="positive integer"):
            pgen.noise(bad)


def test_mlp_structure_and_bad_arguments():
    net = mlp(2, 1, hidden=8, depth=3)
    # depth × (Linear + LeakyReLU) + output Linear = 7 modules; widths 2→8→8→8→1
    assert len(net) == 7
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2, 8), (8, 8), (8, 8), (8, 1)]
    assert all(m.negative_slope == 0.2 for m in net if isinstance(m, nn.LeakyReLU))
    for kwargs, name in (({"in_dim": 0, "out_dim": 1}, "in_dim"), ({"in_dim": 2, "out_dim": 1, "hidden": 0}, "hidden"),
                         ({"in_dim": 2, "out_dim": 1, "depth": 1.5}, "depth"), ({"in_dim": 2, "out_dim": -1}, "out_dim")):
        with pytest.raises(ValueError, match=name):
            mlp(**kwargs)


def test_mlp_slope_zero_is_relu_and_bad_slopes_are_named():
    relu_net = mlp(2, 1, hidden=8, depth=2, slope=0.0)
    assert sum(isinstance(m, nn.ReLU) for m in relu_net) == 2
    assert not any(isinstance(m, nn.LeakyReLU) for m in relu_net)
    for bad in (-0.1, 1.0, 2.0):
        with pytest.raises(ValueError, match=r"slope.*\[0, 1\)"):
            mlp(2, 1, slope=bad)


@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_generator_slope_matches_a_hand_written_forward(slope):
    # G(z) = W₂ a(W₁ z + b₁) + b₂ with a(u) = max(u, slope·u): one hidden layer written out
    torch.manual_seed(1)
    gen = Generator(z_dim=2, out_dim=2, hidden=6, depth=1, slope=slope).double()
    first, last = gen.net[0], gen.net[2]
    z = gen.noise(50, generator=2)
    u = z @ first.weight.T + first.bias
    expected = torch.maximum(u, slope * u) @ last.weight.T + last.bias
    torch.testing.assert_close(gen(z), expected, rtol=1e-12, atol=1e-12)


def test_relu_generator_is_flat_where_its_units_are_off():
    # Every hidden unit off (pre-activation < 0) on a region of z → G is constant there (= b₂),
    # the collapse a LeakyReLU generator cannot make: its output still moves with z.
    torch.manual_seed(0)
    for slope, flat in ((0.0, True), (0.2, False)):
        gen = Generator(z_dim=2, out_dim=2, hidden=4, depth=1, slope=slope).double()
        with torch.no_grad():
            gen.net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]]))
            gen.net[0].bias.fill_(-10.0)  # pre-activations < 0 for all z with |z_i| < 2
        z = 2 * torch.rand(100, 2, dtype=torch.float64) - 1  # z in (−1, 1)²: every unit off
        out = gen(z)
        assert torch.equal(out, gen.net[2].bias.expand_as(out)) == flat
        assert (out.std(dim=0).max() == 0) == flat


def test_instance_noise():
    x = torch.zeros(20_000, 2, dtype=torch.float64, requires_grad=True)
    assert InstanceNoise(0.0)(x) is x  # σ = 0: the identity
    noisy = InstanceNoise(0.5, generator=torch.Generator().manual_seed(0))
    noisy.eval()  # noise in evaluation too
    y = noisy(x)
    # x + σ ε with ε ~ N(0, I): std σ = ½, relative SE of the std estimate from 2n draws = 1/(2√(2n)); 5 SE
    assert float(y.detach().std()) == pytest.approx(0.5, rel=5 / (2 * math.sqrt(2 * x.shape[0])))
    assert float(y.detach().mean()) == pytest.approx(0.0, abs=5 * 0.5 / math.sqrt(2 * x.shape[0]))
    # d(x + σ ε)/dx = I: the gradient reaches the input unchanged
    (g,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(g, torch.ones_like(x), rtol=0, atol=0)
    # same generator seed → same noise
    a = InstanceNoise(0.5, generator=torch.Generator().manual_seed(4))(torch.zeros(5, 2))
    b = InstanceNoise(0.5, generator=torch.Generator().manual_seed(4))(torch.zeros(5, 2))
    assert torch.equal(a, b)
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError, match=">= 0"):
            InstanceNoise(bad)


# --- the discriminator step ---------------------------------------------------------------

@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_discriminator_step_leaves_generator_untouched(eps):
    torch.manual_seed(0)
    gen, disc = Generator(z_dim=2, hidden=16), Discriminator(in_dim=2, hidden=16)
    opt = torch.optim.Adam(disc.parameters(), lr=1e-2)
    real = ring8().sample(64, generator=1)
    fake = gen(gen.noise(64, generator=2))  # carries a graph back to G's parameters
    g_before = {k: v.detach().clone() for k, v in gen.named_parameters()}
    d_before = {k: v.detach().clone() for k, v in disc.named_parameters()}
    with torch.no_grad():
        expected = losses.d_loss_bce(disc(real), disc(fake), eps)

    loss = discriminator_step(disc, opt, real, fake, label_smoothing=eps)

    # the returned loss is the BCE before the update, detached, a scalar
    assert loss.shape == () and not loss.requires_grad
    torch.testing.assert_close(loss, expected, rtol=0, atol=1e-6)
    # G: bitwise unchanged, and no gradient reached it (fake is detached inside)
    for k, v in gen.named_parameters():
        assert torch.equal(v, g_before[k]), k
        assert v.grad is None, k
    # D: every parameter tensor moved (Adam's first step moves each weight by ≈ lr·sign(grad))
    for k, v in disc.named_parameters():
        assert not torch.equal(v, d_before[k]), k


def test_discriminator_step_decreases_loss_on_separable_data():
    # Real at x₀ = +1, fake at x₀ = −1, linear D: a few SGD steps must lower the BCE from ~2 ln 2
    torch.manual_seed(1)
    disc = _linear_disc(0.0, 0.0, 0.0)  # l ≡ 0 → loss = 2 ln 2 = 1.386294
    opt = torch.optim.SGD(disc.parameters(), lr=0.5)
    real = torch.tensor([[1.0, 0.0]]).repeat(8, 1)
    fake = torch.tensor([[-1.0, 0.0]]).repeat(8, 1)
    first = discriminator_step(disc, opt, real, fake)
    assert first.item() == pytest.approx(2 * math.log(2), abs=1e-6)
    # first SGD step: ∂L/∂w0 = (σ(0) − 1)·1 + σ(0)·(−1) = −1, ∂L/∂b = −½ + ½ = 0 → w0 = 0.5, b = 0
    assert disc.net.weight[0, 0].item() == pytest.approx(0.5, abs=1e-7)
    assert disc.net.bias.item() == pytest.approx(0.0, abs=1e-7)
    second = discriminator_step(disc, opt, real, fake)
    # then l(real) = ½, l(fake) = −½: loss = 2 softplus(−½) = 2 ln(1 + e^{−½}) = 0.948154
    assert second.item() == pytest.approx(2 * math.log1p(math.exp(-0.5)), abs=1e-6)


# --- fitting D towards D* -------------------------------------------------------------------

def _fit_1d(steps: int, seed: int = 0):
    torch.manual_seed(seed)
    disc = Discriminator(in_dim=1, hidden=32)
    real, fake = gaussian_1d(0.0, 1.0), gaussian_1d(2.0, 1.0)
    g_real, g_fake = torch.Generator().manual_seed(seed + 1), torch.Generator().manual_seed(seed + 2)
    history = fit_discriminator(disc, lambda n: real.sample(n, g_real), lambda n: fake.sample(n, g_fake),
                                steps=steps, batch_size=256, lr=5e-3)
    return disc, history


def test_fit_discriminator_approaches_optimal_discriminator():
    disc, history = _fit_1d(400)
    # steps 0, 50, …, 350 and the last one (399)
    assert history["step"] == [0, 50, 100, 150, 200, 250, 300, 350, 399]
    assert len(history["loss"]) == 9 and all(isinstance(h, float) for h in history["loss"])
    x = torch.linspace(-1.0, 3.0, 81)
    with torch.no_grad():
        d = torch.sigmoid(disc(x[:, None])).double()
    # D*(x) = φ(x)/(φ(x) + φ(x − 2)) = σ(log φ(x) − log φ(x − 2)) = σ((x − 2)²/2 − x²/2) = σ(2 − 2x)
    d_star = torch.sigmoid(2 - 2 * x.double())
    torch.testing.assert_close(d_star, dv.optimal_discriminator(normal_pdf(x.double(), 0.0, 1.0),
                                                                normal_pdf(x.double(), 2.0, 1.0)),
                               rtol=0, atol=1e-12)
    # 400 noisy Adam steps on batches of 256 (not a closed form): 0.1 absolute in the bulk [−1, 3]
    torch.testing.assert_close(d, d_star, rtol=0, atol=0.1)


def test_fit_discriminator_value_close_to_optimum():
    disc, _ = _fit_1d(400)
    xs = torch.linspace(-10.0, 12.0, 2201, dtype=torch.float64)
    dx = 22.0 / 2200
    p, q = normal_pdf(xs, 0.0, 1.0), normal_pdf(xs, 2.0, 1.0)
    with torch.no_grad():
        logits = disc(xs[:, None].float()).double()
    v = dv.value(logits, p, q, dx, logits=True)
    v_star = dv.value_at_optimum(p, q, dx)  # = −log 4 + 2 JS(N(0,1), N(2,1))
    # D* maximises V, so V(D) ≤ V(D*). To second order the gap is ½ ∫ (p+q)(D − D*)²/(D*(1 − D*)) dx;
    # with ∫(p+q) = 2 and 1/(D*(1 − D*)) ≈ 4–12 where p + q has its mass, a (p+q)-weighted RMS error
    # of 0.05 gives a gap of about ½·2·6·0.05² ≈ 0.015, hence the tolerance 0.02.
    assert v <= v_star + 1e-9
    assert v == pytest.approx(v_star, abs=0.02)


def test_fit_discriminator_is_deterministic_given_seeds():
    _, h1 = _fit_1d(20, seed=5)
    _, h2 = _fit_1d(20, seed=5)
    assert h1 == h2  # same init, same samples, one CPU thread → bitwise the same losses


@pytest.mark.parametrize("steps", [0, -1, 2.5])
def test_fit_discriminator_bad_steps(steps):
    disc = Discriminator(in_dim=1)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        fit_discriminator(disc, lambda n: torch.zeros(n, 1), lambda n: torch.ones(n, 1), steps=steps)


@pytest.mark.parametrize("log_every", [0, -5])
def test_fit_discriminator_bad_log_every(log_every):
    # log_every = 0 is meaningless (every step is `step % 0`); it should be rejected with a
    # ValueError like `steps`, not crash with ZeroDivisionError (or, for negatives, log oddly).
    disc = Discriminator(in_dim=1)
    with pytest.raises(ValueError, match="log_every"):
        fit_discriminator(disc, lambda n: torch.zeros(n, 1), lambda n: torch.ones(n, 1), steps=3,
                          log_every=log_every)


# --- the generator's gradient norm -------------------------------------------------------

@pytest.mark.parametrize("loss_name", ["saturating", "nonsaturating"])
@pytest.mark.parametrize("theta, w0, w1, b", [(1.0, 2.0, 0.5, -3.0), (-0.5, -1.5, 1.0, 0.25), (3.0, 4.0, -2.0, 0.0)])
def test_generator_grad_norm_linear_discriminator(loss_name, theta, w0, w1, b):
    gen = ParallelLineGenerator(theta)
    disc = _linear_disc(w0, w1, b)
    n = 512
    got = generator_grad_norm(gen, disc, losses.g_loss(loss_name), n=n, generator=9)
    z = gen.noise(n, generator=9)[:, 0].double()  # the same draws (same seed)
    l = w0 * theta + w1 * z + b  # logit of G_θ(z) = (θ, z)
    # saturating: L = −mean softplus(l), dL/dθ = −mean σ(l) · ∂l/∂θ = −mean σ(l) · w0
    # non-saturating: L = mean softplus(−l), dL/dθ = −mean σ(−l) · w0
    sig = torch.sigmoid(l) if loss_name == "saturating" else torch.sigmoid(-l)
    expected = abs(float(sig.mean()) * w0)  # θ is G's only parameter: the norm is |dL/dθ|
    assert got == pytest.approx(expected, rel=1e-5)  # float32 forward pass
    # no gradients left behind, on G or on D
    assert gen.theta.grad is None
    assert all(p.grad is None for p in disc.parameters())


def test_generator_grad_norm_closed_form_and_saturation():
    # w1 = 0: the logit is the same for every z, l = w0 θ + b = 2·1 − 3 = −1, so no sampling error:
    # saturating |dL/dθ| = σ(−1)·2 = 2/(1 + e) = 0.537883; non-saturating σ(1)·2 = 1.462117
    gen, disc = ParallelLineGenerator(1.0), _linear_disc(2.0, 0.0, -3.0)
    assert generator_grad_norm(gen, disc, losses.g_loss_saturating, n=16) == \
        pytest.approx(2 / (1 + math.e), rel=1e-6)
    assert generator_grad_norm(gen, disc, losses.g_loss_nonsaturating, n=16) == \
        pytest.approx(2 * math.e / (1 + math.e), rel=1e-6)
    # A confident D (b = −12, l = −10): the saturating gradient ≈ 2σ(−10) = 9.08e-5 has vanished,
    # the non-saturating one ≈ 2σ(10) = 1.99991 has not.
    disc = _linear_disc(2.0, 0.0, -12.0)
    assert generator_grad_norm(gen, disc, losses.g_loss_saturating, n=16) == \
        pytest.approx(2 / (1 + math.exp(10)), rel=1e-4)
    assert generator_grad_norm(gen, disc, losses.g_loss_nonsaturating, n=16) == \
        pytest.approx(2 / (1 + math.exp(-10)), rel=1e-6)


def test_generator_grad_norm_mlp_against_central_differences():
    # MLP generator, linear D, non-saturating loss. generator_grad_norm runs in float32; the reference
    # is the central-difference gradient of the same loss on a float64 copy with the same z
    # (h = 1e-6: truncation O(h²) ≈ 1e-12, rounding ≈ 1e-16/h = 1e-10). Float32 rounding of the
    # forward and backward passes (~1e-7 relative per operation) sets the tolerance, 1e-5.
    torch.manual_seed(3)
    gen = Generator(z_dim=2, out_dim=2, hidden=4, depth=1)
    disc = _linear_disc(0.7, -1.3, 0.2)
    got = generator_grad_norm(gen, disc, losses.g_loss_nonsaturating, n=32, generator=4)
    z = gen.noise(32, generator=4).double()  # the same draws
    gen64, disc64 = copy.deepcopy(gen).double(), copy.deepcopy(disc).double()

    def loss_at() -> float:
        with torch.no_grad():
            return float(losses.g_loss_nonsaturating(disc64(gen64(z))))

    sq = 0.0
    h = 1e-6
    for p in gen64.parameters():
        flat = p.data.view(-1)
        for i in range(flat.numel()):
            old = float(flat[i])
            flat[i] = old + h
            up = loss_at()
            flat[i] = old - h
            down = loss_at()
            flat[i] = old
            sq += ((up - down) / (2 * h)) ** 2
    assert got == pytest.approx(math.sqrt(sq), rel=1e-5)


def test_noise_follows_module_dtype():
    # A generator converted with .double() must draw its noise in float64, or its own forward pass
    # fails ("mat1 and mat2 must have the same dtype"), and so does generator_grad_norm.
    gen = Generator(z_dim=2, out_dim=2, hidden=4).double()
    z = gen.noise(8, generator=0)
    assert z.dtype == torch.float64
    disc = _linear_disc(1.0, 1.0, 0.0).double()
    assert math.isfinite(generator_grad_norm(gen, disc, losses.g_loss_nonsaturating, n=8, generator=0))
    pgen = ParallelLineGenerator(0.5).double()
    assert pgen.noise(8, generator=0).dtype == torch.float64
