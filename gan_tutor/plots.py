"""Plots for the chapters. Every function draws into ``ax`` (a new figure's axes
when ``ax`` is None) and returns the ``Axes``; nothing is drawn at import time.

:func:`to_png` renders a figure off-screen (Agg) for the widgets, which show
images rather than live matplotlib canvases (no ipympl; works in Colab).
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import matplotlib
import numpy as np
import PIL.Image
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["new_axes", "plot_lines", "plot_densities", "plot_discriminator", "plot_points", "to_png",
           "offscreen_figure", "overlay_densities", "discriminator_field", "TrainingView",
           "ImageTrainingView", "image_grid", "plot_images", "plot_fd_curve", "plot_critic", "plot_histogram"]

# One colour per role, the same in every chapter.
COLOURS = {"data": "#1f77b4", "generator": "#d62728", "d_star": "#2ca02c", "d": "#ff7f0e"}


def new_axes(ax: Axes | None = None, figsize=(6.0, 3.6)) -> Axes:
    """``ax`` itself, or the axes of a new pyplot figure of ``figsize``."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # only when a figure is actually wanted
    return plt.figure(figsize=figsize).add_subplot()


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t


def plot_lines(x, curves: Mapping[str, object], ax: Axes | None = None, xlabel: str = "", ylabel: str = "",
               title: str = "", logy: bool = False, styles: Mapping[str, dict] | None = None) -> Axes:
    """One line per entry of ``curves`` ({label: y values}) against ``x``."""
    ax = new_axes(ax)
    for label, y in curves.items():
        ax.plot(_np(x), _np(y), label=label, **(styles or {}).get(label, {}))
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if len(curves) > 1:
        ax.legend(frameon=False)
    return ax


def plot_densities(x, p_data, p_g, ax: Axes | None = None, title: str = "") -> Axes:
    """The data density and the generator's density, filled, on a 1-D grid."""
    ax = new_axes(ax)
    x = _np(x)
    for y, label, colour in ((p_data, r"$p_\mathrm{data}$", COLOURS["data"]),
                             (p_g, r"$p_G$", COLOURS["generator"])):
        ax.fill_between(x, _np(y), alpha=0.25, color=colour)
        ax.plot(x, _np(y), color=colour, label=label)
    ax.set(xlabel="x", ylabel="density", title=title)
    ax.legend(frameon=False, loc="upper left")
    return ax


def overlay_densities(ax: Axes, x, p_data, p_g, loc: str = "upper right") -> Axes:
    """Shade p_data and p_G behind ``ax`` on a right-hand density axis; returns that axis."""
    dens = ax.twinx()
    x = _np(x)
    dens.fill_between(x, _np(p_data), alpha=0.15, color=COLOURS["data"], label=r"$p_\mathrm{data}$")
    dens.fill_between(x, _np(p_g), alpha=0.15, color=COLOURS["generator"], label=r"$p_G$")
    dens.set_ylabel("density")
    dens.set_ylim(bottom=0)
    dens.legend(frameon=False, loc=loc)
    return dens


def plot_discriminator(x, d_star, d_learned=None, p_data=None, p_g=None, ax: Axes | None = None,
                       title: str = "") -> Axes:
    r"""D*(x) (and a trained D(x)) on [0, 1], over the densities (right-hand axis) when given."""
    ax = new_axes(ax)
    x = _np(x)
    if p_data is not None and p_g is not None:
        overlay_densities(ax, x, p_data, p_g)
    ax.plot(x, _np(d_star), color=COLOURS["d_star"], lw=2.5,
            label=r"$D^* = p_\mathrm{data} / (p_\mathrm{data} + p_G)$")
    if d_learned is not None:
        ax.plot(x, _np(d_learned), color=COLOURS["d"], lw=1.5, ls="--", label="trained D")
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="x", ylabel="D(x)", ylim=(-0.02, 1.02), title=title)
    ax.legend(frameon=False, loc="upper left")
    return ax


def plot_points(sets: Mapping[str, object], ax: Axes | None = None, title: str = "", lim=None,
                size: float = 4.0) -> Axes:
    """Scatter plots of (N, 2) point sets, {label: points}, in equal aspect."""
    ax = new_axes(ax, figsize=(4.0, 4.0))
    colours = [COLOURS["data"], COLOURS["generator"], COLOURS["d"], COLOURS["d_star"]]
    if len(sets) > len(colours):
        raise ValueError(f"plot_points draws at most {len(colours)} point sets (one colour per role), "
                         f"got {len(sets)}: {', '.join(map(str, sets))}; split them over several axes")
    for (label, pts), colour in zip(sets.items(), colours):
        pts = _np(pts)
        ax.scatter(pts[:, 0], pts[:, 1], s=size, alpha=0.5, color=colour, label=label, linewidths=0)
    if lim is not None:
        ax.set_xlim(*lim[0])
        ax.set_ylim(*lim[1])
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(frameon=False, loc="upper right", markerscale=3)
    return ax


def offscreen_figure(figsize=(6.0, 3.6), dpi: int = 90) -> Figure:
    """A figure with an Agg canvas that never touches pyplot (for widgets)."""
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure) -> bytes:
    """The figure rendered to PNG bytes with the Agg backend."""
    buf = io.BytesIO()
    with matplotlib.rc_context({"savefig.bbox": "standard"}):
        fig.savefig(buf, format="png")
    return buf.getvalue()


def discriminator_field(disc, lim, n: int = 48, device=None) -> torch.Tensor:
    """σ(D(x)) on an n×n grid over ``lim = ((x0, x1), (y0, y1))``, as an (n, n) CPU
    tensor (rows = y, for ``imshow(origin="lower")``). A critic's raw score is
    squashed by the same sigmoid, only to colour it."""
    (x0, x1), (y0, y1) = lim
    p = next(disc.parameters())
    device = device or p.device
    xs = torch.linspace(x0, x1, n, device=device, dtype=p.dtype)
    ys = torch.linspace(y0, y1, n, device=device, dtype=p.dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    with torch.no_grad():
        scores = disc(torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1))  # (n², )
    return torch.sigmoid(scores).reshape(n, n).float().cpu()


class _LiveView:
    """A live panel's picture: something on the left (subclasses), the loss curves
    on the right.

    Built once. A frame only updates the moving artists and blits them onto a
    cached background (Agg ``restore_region`` + ``draw_artist``), then encodes
    the PNG with light compression: about 15 ms a frame instead of about 50 ms
    for a full redraw. The background is redrawn only when the loss axes must
    grow (the step axis doubles, the loss axis widens).
    """

    MAX_LINE_POINTS = 800  # longer histories are drawn with a stride

    def __init__(self, figsize=(8.0, 3.4), dpi: int = 72):
        self.fig = offscreen_figure(figsize, dpi)
        self.ax_left, self.ax_loss = self.fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
        (self.d_line,) = self.ax_loss.plot([], [], color=COLOURS["d"], lw=1, label="D loss")
        (self.g_line,) = self.ax_loss.plot([], [], color=COLOURS["generator"], lw=1, label="G loss")
        self.ax_loss.set_xlabel("step", fontsize=8)
        self.ax_loss.tick_params(labelsize=7)
        self.ax_loss.legend(fontsize=7, frameon=False, loc="upper right")
        self.ax_loss.set(xlim=(0, 100), ylim=(0.0, 2.0))
        self.fig.subplots_adjust(left=0.02, right=0.98, bottom=0.14, top=0.96, wspace=0.12)
        self._moving = [self.d_line, self.g_line]
        self._background = None
        self.full_redraws = 0

    def _redraw_background(self) -> None:
        for artist in self._moving:
            artist.set_visible(False)
        self.fig.canvas.draw()
        self._background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        for artist in self._moving:
            artist.set_visible(True)
        self.full_redraws += 1

    def _fit_loss_axes(self, steps, values) -> bool:
        """Grow the loss axes to hold the data; True when they changed."""
        changed = False
        x_hi = self.ax_loss.get_xlim()[1]
        if steps[-1] > x_hi:
            while steps[-1] > x_hi:
                x_hi *= 2
            self.ax_loss.set_xlim(0, x_hi)
            changed = True
        lo, hi = self.ax_loss.get_ylim()
        v_lo, v_hi = float(np.nanmin(values)), float(np.nanmax(values))
        if np.isfinite(v_lo) and np.isfinite(v_hi) and (v_lo < lo or v_hi > hi):
            pad = 0.1 * max(v_hi - v_lo, 1e-3)
            self.ax_loss.set_ylim(min(lo, v_lo - pad), max(hi, v_hi + pad))
            changed = True
        return changed

    def _frame(self, history: dict) -> bytes:
        """Draw the loss curves from ``history`` over the cached background and the
        (already updated) left-hand artists; return the frame as PNG bytes."""
        steps = history["step"]
        changed = self._background is None
        if steps:
            stride = max(1, len(steps) // self.MAX_LINE_POINTS)
            x = np.asarray(steps[::stride])
            d, g = np.asarray(history["d_loss"][::stride]), np.asarray(history["g_loss"][::stride])
            self.d_line.set_data(x, d)
            self.g_line.set_data(x, g)
            changed |= self._fit_loss_axes(steps, np.concatenate([d, g]))
        if changed:
            self._redraw_background()
        canvas = self.fig.canvas
        canvas.restore_region(self._background)
        for artist in self._moving:
            artist.axes.draw_artist(artist)
        image = PIL.Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
        buf = io.BytesIO()
        image.save(buf, format="png", compress_level=1)
        return buf.getvalue()


class TrainingView(_LiveView):
    """The 2-D panel's picture: samples over the data and the discriminator's
    field D(x) (left), the loss curves (right)."""

    def __init__(self, real_points, lim, figsize=(8.0, 3.4), dpi: int = 72):
        super().__init__(figsize, dpi)
        self.lim = lim
        self.ax_xy = self.ax_left
        (x0, x1), (y0, y1) = lim
        self.field = self.ax_xy.imshow(np.full((2, 2), 0.5), extent=(x0, x1, y0, y1), origin="lower",
                                       cmap="RdBu_r", vmin=0, vmax=1, alpha=0.55, interpolation="bilinear")
        pts = _np(real_points)
        self.real = self.ax_xy.scatter(pts[:, 0], pts[:, 1], s=3, color=COLOURS["data"], alpha=0.6,
                                       linewidths=0, label="data")
        self.fake = self.ax_xy.scatter([], [], s=3, color=COLOURS["generator"], alpha=0.7, linewidths=0,
                                       label="generated")
        self.ax_xy.set(xlim=(x0, x1), ylim=(y0, y1), aspect="equal", xticks=[], yticks=[])
        self.ax_xy.legend(loc="upper right", fontsize=7, markerscale=3, frameon=False)
        self._moving = [self.field, self.real, self.fake, *self._moving]

    def render(self, fake_points, field, history: dict) -> bytes:
        """Update the samples and the field, then return the frame as PNG bytes."""
        self.fake.set_offsets(_np(fake_points))
        self.field.set_data(_np(field))
        return self._frame(history)


def image_grid(images: torch.Tensor, nrow: int = 8, padding: int = 1) -> np.ndarray:
    """Images in [-1, 1], (N, C, H, W), tiled by ``torchvision.utils.make_grid``
    into one (rows, cols, 3) array in [0, 1] for ``imshow``."""
    from torchvision.utils import make_grid

    if images.ndim != 4:
        raise ValueError(f"image_grid expects images of shape (N, C, H, W), got {tuple(images.shape)}")
    grid = make_grid(images.detach().float().cpu().clamp(-1, 1), nrow=nrow, padding=padding,
                     normalize=True, value_range=(-1, 1), pad_value=1.0)
    return grid.permute(1, 2, 0).numpy()


def plot_images(images: torch.Tensor, ax: Axes | None = None, nrow: int = 6, title: str = "") -> Axes:
    """A grid of images in [-1, 1], (N, C, H, W) (:func:`image_grid`), without axes."""
    ax = new_axes(ax, figsize=(4.0, 4.0))
    ax.imshow(image_grid(images, nrow=nrow), interpolation="nearest")
    ax.set_title(title)
    ax.set_axis_off()
    return ax


def plot_fd_curve(steps, fd, floor: float, ax: Axes | None = None, label: str = "this run",
                  reference: Mapping[str, float] | None = None,
                  title: str = "Fréchet distance to the training digits") -> Axes:
    """The Fréchet distance over training (log scale), the real-vs-real ``floor`` dashed,
    and ``reference`` values ({label: FD}, e.g. another chapter's result) dotted."""
    ax = new_axes(ax)
    ax.plot(_np(steps), _np(fd), "o-", label=label)
    for i, (name, value) in enumerate((reference or {}).items()):
        ax.axhline(value, color=f"C{i + 1}", ls=":", label=name)
    ax.axhline(floor, color="k", ls="--", label="floor (held-out real)")
    ax.set(xlabel="step", ylabel="FD", yscale="log", title=title)
    ax.legend(frameon=False)
    return ax


class ImageTrainingView(_LiveView):
    """The image panel's picture: a grid of generated images (left), the loss curves (right)."""

    def __init__(self, nrow: int = 6, figsize=(8.0, 3.4), dpi: int = 72):
        super().__init__(figsize, dpi)
        self.nrow = nrow
        self.grid = self.ax_left.imshow(np.ones((2, 2, 3)), interpolation="nearest")
        self.ax_left.set(xticks=[], yticks=[], title="")
        self.ax_left.set_axis_off()
        self._moving = [self.grid, *self._moving]

    def render(self, fake_images: torch.Tensor, history: dict) -> bytes:
        """Show ``fake_images`` (N, C, H, W) in [-1, 1] as a grid; return the frame as PNG bytes."""
        grid = image_grid(fake_images, nrow=self.nrow)
        if self.grid.get_array().shape != grid.shape:  # first frame: fit the axes to the grid
            self.grid.set_extent((-0.5, grid.shape[1] - 0.5, grid.shape[0] - 0.5, -0.5))
            self.ax_left.set(xlim=(-0.5, grid.shape[1] - 0.5), ylim=(grid.shape[0] - 0.5, -0.5))
            self._background = None
        self.grid.set_data(grid)
        return self._frame(history)


def plot_critic(critic, lim, ax: Axes | None = None, points: Mapping[str, object] | None = None, grid: int = 80,
                arrows: int = 15, title: str = "") -> Axes:
    r"""A critic's landscape over ``lim = ((x0, x1), (y0, y1))``: its values f(x) as filled
    contours (grey, darker = higher; thin lines are level sets) on a ``grid``×``grid``
    grid, and its gradient field :math:`\nabla f(x)` as arrows on an ``arrows``×``arrows``
    sub-grid, with ``points`` ({label: (N, 2)}) on top in :func:`plot_points`' colours.

    **Arrow scale**: one fixed scale in every plot, so lengths compare across critics:
    a gradient of norm 1 is drawn 0.8 of the arrow spacing long, and length is
    proportional to :math:`\lVert\nabla f\rVert`. A 1-Lipschitz critic (WGAN-GP, optimal
    norm 1) shows arrows of about that length; a clipped critic's arrows are tiny (small
    c) or overlap (large c). A key (bottom right) marks the length of norm 1, and the text (bottom left) gives
    the median and largest norm on the sub-grid, for arrows too short to see.

    The critic is evaluated on its own device in eval mode (its mode is restored), the
    gradients by :func:`gan_tutor.penalties.input_gradients` without a graph: nothing is
    left on its parameters.
    """
    from .penalties import input_gradients

    ax = new_axes(ax, figsize=(4.4, 4.0))
    (x0, x1), (y0, y1) = lim
    p = next(critic.parameters())

    def box(n):  # the n×n grid over lim, as (n², 2) points on the critic's device, and its axes
        xs = torch.linspace(x0, x1, n, device=p.device, dtype=p.dtype)
        ys = torch.linspace(y0, y1, n, device=p.device, dtype=p.dtype)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # (n, n), rows = y
        return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1), xs, ys

    was_training = critic.training
    critic.eval()
    try:
        xy, xs, ys = box(grid)
        with torch.no_grad():
            f = critic(xy).reshape(grid, grid)  # f(x) on the grid
        uv, axs, ays = box(arrows)
        g = input_gradients(critic, uv, create_graph=False).reshape(arrows, arrows, 2)  # ∇f(x), (n, n, 2)
    finally:
        critic.train(was_training)
    ax.contourf(_np(xs), _np(ys), _np(f.float()), levels=14, cmap="Greys", alpha=0.5)
    ax.contour(_np(xs), _np(ys), _np(f.float()), levels=14, colors="grey", linewidths=0.4)
    spacing = min((x1 - x0), (y1 - y0)) / max(arrows - 1, 1)  # distance between neighbouring arrows
    scale = 1.0 / (0.8 * spacing)  # data units: an arrow of norm ‖∇f‖ is ‖∇f‖ / scale long
    g = g.float()
    q = ax.quiver(_np(axs), _np(ays), _np(g[..., 0]), _np(g[..., 1]), angles="xy", scale_units="xy",
                  scale=scale, width=0.004, color="black")
    ax.quiverkey(q, 0.93, 0.04, 1.0, r"$\Vert\nabla f\Vert = 1$", labelpos="W", coordinates="axes",
                 fontproperties={"size": 7})
    norms = torch.linalg.vector_norm(g, dim=-1)  # ‖∇f(x)‖ on the sub-grid
    ax.text(0.02, 0.02, f"‖∇f‖: median {float(norms.median()):.3g}, max {float(norms.max()):.3g}",
            transform=ax.transAxes, fontsize=7, va="bottom")
    colours = [COLOURS["data"], COLOURS["generator"], COLOURS["d"], COLOURS["d_star"]]
    for (label, pts), colour in zip((points or {}).items(), colours):
        pts = _np(pts)
        ax.scatter(pts[:, 0], pts[:, 1], s=4.0, alpha=0.6, color=colour, label=label, linewidths=0)
    if points:
        ax.legend(frameon=False, loc="upper right", markerscale=3, fontsize=8)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), aspect="equal", title=title)
    return ax


def plot_histogram(values: Mapping[str, object], ax: Axes | None = None, bins: int = 40, xlabel: str = "",
                   title: str = "", mark: float | None = None) -> Axes:
    """One step histogram per entry of ``values`` ({label: 1-D values}), on shared bins,
    with a dashed vertical line at ``mark`` when given (e.g. 1.0, the gradient norm
    the penalty asks for)."""
    ax = new_axes(ax)
    arrays = {label: np.asarray(_np(v), dtype=float).ravel() for label, v in values.items()}
    pooled = np.concatenate([a for a in arrays.values()] + [np.zeros(0)])
    edges = np.histogram_bin_edges(pooled, bins=bins) if pooled.size else bins  # the same bins for all
    for label, a in arrays.items():
        ax.hist(a, bins=edges, histtype="step", lw=1.5, label=label)
    if mark is not None:
        ax.axvline(mark, color="grey", ls="--", lw=1.0)
    ax.set(xlabel=xlabel, ylabel="count", title=title)
    if arrays:
        ax.legend(frameon=False)
    return ax
