"""Tests for gan_tutor.diagnostics and the critic plots (plots.plot_critic, plots.plot_histogram).

Expected numbers are derived in the comments: the layer gradients of a linear
network by the chain rule, and W1 of a translated sample set by Jensen's inequality.
"""

import copy
import math
from types import SimpleNamespace

import pytest
import torch
from matplotlib.contour import ContourSet
from matplotlib.quiver import Quiver
from torch import nn

from gan_tutor import plots
from gan_tutor.data import ring8
from gan_tutor.diagnostics import W1Tracker, critic_layer_grad_norms
from gan_tutor.divergences import w1_samples
from gan_tutor.losses import d_loss_wasserstein
from gan_tutor.models import Discriminator
from gan_tutor.recipes import generate, toy2d_trainer


def _no_grads(module: nn.Module) -> bool:
    return all(p.grad is None for p in module.parameters())


# --- critic_layer_grad_norms ------------------------------------------------------------

def _two_layer(W1, b1, w2, b2) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(W1.shape[1], W1.shape[0]), nn.Linear(W1.shape[0], 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(W1)
        net[0].bias.copy_(b1)
        net[1].weight.copy_(w2)
        net[1].bias.copy_(b2)
    return net


def test_layer_grad_norms_of_a_two_layer_linear_network_by_hand():
    # f(x) = w2 (W1 x + b1) + b2, L = mean_j f(fake_j) − mean_i f(real_i) = w2 W1 Δ  (biases cancel),
    # Δ = x̄_fake − x̄_real. Chain rule:
    #   ∂L/∂W1 = w2ᵀ Δᵀ (rank one, h×d):  ‖·‖_F = ‖w2‖ ‖Δ‖
    #   ∂L/∂w2 = (W1 Δ)ᵀ:                 ‖·‖   = ‖W1 Δ‖
    # With Δ = (3, 4), w2 = (1, 2, 2), W1 = [[1, 0], [0, 1], [1, 1]]:
    #   ‖∂L/∂W1‖ = 3 · 5 = 15,  W1 Δ = (3, 4, 7), ‖∂L/∂w2‖ = √(9 + 16 + 49) = √74 ≈ 8.602.
    W1 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    w2 = torch.tensor([[1.0, 2.0, 2.0]], dtype=torch.float64)
    b1, b2 = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64), torch.tensor([0.3], dtype=torch.float64)
    net = _two_layer(W1, b1, w2, b2)
    real = torch.tensor([[1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)  # mean (0, 0)
    fake = torch.tensor([[2.0, 4.0], [4.0, 4.0]], dtype=torch.float64)  # mean (3, 4)
    norms = critic_layer_grad_norms(net, real, fake)
    assert isinstance(norms, list) and all(isinstance(v, float) for v in norms)
    torch.testing.assert_close(torch.tensor(norms, dtype=torch.float64),
                               torch.tensor([15.0, math.sqrt(74.0)], dtype=torch.float64))  # input → output
    assert _no_grads(net)


def test_layer_grad_norms_closed_form_random_network():
    # The same closed form, ‖w2‖‖Δ‖ and ‖W1 Δ‖, for random weights and batches of unequal size.
    g = torch.Generator().manual_seed(0)
    W1, b1 = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)
    w2, b2 = torch.randn(1, 5, generator=g, dtype=torch.float64), torch.randn(1, generator=g, dtype=torch.float64)
    real = torch.randn(7, 3, generator=g, dtype=torch.float64)
    fake = torch.randn(11, 3, generator=g, dtype=torch.float64) + 2.0
    delta = fake.mean(0) - real.mean(0)  # Δ = x̄_g − x̄_r
    expected = torch.stack([w2.norm() * delta.norm(), (W1 @ delta).norm()])
    got = torch.tensor(critic_layer_grad_norms(_two_layer(W1, b1, w2, b2), real, fake), dtype=torch.float64)
    torch.testing.assert_close(got, expected)


def test_layer_grad_norms_count_conv_layers_in_order_and_match_backward():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.LeakyReLU(0.2),  # (N, 2, 4, 4)
                           nn.ConvTranspose2d(2, 3, 2, stride=2), nn.LeakyReLU(0.2),  # (N, 3, 8, 8)
                           nn.Flatten(), nn.Linear(3 * 8 * 8, 1))  # (N, 1)
    real, fake = torch.randn(6, 1, 4, 4), torch.randn(6, 1, 4, 4) + 1.0
    norms = critic_layer_grad_norms(critic, real, fake)
    assert len(norms) == 3  # Conv2d, ConvTranspose2d, Linear; biases not counted
    assert _no_grads(critic)
    # reference: an ordinary backward on a copy, then each weight's .grad norm in module order
    ref = copy.deepcopy(critic)
    d_loss_wasserstein(ref(real), ref(fake)).backward()
    expected = [ref[0].weight.grad.norm(), ref[2].weight.grad.norm(), ref[5].weight.grad.norm()]
    torch.testing.assert_close(torch.tensor(norms), torch.stack(expected))


def test_layer_grad_norms_need_a_weighted_layer():
    with pytest.raises(ValueError, match="no nn.Linear"):
        critic_layer_grad_norms(nn.Flatten(0), torch.zeros(2, 1), torch.zeros(2, 1))


# --- W1Tracker on a real trainer -------------------------------------------------------

def _trainer():
    return toy2d_trainer(ring8(), "wgan_gp", hidden=16, depth=1, batch_size=32)


def test_tracker_records_every_k_iterations():
    data, trainer = ring8(), _trainer()
    tracker = W1Tracker(lambda n, g: data.sample(n, g), n=64, every=2)
    trainer.train(5, [tracker])
    assert tracker.steps == [2, 4]  # iterations 1..5, recorded where iteration % 2 == 0
    for values in (tracker.exact, tracker.estimate, tracker.seconds):
        assert len(values) == 2 and all(isinstance(v, float) and math.isfinite(v) for v in values)
    assert all(v > 0 for v in tracker.exact) and all(s > 0 for s in tracker.seconds)


@pytest.mark.parametrize("gen_training, disc_training", [(True, False), (False, True)])
def test_tracker_matches_an_independent_recomputation(gen_training, disc_training):
    data, trainer = ring8(), _trainer()
    n, seed = 64, 7
    tracker = W1Tracker(lambda n, g: data.sample(n, g), n=n, every=1, seed=seed)
    real0 = tracker.real.clone()
    # the fixed real samples: the sampler with a torch.Generator seeded with `seed`
    torch.testing.assert_close(real0, data.sample(n, torch.Generator().manual_seed(seed)), rtol=0, atol=0)
    trainer.train(3, [tracker])
    trainer.gen.train(gen_training)
    trainer.disc.train(disc_training)
    grads = [p.grad.clone() for p in trainer.disc.parameters()]  # the last critic step's
    exact, estimate = tracker.record(trainer)
    for p, g in zip(trainer.disc.parameters(), grads):
        torch.testing.assert_close(p.grad, g, rtol=0, atol=0)  # recording touches no gradient
    assert (trainer.gen.training, trainer.disc.training) == (gen_training, disc_training)  # modes restored
    assert tracker.steps == [1, 2, 3, 3] and (tracker.exact[-1], tracker.estimate[-1]) == (exact, estimate)
    torch.testing.assert_close(tracker.real, real0, rtol=0, atol=0)  # unchanged between records
    fake = generate(trainer.gen, n, seed)  # the fixed z, eval mode
    assert exact == pytest.approx(w1_samples(fake, real0), rel=1e-12, abs=1e-12)
    trainer.disc.eval()
    with torch.no_grad():
        expected = trainer.disc(real0).mean() - trainer.disc(fake).mean()  # E_r f − E_g f
    assert estimate == pytest.approx(float(expected), rel=1e-6, abs=1e-7)


# --- W1Tracker, closed form: a translated copy of the data --------------------------------

class ShiftGenerator(nn.Module):
    """G(z) = z + c with 'noise' = the fixed real samples themselves: P_g = P_r shifted by c."""

    def __init__(self, base: torch.Tensor, c: torch.Tensor):
        super().__init__()
        self.register_buffer("base", base)
        self.c = nn.Parameter(c)

    def noise(self, n, generator=None):
        return self.base[:n].clone()

    def forward(self, z):
        return z + self.c


@pytest.mark.parametrize("shape, c", [
    ((2,), torch.tensor([0.3, -0.4], dtype=torch.float64)),  # ‖c‖ = √(0.09 + 0.16) = 0.5
    ((1, 4, 4), torch.full((1, 4, 4), 0.25, dtype=torch.float64)),  # ‖c‖ = 0.25 · √16 = 1.0
])
def test_tracker_w1_of_a_translation_is_the_shift(shape, c):
    # W1(P, P + c) = ‖c‖: Jensen gives E‖X − Y‖ ≥ ‖E[X − Y]‖ = ‖c‖ for every coupling, and the
    # identity coupling (x ↦ x + c) attains it. The critic f(x) = −ĉ·x (ĉ = c/‖c‖, 1-Lipschitz)
    # scores real high and reaches it too: E_r f − E_g f = −ĉ·(x̄ − x̄ − c) = ĉ·c = ‖c‖.
    n = 50
    base = torch.randn((n, *shape), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    norm_c = float(c.norm())
    critic = nn.Sequential(nn.Flatten(), nn.Linear(c.numel(), 1, bias=False)).double()
    with torch.no_grad():
        critic[1].weight.copy_(-c.reshape(1, -1) / norm_c)  # w = −ĉ
    trainer = SimpleNamespace(gen=ShiftGenerator(base, c), disc=critic, iteration=10)
    tracker = W1Tracker(lambda n, g: base[:n], n=n, every=5)
    tracker(trainer)
    assert tracker.steps == [10]
    assert tracker.exact[0] == pytest.approx(norm_c, rel=1e-9)
    assert tracker.estimate[0] == pytest.approx(norm_c, rel=1e-9)


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"every": 0}, {"n": 2.5}])
def test_tracker_rejects_bad_counts(kwargs):
    with pytest.raises(ValueError, match="must be a positive integer"):
        W1Tracker(lambda n, g: torch.zeros(n, 2), **kwargs)


def test_tracker_names_the_sampler_signature_it_needs():
    # fit_discriminator's samplers take n only; the tracker's, like the trainer's, take (n, generator)
    with pytest.raises(ValueError, match=r"sample_real must take two arguments, \(n, generator\), .* for W1Tracker"):
        W1Tracker(lambda n: torch.zeros(n, 2))


# --- plots --------------------------------------------------------------------------------

@pytest.mark.parametrize("training", [True, False])
def test_plot_critic_draws_contours_arrows_and_points(training):
    torch.manual_seed(0)
    critic = Discriminator(2, 8, 1).train(training)
    fig = plots.offscreen_figure(figsize=(4, 4))
    ax = fig.add_subplot()
    points = {"data": torch.randn(20, 2), "generator": torch.randn(20, 2) + 1}
    assert plots.plot_critic(critic, ((-2, 2), (-2, 2)), ax=ax, points=points, grid=20, arrows=5, title="f") is ax
    fig.canvas.draw()  # renders (mathtext in the key included)
    assert any(isinstance(a, ContourSet) for a in ax.collections)
    assert any(isinstance(a, Quiver) for a in ax.collections)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["data", "generator"]
    assert critic.training == training and _no_grads(critic)


def test_plot_critic_arrows_have_true_length():
    # A linear critic f(x) = w·x has ∇f = w everywhere: every arrow is (0.6, 0.8), norm 1,
    # drawn 0.8 of the arrow spacing long: spacing = 4 / (5 − 1) = 1, so scale = 1/0.8 per data unit.
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.6, 0.8]]))
    ax = plots.plot_critic(critic, ((-2, 2), (-2, 2)), ax=plots.offscreen_figure().add_subplot(), grid=10, arrows=5)
    (q,) = [a for a in ax.collections if isinstance(a, Quiver)]
    torch.testing.assert_close(torch.as_tensor(q.U, dtype=torch.float32), torch.full((25,), 0.6))
    torch.testing.assert_close(torch.as_tensor(q.V, dtype=torch.float32), torch.full((25,), 0.8))
    assert q.scale == pytest.approx(1 / 0.8) and q.scale_units == "xy"


def test_plot_histogram_draws_steps_and_the_mark():
    ax = plots.offscreen_figure().add_subplot()
    values = {"WGAN-GP": torch.randn(200) * 0.1 + 1.0, "clipping": [0.01, 0.02, 0.03]}
    assert plots.plot_histogram(values, ax=ax, bins=10, xlabel="‖∇f‖", mark=1.0) is ax
    assert len(ax.patches) == 2  # one step outline per entry
    marks = [line for line in ax.get_lines() if list(line.get_xdata()) == [1.0, 1.0]]
    assert len(marks) == 1 and marks[0].get_linestyle() == "--"
    assert ax.get_xlabel() == "‖∇f‖"
