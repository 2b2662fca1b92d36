"""Interactive explorers for the chapters: ipywidgets glue only, no math.

Core widgets only (sliders, HTML, Image), which render the same in JupyterLab
and Colab with ipywidgets 7.7 and 8. Figures are drawn off-screen with Agg and
shown as PNG in an ``Image`` widget; every update runs in the kernel's own
thread, in the slider's callback.

Each explorer is a ``VBox``: display it (last expression of a cell) to use it,
or drive it from Python: set ``explorer.<slider>.value``, then read
``explorer.values`` (the numbers shown) and ``explorer.png`` (the image).
"""

from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
import torch

from . import divergences as dv
from . import plots
from .data import GaussianMixture1D, ParallelLine, gaussian_1d

__all__ = ["MinimaxExplorer", "ParallelLinesExplorer"]


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
