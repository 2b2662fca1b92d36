"""Chapter 03's building blocks: smoothed optimal discriminator, the generator
objectives, the recipes (learning-rate decay, mode tracking) and the live panel
driven from Python."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import sys
import types

import pytest
import torch

from gan_tutor import divergences as dv
from gan_tutor import plots
from gan_tutor.data import GaussianMixture1D, gaussian_1d, grid25, ring8
from gan_tutor.models import Discriminator, Generator
from gan_tutor.plots import TrainingView, discriminator_field
from gan_tutor.recipes import ImageTracker, LinearDecay, ModeTracker, dcgan_trainer, generate, toy2d_trainer
from gan_tutor.train import VARIANTS, Trainer
from gan_tutor.widgets import TrainingPanel

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- smoothed optimal discriminator and generator objectives ---------------------------

@pytest.mark.parametrize("alpha, beta", [(1.0, 0.0), (0.9, 0.0), (0.9, 0.1), (0.7, 0.3)])
def test_smoothed_optimal_discriminator_maximises_the_smoothed_objective(alpha, beta):
    g = torch.Generator().manual_seed(0)
    p, q = torch.rand(6, generator=g, dtype=torch.float64), torch.rand(6, generator=g, dtype=torch.float64)
    d = dv.optimal_discriminator(p, q, real_label=alpha, fake_label=beta)
    # closed form (α p + β q)/(p + q)
    torch.testing.assert_close(d, (alpha * p + beta * q) / (p + q), rtol=0, atol=1e-15)

    def objective(y):  # p[α log y + (1−α) log(1−y)] + q[β log y + (1−β) log(1−y)]
        return p * (alpha * torch.log(y) + (1 - alpha) * torch.log1p(-y)) + \
            q * (beta * torch.log(y) + (1 - beta) * torch.log1p(-y))

    # D* is a stationary point (derivative 0) and a maximum: any nudge lowers the objective
    y = d.clone().requires_grad_()
    grad, = torch.autograd.grad(objective(y).sum(), y)
    torch.testing.assert_close(grad, torch.zeros_like(grad), rtol=0, atol=1e-10)
    for nudge in (-1e-3, 1e-3):
        assert (objective((d + nudge).clamp(1e-9, 1 - 1e-9)) < objective(d)).all()


def test_one_sided_smoothing_only_scales_d_star():
    p, q = torch.tensor([0.2, 0.5, 0.0, 0.3]), torch.tensor([0.4, 0.1, 0.5, 0.0])
    torch.testing.assert_close(dv.optimal_discriminator(p, q, real_label=0.8),
                               0.8 * dv.optimal_discriminator(p, q), rtol=0, atol=1e-15)
    # two-sided: where only the generator has mass, D* = β (here 0.1), not 0
    assert float(dv.optimal_discriminator(p, q, 0.9, 0.1)[2]) == pytest.approx(0.1, abs=1e-15)


@pytest.mark.parametrize("alpha, beta", [(1.0, 1.0), (0.5, 0.6), (1.2, 0.0), (0.9, -0.1)])
def test_bad_labels_are_rejected(alpha, beta):
    with pytest.raises(ValueError, match="fake_label < real_label"):
        dv.optimal_discriminator([0.5, 0.5], [0.5, 0.5], real_label=alpha, fake_label=beta)


def test_generator_objectives_on_a_table():
    q = torch.tensor([0.25, 0.75], dtype=torch.float64)
    d = torch.tensor([0.5, 0.1], dtype=torch.float64)
    # E_q[log(1 − D)] = 0.25 log 0.5 + 0.75 log 0.9 = −0.17329 − 0.07902
    assert dv.generator_objective("saturating", q, d) == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(0.9),
                                                                       abs=1e-15)
    # E_q[−log D] = 0.25 log 2 + 0.75 log 10
    assert dv.generator_objective("nonsaturating", q, d) == pytest.approx(0.25 * math.log(2) + 0.75 * math.log(10),
                                                                          abs=1e-15)
    with pytest.raises(ValueError, match="saturating, nonsaturating"):
        dv.generator_objective("minimax", q, d)


@pytest.mark.parametrize("mu0, sigma", [(0.7, 0.8), (-1.3, 0.5), (2.5, 1.2)])
def test_nonsaturating_gradient_is_reverse_kl_minus_2js(mu0, sigma):
    """Arjovsky & Bottou 2017, Thm 2.5: with D* frozen at p_G0, ∇ E_{p_G}[−log D*] = ∇[KL(p_G‖p) − 2 JS] at p_G0."""
    x = torch.linspace(-8, 8, 8001, dtype=torch.float64)
    dx = float(x[1] - x[0])
    p = GaussianMixture1D([-2.0, 2.0], [0.4, 0.4]).density(x)
    d0 = dv.optimal_discriminator(p, gaussian_1d(mu0, sigma).density(x))

    def lhs(mu):
        return dv.generator_objective("nonsaturating", gaussian_1d(mu, sigma).density(x), d0, dx)

    def rhs(mu):
        q = gaussian_1d(mu, sigma).density(x)
        return dv.kl(q, p, dx) - 2 * dv.js(p, q, dx)

    h = 1e-4  # central differences: error O(h²) ≈ 1e-8 times the third derivative
    g_lhs = (lhs(mu0 + h) - lhs(mu0 - h)) / (2 * h)
    g_rhs = (rhs(mu0 + h) - rhs(mu0 - h)) / (2 * h)
    assert g_lhs == pytest.approx(g_rhs, abs=1e-5)
    assert abs(g_lhs) > 1e-2  # the identity is not the trivial 0 = 0


# --- recipes ---------------------------------------------------------------------------

def test_linear_decay_schedule():
    trainer = toy2d_trainer(ring8(), hidden=8, depth=1)
    decay = LinearDecay(1e-3, steps=100, floor=0.05)
    for it, expected in [(0, 1e-3), (50, 5e-4), (90, 1e-4), (95, 5e-5), (100, 5e-5), (500, 5e-5)]:
        trainer.iteration = it
        decay(trainer)
        # lr·max(1 − it/steps, floor): 1e-3·0.5 = 5e-4 at 50; floor 0.05 → 5e-5 from step 95 on
        assert trainer.hyper.lr_d == pytest.approx(expected, rel=1e-12)
        assert trainer.hyper.lr_g == trainer.hyper.lr_d
    with pytest.raises(ValueError):
        LinearDecay(1e-3, steps=0)


def test_toy2d_trainer_builds_the_generator_it_is_asked_for():
    t = toy2d_trainer(ring8(), hidden=16, depth=2, g_depth=3, g_hidden=12, g_slope=0.0)
    g_linears = [m for m in t.gen.net if isinstance(m, torch.nn.Linear)]
    d_linears = [m for m in t.disc.net if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in g_linears] == [12, 12, 12, 2]  # g_depth × g_hidden, then x ∈ R²
    assert [m.out_features for m in d_linears] == [16, 16, 1]  # D keeps depth × hidden
    assert sum(isinstance(m, torch.nn.ReLU) for m in t.gen.net) == 3  # g_slope 0: ReLUs
    assert all(m.negative_slope == 0.2 for m in t.disc.net if isinstance(m, torch.nn.LeakyReLU))
    default = toy2d_trainer(ring8(), hidden=16, depth=2)
    assert [m.out_features for m in default.gen.net if isinstance(m, torch.nn.Linear)] == [16, 16, 2]


def test_mode_tracker_scores_every_k_steps_and_leaves_train_mode():
    data = ring8()
    trainer = toy2d_trainer(data, hidden=8, depth=1, batch_size=32)
    tracker = ModeTracker(data, every=5)
    trainer.train(12, callbacks=[tracker], progress=False)
    assert tracker.steps == [5, 10]
    assert all(s.total_modes == 8 and 0 <= s.high_quality <= 1 for s in tracker.stats)
    assert trainer.gen.training
    # scoring uses a fixed z: the same trainer state gives the same numbers
    assert tracker.score(trainer) == tracker.score(trainer)


def test_recipe_is_reproducible():
    a = toy2d_trainer(ring8(), seed=3, hidden=16, depth=2, batch_size=32)
    b = toy2d_trainer(ring8(), seed=3, hidden=16, depth=2, batch_size=32)
    a.train(5, progress=False)
    b.train(5, progress=False)
    assert a.history["d_loss"] == b.history["d_loss"]
    assert all(torch.equal(x, y) for x, y in zip(a.gen.parameters(), b.gen.parameters()))


# --- the view and the panel ------------------------------------------------------------

def test_discriminator_field_matches_the_network_on_the_grid():
    trainer = toy2d_trainer(ring8(), hidden=8, depth=1)
    field = discriminator_field(trainer.disc, ((-1.0, 1.0), (-2.0, 2.0)), n=5)
    assert field.shape == (5, 5)
    # row i is y = −2 + i, column j is x = −1 + j/2 (origin="lower")
    with torch.no_grad():
        corner = torch.sigmoid(trainer.disc(torch.tensor([[1.0, -2.0], [-1.0, 2.0]])))
    torch.testing.assert_close(field[0, 4], corner[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(field[4, 0], corner[1], rtol=0, atol=1e-6)


def test_training_view_blits_and_grows_its_axes():
    view = TrainingView(ring8().sample(64, 0), ((-1.5, 1.5), (-1.5, 1.5)))
    field = torch.rand(8, 8)
    first = view.render(torch.zeros(16, 2), field, {"step": [], "d_loss": [], "g_loss": []})
    assert first.startswith(PNG_MAGIC) and view.full_redraws == 1
    view.render(torch.ones(16, 2), field, {"step": [1, 2], "d_loss": [1.0, 1.1], "g_loss": [0.5, 0.6]})
    assert view.full_redraws == 1  # nothing left the axes: blitted onto the cached background
    view.render(torch.ones(16, 2), field, {"step": list(range(1, 251)), "d_loss": [1.0] * 250,
                                           "g_loss": [5.0] * 250})
    assert view.full_redraws == 2  # step 250 > 100 and loss 5 > 2: the axes grew, background redrawn
    assert view.ax_loss.get_xlim()[1] >= 250 and view.ax_loss.get_ylim()[1] > 5.0


def make_panel(**kw):
    data = ring8()
    return TrainingPanel(toy2d_trainer(data, "gan", hidden=16, depth=2, batch_size=32), data, n_show=64, **kw)


def _count_refreshes(panel) -> list:
    frames, refresh = [], panel.refresh
    panel.refresh = lambda: (frames.append(panel.trainer.iteration), refresh())
    return frames


def test_panel_run_trains_in_chunks_and_redraws_after_each():
    panel = make_panel()
    frames = _count_refreshes(panel)
    panel._chunk = 10  # the chunk length adapts after each chunk; pin the first one
    panel.run(25)
    assert panel.trainer.iteration == 25
    # a redraw after every chunk, the first after 10 steps, the last at the end
    assert frames[0] == 10 and frames[-1] == 25 and frames == sorted(frames) and len(frames) >= 2


@pytest.mark.parametrize("train_s, draw_s, expected", [
    (0.1, 0.009, 6),     # 10 steps in 0.1 s: 0.009 s of drawing / 0.15 = 0.06 s of training = 6 steps
    (0.1, 0.06, 12),     # 0.06 / 0.15 = 0.4 s wanted, capped at 0.18 − 0.06 = 0.12 s = 12 steps
    (0.1, 0.3, 200)])    # a frame alone takes 0.3 s: keep the ratio, 0.3 / 0.15 = 2 s = 200 steps
def test_panel_chunk_keeps_drawing_near_15_percent_and_frames_frequent(train_s, draw_s, expected):
    panel = make_panel()
    panel._adapt(train_s, draw_s, 10)
    assert panel._chunk == expected


def test_panel_chooses_the_foreground_mode_under_colab(monkeypatch):
    assert make_panel().mode == "background"
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    panel = make_panel()
    assert panel.mode == "foreground"
    controls = [w for row in panel.children for w in getattr(row, "children", ())]
    assert panel.steps_per_click in controls and panel.pause_button not in controls  # nothing to pause
    assert make_panel(mode="background").mode == "background"  # an explicit choice wins


@pytest.mark.parametrize("kw, message", [(dict(mode="colab"), "unknown mode 'colab'.*'background', 'foreground'"),
                                         (dict(steps_per_click=0), "steps_per_click must be an integer from 1 to 100000"),
                                         (dict(steps_per_click=100_001), "steps_per_click must be an integer from 1"),
                                         (dict(steps_per_click=True), "steps_per_click must be an integer from 1")])
def test_panel_rejects_bad_modes_and_step_counts(kw, message):
    with pytest.raises(ValueError, match=message):
        make_panel(**kw)


def test_foreground_click_trains_steps_per_click_inside_the_handler():
    panel = make_panel(mode="foreground", steps_per_click=40)
    frames = _count_refreshes(panel)
    seen = []  # the train button's state as the loop runs: disabled while the click trains
    panel.trainer.variant = dataclasses.replace(
        panel.trainer.variant, after_d_step=lambda disc, hp: seen.append(panel.train_button.disabled))
    panel.train_button.click()  # what a click in the browser calls: returns when the steps are done
    assert panel.trainer.iteration == 40 and all(seen) and len(seen) == 40
    assert len(frames) >= 2 and frames[-1] == 40  # redrawn while it trained, not only at the end
    assert not panel.running and not panel.train_button.disabled
    panel.n_critic.value = 2  # a slider moved between clicks reaches the next run
    panel.steps_per_click.value = 5
    panel.train_button.click()
    assert panel.trainer.iteration == 45 and panel.trainer.hyper.n_critic == 2


def test_panel_sliders_reach_the_loop_and_run_trains():
    panel = make_panel()
    before = panel.png
    panel.smoothing.value, panel.n_critic.value, panel.lr.value = 0.2, 3, 1e-4
    hp = panel.trainer.hyper
    assert (hp.label_smoothing, hp.n_critic, hp.lr_d, hp.lr_g) == (0.2, 3, pytest.approx(1e-4), pytest.approx(1e-4))
    panel.run(7)
    assert panel.trainer.iteration == 7 and panel.history["step"] == list(range(1, 8))
    assert panel.png != before and panel.png.startswith(PNG_MAGIC)
    assert "step 7" in panel.status.value
    # the status line reports the loop's own hyperparameters (the browser test reads it)
    assert "ε 0.2 · n_critic 3 · lr 1.0e-04" in panel.status.value
    # the plain GAN has no penalty, clipping or power: those sliders are off and not shown
    shown = [w for row in panel.children for w in getattr(row, "children", ())]
    for name, slider in panel.sliders.items():
        assert slider.disabled == (name not in ("label_smoothing", "n_critic"))
        assert (slider in shown) == (not slider.disabled), name


@pytest.mark.parametrize("variant, knobs", [("wgan_clip", "n_critic 5 · c 0.01"),
                                            ("wgan_gp", "n_critic 5 · γ 10"),
                                            ("wgan_div", "n_critic 5 · γ 2 · p 6")])
def test_panel_shows_the_knobs_of_each_wasserstein_variant(variant, knobs):
    data = ring8()
    panel = TrainingPanel(toy2d_trainer(data, variant, hidden=16, depth=2, batch_size=32), data, n_show=64)
    assert knobs in panel.status.value  # the variant's paper defaults, read back from the loop
    assert panel.smoothing.disabled  # a critic has no labels to smooth
    slider = {"wgan_clip": panel.clip, "wgan_gp": panel.gamma, "wgan_div": panel.power}[variant]
    slider.value = {"wgan_clip": 0.1, "wgan_gp": 5.0, "wgan_div": 3.0}[variant]
    panel.run(2)
    hp = panel.trainer.hyper
    assert (hp.clip, hp.gamma, hp.power) == {"wgan_clip": (pytest.approx(0.1), 0.0, 6.0),
                                              "wgan_gp": (0.01, 5.0, 6.0), "wgan_div": (0.01, 2.0, 3.0)}[variant]
    if variant == "wgan_clip":  # and the loop used it: every critic weight within the new bound
        assert max(float(p.detach().abs().max()) for p in panel.trainer.disc.parameters()) <= 0.1 + 1e-7


def test_panel_reset_returns_to_the_start():
    panel = make_panel()
    start = [p.clone() for p in panel.trainer.gen.parameters()]
    panel.run(5)
    panel.reset()
    assert panel.trainer.iteration == 0 and panel.history["step"] == []
    assert all(torch.equal(a, b) for a, b in zip(start, panel.trainer.gen.parameters()))


def test_panel_trains_in_the_background_until_paused():
    panel = make_panel()

    async def session():
        task = panel.start()
        assert panel.running and panel.train_button.disabled and not panel.pause_button.disabled
        await asyncio.sleep(0.5)
        panel.n_critic.value = 2  # a slider move while training
        await asyncio.sleep(0.3)
        panel.pause()
        await task

    asyncio.run(session())
    steps = panel.trainer.iteration
    assert steps > 0 and not panel.running
    assert not panel.train_button.disabled and panel.pause_button.disabled
    assert panel.trainer.hyper.n_critic == 2


def test_panel_reports_divergence_and_keeps_the_last_good_state():
    panel = make_panel()
    panel.run(3)
    # the slider stops at 1e-2; set the loop's value directly to blow the weights up
    panel.trainer.hyper.lr_d = panel.trainer.hyper.lr_g = 1e30
    panel.run(50)
    assert "diverged" in panel.message and "diverged" in panel.status.value
    params = list(panel.trainer.gen.parameters()) + list(panel.trainer.disc.parameters())
    assert all(torch.isfinite(p).all() for p in params)


def test_panel_accepts_hyper_defaults():
    data = ring8()
    trainer = toy2d_trainer(data, hidden=8, depth=1, label_smoothing=0.1, n_critic=4)
    panel = TrainingPanel(trainer, data, n_show=16)
    assert panel.smoothing.value == pytest.approx(0.1) and panel.n_critic.value == 4


def test_trainer_explains_a_one_argument_sampler():
    data = ring8()
    with pytest.raises(ValueError, match=r"\(n, generator\).*lambda n, g"):
        Trainer(Generator(2, 2, 8, 1), Discriminator(2, 8, 1), lambda n: data.sample(n))


def test_recipe_generator_depth_can_differ_from_the_discriminator():
    trainer = toy2d_trainer(ring8(), hidden=8, depth=2, g_depth=4)
    linear = torch.nn.Linear
    # depth hidden layers + the output layer
    assert sum(isinstance(m, linear) for m in trainer.gen.modules()) == 4 + 1
    assert sum(isinstance(m, linear) for m in trainer.disc.modules()) == 2 + 1


def test_image_grid_tiles_and_rescales():
    images = torch.full((36, 1, 16, 16), -1.0)
    images[0] = 1.0
    grid = plots.image_grid(images, nrow=6, padding=1)
    # 6 tiles of 16 px and 7 one-pixel borders each way, RGB
    assert grid.shape == (6 * 16 + 7, 6 * 16 + 7, 3)
    assert grid[1:17, 1:17].min() == 1.0          # x = 1 maps to white
    assert grid[1:17, 18:34].max() == 0.0         # x = -1 maps to black (second tile)
    assert grid[0].min() == 1.0                   # the border is white
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        plots.image_grid(torch.zeros(4, 16, 16))


def test_plot_images_and_fd_curve_draw_what_they_are_given():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2)
    images = torch.linspace(-1, 1, 4 * 16 * 16).reshape(4, 1, 16, 16)
    assert plots.plot_images(images, ax=ax0, nrow=2, title="samples") is ax0
    # the picture is image_grid's array, and there are no axes
    assert (ax0.images[0].get_array() == plots.image_grid(images, nrow=2)).all() and not ax0.axison
    assert plots.plot_fd_curve([10, 20], [30.0, 12.0], 3.5, ax=ax1, label="run", reference={"ch 04": 5.95}) is ax1
    (curve,) = ax1.get_lines()[:1]
    assert list(curve.get_xdata()) == [10, 20] and list(curve.get_ydata()) == [30.0, 12.0]
    levels = sorted(line.get_ydata()[0] for line in ax1.get_lines()[1:])
    assert levels == [3.5, 5.95]  # the floor and the reference, as horizontal lines
    assert ax1.get_yscale() == "log"
    assert [t.get_text() for t in ax1.get_legend().get_texts()] == ["run", "ch 04", "floor (held-out real)"]
    plt.close(fig)


class _Noise:
    """Stand-in image data: uniform noise in [-1, 1], 1×16×16."""
    size, channels = 16, 1

    def sample(self, n, generator=None, device="cpu"):
        return torch.rand(n, 1, 16, 16, generator=generator, device=device) * 2 - 1


def test_panel_on_images_shows_a_grid_and_trains():
    panel = TrainingPanel(dcgan_trainer(_Noise(), width=8, z_dim=8, batch_size=16), n_show=16)
    assert isinstance(panel.view, plots.ImageTrainingView) and panel.view.nrow == 4
    before = panel.png
    panel.n_critic.value = 2
    panel.run(3)
    assert panel.trainer.iteration == 3 and panel.png != before and panel.png.startswith(PNG_MAGIC)
    assert "step 3" in panel.status.value and "n_critic 2" in panel.status.value
    assert "modes" not in panel.status.value  # mode counts belong to the 2-D mixtures


def test_panel_rejects_data_it_cannot_draw():
    with pytest.raises(ValueError, match="GaussianMixture2D"):
        TrainingPanel(dcgan_trainer(_Noise(), width=8, z_dim=8), data=_Noise())


def test_dcgan_trainer_draws_instance_noise_from_its_own_generator_and_resumes_exactly():
    t = dcgan_trainer(_Noise(), width=8, z_dim=8, batch_size=8, input_noise=0.3)
    assert t.disc.input_noise.sigma == 0.3 and t.disc.input_noise.generator is t.rng
    t.train(2, progress=False)
    saved = t.state_dict()
    t.train(3, progress=False)
    after = [p.detach().clone() for p in t.disc.parameters()]
    t.load_state_dict(saved)
    t.train(3, progress=False)
    # the noise is part of the seeded, checkpointed stream: the resumed run repeats bit for bit
    assert all(torch.equal(a, b) for a, b in zip(after, t.disc.parameters()))


def test_dcgan_trainer_passes_the_generators_batch_on():
    # G's loss is a mean over g_batch_size fakes; D's batch stays batch_size (a spy on the generator's
    # noise records every batch it draws: the critic step's, then the generator step's)
    t = dcgan_trainer(_Noise(), width=8, z_dim=8, batch_size=8, g_batch_size=12)
    assert (t.batch_size, t.g_batch_size) == (8, 12)
    drawn, noise = [], t.gen.noise
    t.gen.noise = lambda n, g=None: drawn.append(n) or noise(n, g)
    t.step()
    assert drawn == [8, 12]
    assert dcgan_trainer(_Noise(), width=8, z_dim=8, batch_size=8).g_batch_size == 8
    with pytest.raises(ValueError, match="g_batch_size must be a positive integer, got 0"):
        dcgan_trainer(_Noise(), width=8, z_dim=8, g_batch_size=0)


def test_dcgan_trainer_averages_the_generators_batch_norm_statistics_too():
    # with g_ema the DCGAN's generator (batch norm) gets an average whose buffers (running mean and
    # variance) are averaged as well: after one step the average is a copy of gen, buffers included
    # (the first update copies); after the second, θ̄ = β_1 θ_1 + (1 − β_1) θ_2 for buffers as for
    # weights, with the warm-up's β_1 = min(0.75, 2/11) = 2/11; the integer step counter is copied
    t = dcgan_trainer(_Noise(), width=8, z_dim=8, batch_size=8, g_ema=0.75)
    assert t.g_ema == 0.75 and toy2d_trainer(ring8(), "wgan_gp", g_ema=0.5).g_ema == 0.5
    t.train(1, progress=False)
    first = {k: v.clone() for k, v in t.gen.state_dict().items()}
    assert all(torch.equal(first[k], v) for k, v in t.gen_ema.state_dict().items())
    t.train(1, progress=False)
    now = t.gen.state_dict()
    running = [k for k in first if k.endswith("running_mean")]
    assert running and not torch.equal(first[running[0]], now[running[0]])  # the step moved the statistics
    for k, v in t.gen_ema.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(v, 2 / 11 * first[k] + 9 / 11 * now[k])
        else:
            assert torch.equal(v, now[k]), k


def test_generate_is_repeatable_and_restores_the_mode():
    t = dcgan_trainer(_Noise(), width=8, z_dim=8)
    t.gen.train()
    a, b = generate(t.gen, 10, seed=3), generate(t.gen, 10, seed=3)
    assert a.shape == (10, 1, 16, 16) and torch.equal(a, b) and t.gen.training
    assert not torch.equal(a, generate(t.gen, 10, seed=4))


def test_image_tracker_scores_every_few_steps_with_n_images():
    seen = []

    class Scorer:  # records what it is asked to score; FD = mean pixel, score = 1
        def fd(self, images):
            seen.append(images.shape)
            return float(images.mean())

        def score(self, images):
            return 1.0

    tracker = ImageTracker(Scorer(), n=12, every=2)
    dcgan_trainer(_Noise(), width=8, z_dim=8, batch_size=8).train(5, callbacks=[tracker], progress=False)
    assert tracker.steps == [2, 4] and seen == [(12, 1, 16, 16)] * 2 and tracker.score == [1.0, 1.0]


def test_recipes_start_from_the_variants_own_defaults():
    from gan_tutor import losses
    from gan_tutor.train import Hyper, Variant

    # a variant whose paper trains D five times per G step and penalises with γ = 10
    v = Variant("five", losses.d_loss_bce, lambda d_real, d_fake: losses.g_loss_nonsaturating(d_fake), defaults=Hyper(n_critic=5, gamma=10.0))
    t = toy2d_trainer(ring8(), v, hidden=8, depth=1)
    assert (t.hyper.n_critic, t.hyper.gamma, t.hyper.lr_d) == (5, 10.0, 1e-3)  # lr: the recipe's
    t = toy2d_trainer(ring8(), v, hidden=8, depth=1, n_critic=2)
    assert t.hyper.n_critic == 2 and t.hyper.gamma == 10.0  # a keyword overrides only its field
    assert v.defaults.n_critic == 5  # the registered defaults are not modified


def test_betas_replace_adams_for_one_trainer_and_leave_the_registered_variant_alone():
    paper = VARIANTS["wgan_div"].optimizer_kwargs["betas"]  # Wu et al.'s (0.5, 0.999)
    t = toy2d_trainer(ring8(), "wgan_div", hidden=8, depth=1, betas=(0, 0.9))
    assert [g["betas"] for opt in (t.opt_d, t.opt_g) for g in opt.param_groups] == [(0.0, 0.9), (0.0, 0.9)]
    assert t.variant.grad_penalty is VARIANTS["wgan_div"].grad_penalty is not None and t.variant.knobs == VARIANTS["wgan_div"].knobs
    assert VARIANTS["wgan_div"].optimizer_kwargs["betas"] == paper == (0.5, 0.999)
    assert toy2d_trainer(ring8(), "wgan_div", hidden=8, depth=1).opt_d.param_groups[0]["betas"] == paper
    with pytest.raises(ValueError, match="betas are Adam's settings; WGAN \\(weight clipping\\) trains with rmsprop "
                                         "\\(the Adam variants: gan_saturating, gan, gan_fm, wgan_gp, wgan_div, gan_qp\\)"):
        toy2d_trainer(ring8(), "wgan_clip", hidden=8, depth=1, betas=(0, 0.9))
    for bad in [(0.5,), (0.0, 1.0), (-0.1, 0.9), ("0", 0.9), (False, 0.9), 0.9, "ab"]:
        with pytest.raises(ValueError, match=r"betas must be two numbers \(β1, β2\) in \[0, 1\)"):
            toy2d_trainer(ring8(), "wgan_div", hidden=8, depth=1, betas=bad)
    # the image recipe takes them the same way (chapter 07's digits run)
    t = dcgan_trainer(_Noise(), "wgan_div", width=8, z_dim=8, d_norm="layer", betas=(0, 0.9))
    assert [g["betas"] for opt in (t.opt_d, t.opt_g) for g in opt.param_groups] == [(0.0, 0.9), (0.0, 0.9)]
    assert dcgan_trainer(_Noise(), "wgan_div", width=8, z_dim=8, d_norm="layer").opt_g.param_groups[0]["betas"] == paper
    with pytest.raises(ValueError, match="betas are Adam's settings; WGAN \\(weight clipping\\) trains with rmsprop"):
        dcgan_trainer(_Noise(), "wgan_clip", width=8, z_dim=8, d_norm="layer", betas=(0, 0.9))


def test_every_registered_variant_has_a_toy_recipe_that_builds():
    from gan_tutor.recipes import TOY2D

    assert set(TOY2D) == set(VARIANTS)  # benchmarks/toy2d.py runs every variant with its recipe
    for name, kw in TOY2D.items():
        trainer = toy2d_trainer(ring8(), name, hidden=8, depth=1, **{k: v for k, v in kw.items() if k != "hidden"})
        assert trainer.hyper.lr_d == kw["lr"] and trainer.batch_size == kw["batch_size"]
        for knob, value in kw.items():  # a Hyper field in the recipe reaches the loop
            if hasattr(trainer.hyper, knob):
                assert getattr(trainer.hyper, knob) == value, (name, knob)


def test_the_wgan_recipes_score_an_averaged_generator_and_the_others_do_not():
    from gan_tutor.recipes import TOY2D, toy2d_recipe

    # WGAN-GP and WGAN-div keep a moving average of G (β = 0.999) on both mixtures; what the README and
    # chapters 06–07 quote is scored on it. The other recipes score the last generator.
    for mixture in ("ring8", "grid25"):
        for name in TOY2D:
            kw = toy2d_recipe(name, mixture)
            trainer = toy2d_trainer(ring8(), name, hidden=8, depth=1,
                                    **{k: v for k, v in kw.items() if k not in ("hidden", "depth")})
            if name in ("wgan_gp", "wgan_div"):
                assert kw["g_ema"] == trainer.g_ema == 0.999
                assert trainer.eval_gen is trainer.gen_ema is not None
            else:
                assert "g_ema" not in kw and trainer.eval_gen is trainer.gen


def test_the_grids_recipes_change_what_they_say_and_reach_the_loop():
    from gan_tutor.recipes import TOY2D, TOY2D_GRID25, toy2d_recipe

    # the settings the README's benchmark and chapters 06–07 quote for the grid
    assert TOY2D_GRID25 == {"wgan_gp": {"batch_size": 128, "lr": 3e-3},
                            "wgan_div": {"batch_size": 256, "lr": 3e-3}}
    # on the grid the two differ in their penalty (WGAN-GP's γ) and their batch only;
    # WGAN-div is given WGAN-GP's own betas on both mixtures (the variant keeps its paper's)
    gp, div = toy2d_recipe("wgan_gp", "grid25"), toy2d_recipe("wgan_div", "grid25")
    assert (gp["batch_size"], div["batch_size"]) == (128, 256)
    assert {k: v for k, v in gp.items() if k not in ("gamma", "batch_size")} == \
        {k: v for k, v in div.items() if k not in ("betas", "batch_size")}
    for mixture in ("ring8", "grid25"):
        assert toy2d_recipe("wgan_div", mixture)["betas"] == VARIANTS["wgan_gp"].optimizer_kwargs["betas"] == (0.0, 0.9)
    assert VARIANTS["wgan_div"].optimizer_kwargs["betas"] == (0.5, 0.999)
    for name in TOY2D:
        assert toy2d_recipe(name, ring8()) == TOY2D[name]  # the ring: the recipe itself
        assert toy2d_recipe(name, "ring8") == TOY2D[name]
    for name, change in TOY2D_GRID25.items():
        kw = toy2d_recipe(name, grid25())
        assert toy2d_recipe(name, "grid25") == kw
        for knob, value in change.items():  # each change is one, and lands in the grid's recipe
            before = VARIANTS[name].optimizer_kwargs[knob] if knob == "betas" else getattr(VARIANTS[name].defaults, knob, None)
            assert kw[knob] == value != TOY2D[name].get(knob, before), knob
        assert {k: v for k, v in kw.items() if k not in change} == {k: v for k, v in TOY2D[name].items() if k not in change}
        kw["lr"] = 123.0  # a copy: editing it leaves the shared recipe alone
        assert TOY2D[name]["lr"] != 123.0 and toy2d_recipe(name, "grid25")["lr"] != 123.0
        kw = toy2d_recipe(name, "grid25")
        trainer = toy2d_trainer(grid25(), name, hidden=8, depth=1, **{k: v for k, v in kw.items() if k != "hidden"})
        assert trainer.batch_size == kw["batch_size"] and trainer.hyper.lr_d == trainer.hyper.lr_g == kw["lr"]
        assert trainer.g_batch_size == kw.get("g_batch_size", kw["batch_size"])  # G's batch: the recipe's, or D's
        for knob, value in kw.items():  # every Hyper field in it reaches the loop, and Adam's betas its optimisers
            if hasattr(trainer.hyper, knob):
                assert getattr(trainer.hyper, knob) == value, (name, knob)
        betas = kw.get("betas", VARIANTS[name].optimizer_kwargs["betas"])
        assert trainer.opt_d.param_groups[0]["betas"] == trainer.opt_g.param_groups[0]["betas"] == betas
    with pytest.raises(ValueError, match="no toy recipe for 'wgan_pg'.*wgan_gp"):
        toy2d_recipe("wgan_pg", "grid25")
    with pytest.raises(ValueError, match="unknown mixture 'grid'.*'ring8' and 'grid25'"):
        toy2d_recipe("wgan_gp", "grid")
    # the one table of mixtures those names come from: each factory's mixture carries its own key as its name
    # (toy2d_recipe tells a GaussianMixture2D's mixture by that name)
    from gan_tutor.data import MIXTURES
    assert list(MIXTURES) == ["ring8", "grid25"] and all(make().name == key for key, make in MIXTURES.items())


def test_digits_setup_is_the_chapters_set_up_in_one_call():
    from gan_tutor.data import load_images
    from gan_tutor.metrics import ImageScorer, digit_classifier
    from gan_tutor.recipes import digits_setup

    train, heldout, scorer, floor = digits_setup(8)
    # the same steps by hand (chapter 04's cells): the same splits, the same reference, the same floor
    by_hand_train, by_hand_heldout = load_images("digits", 8), load_images("digits", 8, train=False)
    assert torch.equal(train.images, by_hand_train.images) and torch.equal(heldout.images, by_hand_heldout.images)
    by_hand = ImageScorer(digit_classifier(8), by_hand_train.images)
    assert floor == by_hand.floor(by_hand_heldout.images)
    # the scorer's reference is the training split: its FD to itself is 0 up to rounding, a thousandth of the
    # floor at most. Had the reference been the held-out split, the floor would be that ≈ 0 and FD(train) the
    # larger one, and this would fail.
    assert abs(scorer.fd(train.images)) < 1e-3 * floor
