"""Interactive explorers and the live training panel: ipywidgets glue only, no math.

Core widgets only (sliders, HTML, Image), which render the same in JupyterLab
and Colab with ipywidgets 7.7 and 8. Figures are drawn off-screen with Agg and
shown as PNG in an ``Image`` widget; every update runs in the kernel's own
thread, in the slider's callback.

Each explorer is a ``VBox``: display it (last expression of a cell) to use it,
or drive it from Python: set ``explorer.<slider>.value``, then read
``explorer.values`` (the numbers shown) and ``explorer.png`` (the image).
"""

from __future__ import annotations

import asyncio
import math
import sys
import time

import ipywidgets as W
import numpy as np
import torch

from . import divergences as dv
from . import plots
from .data import GaussianMixture1D, GaussianMixture2D, ParallelLine, gaussian_1d
from .metrics import mode_stats
from .recipes import sample_from
from .train import Trainer, TrainingDiverged

__all__ = ["MinimaxExplorer", "ParallelLinesExplorer", "TrainingPanel", "in_colab"]


def in_colab() -> bool:
    """True inside a Google Colab kernel (it imports ``google.colab`` at start-up)."""
    return "google.colab" in sys.modules


def _slider(description: str, value: float, lo: float, hi: float, step: float) -> W.FloatSlider:
    return W.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                         continuous_update=False, readout_format=".2f",
                         style={"description_width": "initial"}, layout=W.Layout(width="340px"))


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><td style='padding:2px 10px'>{k}</td>"
                    f"<td style='padding:2px 10px;text-align:right;font-family:monospace'>{v}</td></tr>"
                    for k, v in rows)
    return f"<table>{cells}</table>"


def _fmt(v: float) -> str:
    return "∞" if math.isinf(v) else f"{v:.4f}"


class _Explorer(W.VBox):
    """Sliders on top, the picture and the numbers below; redraws on every change."""

    def __init__(self, sliders: list[W.FloatSlider]):
        self.image = W.Image(format="png")
        self.numbers = W.HTML()
        self.values: dict[str, float] = {}
        super().__init__([W.HBox(sliders), W.HBox([self.image, self.numbers])])
        for s in sliders:
            s.observe(lambda _change: self.update(), names="value")
        self.update()

    @property
    def png(self) -> bytes:
        """The PNG currently shown."""
        return bytes(self.image.value)

    def update(self) -> None:
        fig = plots.offscreen_figure(figsize=(6.4, 3.4))
        self.values = self.draw(fig)
        self.image.value = plots.to_png(fig)
        self.numbers.value = _table([(k, _fmt(v)) for k, v in self.values.items()])

    def draw(self, fig) -> dict[str, float]:  # pragma: no cover - overridden
        raise NotImplementedError


class MinimaxExplorer(_Explorer):
    r"""Chapter 01: move the generator :math:`p_G = \mathcal N(\mu, \sigma^2)` and watch
    :math:`D^*`, :math:`V(D^*, G)` and JS; at :math:`p_G = p_\text{data}`, D* = 1/2 and V = −log 4."""

    def __init__(self, p_data: GaussianMixture1D | None = None, mean: float = 1.5, std: float = 0.6,
                 grid=(-8.0, 8.0, 4001)):
        self.p_data = p_data if p_data is not None else gaussian_1d(0.0, 1.0)
        self.x = torch.linspace(*grid, dtype=torch.float64)
        self.dx = float(self.x[1] - self.x[0])
        self.mean = _slider("generator mean μ", mean, -3.0, 3.0, 0.05)
        self.std = _slider("generator std σ", std, 0.2, 2.5, 0.05)
        super().__init__([self.mean, self.std])

    def draw(self, fig) -> dict[str, float]:
        p = self.p_data.density(self.x)
        q = gaussian_1d(self.mean.value, self.std.value).density(self.x)
        d_star = dv.optimal_discriminator(p, q)
        js = dv.js(p, q, self.dx)
        plots.plot_discriminator(self.x, d_star, p_data=p, p_g=q, ax=fig.add_subplot(),
                                 title=f"p_G = N({self.mean.value:.2f}, {self.std.value:.2f}²)")
        fig.axes[0].set_xlim(-5, 5)
        fig.tight_layout()
        return {"JS(p_data, p_G)": js, "V(D*, G)": dv.value_at_optimum(p, q, self.dx),
                "−log 4 + 2·JS": -math.log(4) + 2 * js}


class ParallelLinesExplorer(_Explorer):
    r"""Chapter 02: the lines :math:`P_0` and :math:`P_\theta`, with instance noise σ.

    Left, the samples; right, KL, JS, TV and W1 as functions of θ at this σ,
    with the current θ marked."""

    def __init__(self, theta: float = 0.5, sigma: float = 0.0, n: int = 300, seed: int = 0):
        self.theta = _slider("θ (position of P_θ)", theta, -2.0, 2.0, 0.05)
        self.sigma = _slider("instance noise σ", sigma, 0.0, 1.0, 0.01)
        self.n, self.seed = n, seed
        self.thetas = np.linspace(-2.0, 2.0, 81)
        super().__init__([self.theta, self.sigma])

    def draw(self, fig) -> dict[str, float]:
        theta, sigma = self.theta.value, self.sigma.value
        # The same draws for every position: only θ and σ move the points.
        p0 = ParallelLine(0.0).sample(self.n, generator=self.seed, noise=sigma)
        pt = ParallelLine(theta).sample(self.n, generator=self.seed + 1, noise=sigma)
        left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
        plots.plot_points({r"$P_0$": p0, r"$P_\theta$": pt}, ax=left, lim=((-2.6, 2.6), (-1.2, 2.2)),
                          title=f"θ = {theta:.2f}, σ = {sigma:.2f}")
        curves = [dv.parallel_lines(t, sigma) for t in self.thetas]
        plots.plot_lines(self.thetas, {name.upper(): [min(c[name], 3.0) for c in curves] for name in ("kl", "js", "tv", "w1")},
                         ax=right, xlabel="θ", title="divergence (KL capped at 3)")
        right.axvline(theta, color="grey", ls=":")
        right.set_ylim(-0.05, 2.1)
        fig.tight_layout()
        now = dv.parallel_lines(theta, sigma)
        return {"KL(P₀‖P_θ)": now["kl"], "JS(P₀, P_θ)": now["js"], "TV(P₀, P_θ)": now["tv"],
                "W1(P₀, P_θ)": now["w1"]}


class _PointsFrame:
    """The panel's picture for 2-D data: samples from a fixed z over the data and D's
    field; the status adds the modes captured and the share of high-quality samples."""

    def __init__(self, trainer: Trainer, data: GaussianMixture2D, n_show: int):
        self.trainer, self.data = trainer, data
        self.z = trainer.gen.noise(n_show, generator=0)  # fixed z: frames are comparable over time
        real = data.sample(n_show, generator=1, device=trainer.device)
        span = float((data.centres.max(0).values - data.centres.min(0).values).max())
        pad = max(6 * data.std, 0.25 * span)
        lo, hi = data.centres.min(0).values - pad, data.centres.max(0).values + pad
        self.view = plots.TrainingView(real, ((float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))))

    def draw(self) -> tuple[bytes, str]:
        t = self.trainer
        fake = sample_from(t.gen, self.z)
        png = self.view.render(fake, plots.discriminator_field(t.disc, self.view.lim), t.history)
        stats = mode_stats(fake, self.data.centres, self.data.std)
        return png, f" · {stats.modes}/{stats.total_modes} modes · {100 * stats.high_quality:.0f}% high quality"


class _ImageFrame:
    """The panel's picture for images: a grid of G(z) for a fixed z, so the same
    cells can be watched sharpening over training."""

    def __init__(self, trainer: Trainer, n_show: int):
        self.trainer = trainer
        self.z = trainer.gen.noise(n_show, generator=0)
        self.view = plots.ImageTrainingView(nrow=max(1, round(math.sqrt(n_show))))

    def draw(self) -> tuple[bytes, str]:
        t = self.trainer
        return self.view.render(sample_from(t.gen, self.z), t.history), ""


SYMBOLS = {"label_smoothing": "ε", "n_critic": "n_critic", "gamma": "γ", "clip": "c", "power": "p"}


class TrainingPanel(W.VBox):
    r"""The live training panel (chapters 03–07 and the zoo).

    Sliders for the hyperparameters the variant reads (its ``knobs``: label
    smoothing ε, n_critic, the penalty weight γ, the clipping bound c, WGAN-div's
    power p) and the learning rate write straight into ``trainer.hyper``, which
    the loop reads at every step; Train / Pause / Reset; a live picture of generated samples over
    the data and the discriminator's field, the loss curves, the step counter,
    steps per second and the mode coverage.

    Training advances in short chunks, with a redraw after each; the chunk
    length adapts so that drawing costs about 15 % of the training time while
    the picture still refreshes more than 5 times a second. Where the chunks run
    is the panel's ``mode``:

    * ``"background"`` (JupyterLab, classic Jupyter, VS Code): **Train** starts an
      asyncio task on the kernel's own event loop and returns. Between chunks the
      task yields, so the kernel handles slider moves and **Pause** while it
      trains, and every widget update happens in the kernel's thread. The
      updates are sent while the kernel is otherwise idle.
    * ``"foreground"`` (Google Colab, chosen there by default): Colab's frontend
      may not render widget updates that arrive while no cell or handler is
      running (googlecolab/colabtools#3373). So **Train** trains
      ``steps per click`` steps inside the click's own handler, redrawing between
      chunks: every update is sent while the kernel is busy with the click, as a
      reply to it. The kernel reads slider moves (and clicks) only after the
      handler returns, so the sliders act between runs and there is no Pause.

    From Python, in either mode: set ``panel.gamma.value`` (or any slider),
    ``panel.run(n)`` to train n steps now (the picture updates in place while
    the cell runs), then read ``panel.history`` and ``panel.png``.

    Args:
        trainer: a :class:`gan_tutor.train.Trainer`.
        data: a 2-D mixture (:class:`gan_tutor.data.GaussianMixture2D`): the picture
            shows samples over the data and D's field, the status the modes captured;
            or ``None`` for images: the picture is a grid of generated images.
        n_show: generated (and real) samples drawn; for images, a square number is best.
        mode: ``"background"``, ``"foreground"`` or ``None``: foreground on Colab
            (:func:`in_colab`), background elsewhere.
        steps_per_click: in foreground mode, the steps one click on **Train** trains
            (the panel shows it as a box the learner can change).
    """

    DRAW_RATIO = 0.15   # drawing time / training time to aim for (target: below 0.2)
    MAX_FRAME_S = 0.18  # a frame at least every 0.18 s (over 5 per second)
    MODES = ("background", "foreground")
    MAX_STEPS_PER_CLICK = 100_000  # the box's own bound

    def __init__(self, trainer: Trainer, data: GaussianMixture2D | None = None, n_show: int | None = None,
                 mode: str | None = None, steps_per_click: int = 500):
        if mode is None:
            mode = "foreground" if in_colab() else "background"
        if mode not in self.MODES:
            raise ValueError(f"TrainingPanel: unknown mode {mode!r}; choose one of {self.MODES} "
                             f"(or None: foreground on Colab, background elsewhere)")
        if isinstance(steps_per_click, bool) or not isinstance(steps_per_click, int) \
                or not 1 <= steps_per_click <= self.MAX_STEPS_PER_CLICK:
            raise ValueError(f"TrainingPanel: steps_per_click must be an integer from 1 to "
                             f"{self.MAX_STEPS_PER_CLICK}, got {steps_per_click!r}")
        self.mode = mode
        self.trainer, self.data = trainer, data
        hp, knobs = trainer.hyper, trainer.variant.knobs
        style = {"description_width": "initial"}
        self.smoothing = W.FloatSlider(value=hp.label_smoothing, min=0.0, max=0.5, step=0.05, style=style,
                                       description="label smoothing ε", continuous_update=False)
        self.n_critic = W.IntSlider(value=hp.n_critic, min=1, max=10, description="n_critic", style=style,
                                    continuous_update=False)
        # γ spans orders of magnitude (0.1 in the toy recipes, 10 in WGAN-GP's paper): a log slider
        # over 0.01 … 100 (γ = 0, no penalty, is set from Python: ``trainer.hyper.gamma = 0``)
        self.gamma = W.FloatLogSlider(value=min(max(hp.gamma, 0.01), 100.0), base=10, min=-2, max=2, step=0.1,
                                      description="penalty γ", style=style, readout_format=".2g",
                                      continuous_update=False)
        self.clip = W.FloatLogSlider(value=hp.clip, base=10, min=-3, max=0, step=0.1, description="clip c",
                                     style=style, readout_format=".3f", continuous_update=False)
        self.power = W.FloatSlider(value=hp.power, min=1.5, max=max(10.0, hp.power), step=0.5, description="power p",
                                   style=style, continuous_update=False)
        self.lr = W.FloatLogSlider(value=hp.lr_g, base=10, min=-5, max=-2, step=0.1, description="learning rate",
                                   style=style, readout_format=".1e", continuous_update=False)
        # one slider per Hyper field; the panel shows those the variant reads (its knobs) and the rate
        self.sliders = {"label_smoothing": self.smoothing, "n_critic": self.n_critic, "gamma": self.gamma,
                        "clip": self.clip, "power": self.power}
        for name, slider in self.sliders.items():
            slider.disabled = name not in knobs
            slider.observe(self._writer((name,)), names="value")
        self.lr.observe(self._writer(("lr_d", "lr_g")), names="value")
        self.train_button = W.Button(description="Train", button_style="success", icon="play")
        self.pause_button = W.Button(description="Pause", icon="pause", disabled=True)
        self.reset_button = W.Button(description="Reset", icon="undo")
        self.steps_per_click = W.BoundedIntText(value=steps_per_click, min=1, max=self.MAX_STEPS_PER_CLICK, step=100,
                                                description="steps per click", style=style,
                                                layout=W.Layout(width="220px"))
        self.status = W.HTML()
        self.image = W.Image(format="png")
        self.train_button.on_click(lambda _b: self.start() if self.mode == "background" else self.click_run())
        self.pause_button.on_click(lambda _b: self.pause())
        self.reset_button.on_click(lambda _b: self.reset())

        if data is not None and not isinstance(data, GaussianMixture2D):
            raise ValueError(f"TrainingPanel draws a 2-D mixture (GaussianMixture2D) or, with data=None, "
                             f"a grid of generated images; got data of type {type(data).__name__}")
        self.frames = _PointsFrame(trainer, data, n_show or 512) if data is not None \
            else _ImageFrame(trainer, n_show or 36)
        self.view = self.frames.view
        self._task: asyncio.Task | None = None
        self._running = False
        self._chunk = 10
        self._rate = 0.0
        self.message = ""
        shown = [self.sliders[k] for k in knobs] + [self.lr]
        rows = [W.HBox(shown[i:i + 2]) for i in range(0, len(shown), 2)]
        # background: Train / Pause; foreground: Train runs `steps per click`, nothing to pause
        controls = [self.train_button, self.pause_button] if mode == "background" \
            else [self.train_button, self.steps_per_click]
        super().__init__([*rows, W.HBox([*controls, self.reset_button, self.status]), self.image])
        self.refresh()

    # -- state ------------------------------------------------------------------------

    @property
    def history(self) -> dict:
        return self.trainer.history

    @property
    def png(self) -> bytes:
        return bytes(self.image.value)

    @property
    def running(self) -> bool:
        return self._running

    def _writer(self, names):
        def write(change):
            for name in names:
                setattr(self.trainer.hyper, name, change["new"])
        return write

    def refresh(self) -> None:
        """Redraw the picture and the status line from the trainer's current state."""
        t = self.trainer
        self.image.value, quality = self.frames.draw()
        rate = f" · {self._rate:.0f} steps/s" if self._rate else ""
        note = f"<br><span style='color:#b00'>{self.message}</span>" if self.message else ""
        hp = t.hyper  # what the loop reads at its next step, so a moved slider shows here once it arrived
        knobs = " · ".join(f"{SYMBOLS[k]} {getattr(hp, k):g}" for k in t.variant.knobs)
        self.status.value = (f"<b>step {t.iteration}</b>{rate}{quality}<br>"
                             f"<span class='loop-hyper'>{knobs} · lr {hp.lr_g:.1e}</span>{note}")

    # -- training -----------------------------------------------------------------------

    def _train(self, steps: int) -> bool:
        """Train up to ``steps`` steps; False (and a message) if training diverged."""
        try:
            self.trainer.train(steps, progress=False)
        except TrainingDiverged as err:
            self.message = str(err)
            return False
        return True

    def _chunk_and_draw(self, steps: int) -> bool:
        """Train ``steps`` steps, redraw, and size the next chunk; False if training diverged."""
        t0 = time.perf_counter()
        ok = self._train(steps)
        t1 = time.perf_counter()
        self._rate = steps / (t1 - t0) if ok else 0.0
        self.refresh()
        self._adapt(t1 - t0, time.perf_counter() - t1, steps)
        return ok

    def run(self, steps: int) -> None:
        """Train ``steps`` steps now, in chunks, redrawing after each (blocking: the
        picture updates in place while the cell or the click that called it runs)."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"TrainingPanel.run: steps must be a non-negative integer, got {steps!r}")
        self.message = ""
        while steps > 0:
            n = min(self._chunk, steps)
            steps -= n
            if not self._chunk_and_draw(n):
                break

    def click_run(self) -> None:
        """Foreground mode's Train: ``steps per click`` steps inside the click's handler."""
        if self._running:
            return
        self._running = True
        self.train_button.disabled = True
        try:
            self.run(self.steps_per_click.value)
        finally:
            self._running = False
            self.train_button.disabled = False

    def start(self) -> asyncio.Task:
        """Background mode's Train: start training on the running event loop (the kernel's)."""
        if self._task is not None and not self._task.done():
            return self._task
        self._running = True
        self.message = ""
        self.train_button.disabled, self.pause_button.disabled = True, False
        self._task = asyncio.ensure_future(self._loop())
        return self._task

    def pause(self) -> None:
        """Stop after the current chunk."""
        self._running = False

    def reset(self) -> None:
        """Pause, and return the trainer to its initial weights and an empty history."""
        self.pause()
        self.trainer.reset()
        self.message, self._rate = "", 0.0
        self.refresh()

    async def _loop(self) -> None:
        try:
            while self._running:
                if not self._chunk_and_draw(self._chunk):
                    break
                await asyncio.sleep(0.005)  # hand the loop to the kernel: slider moves, clicks
        finally:
            self._running = False
            self.train_button.disabled, self.pause_button.disabled = False, True

    def _adapt(self, train_s: float, draw_s: float, steps: int) -> None:
        """Choose the next chunk: drawing ≈ DRAW_RATIO of training, frames ≤ MAX_FRAME_S apart
        (when a frame takes longer than that to draw, the ratio alone: a slow device must not
        end up redrawing after every step)."""
        per_step = train_s / steps
        want = draw_s / self.DRAW_RATIO                 # training time per frame for that ratio
        if draw_s < self.MAX_FRAME_S:                   # but keep more than 5 frames per second,
            want = min(want, self.MAX_FRAME_S - draw_s)  # unless one drawing alone takes longer
        self._chunk = int(min(max(want / per_step, 1), 10_000))
