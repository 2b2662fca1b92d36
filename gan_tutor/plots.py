"""Plots for the chapters. Every function draws into ``ax`` (a new figure's axes
when ``ax`` is None) and returns the ``Axes``; nothing is drawn at import time.

:func:`to_png` renders a figure off-screen (Agg) for the widgets, which show
images rather than live matplotlib canvases (no ipympl; works in Colab).
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import matplotlib
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["new_axes", "plot_lines", "plot_densities", "plot_discriminator", "plot_points", "to_png"]

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


def plot_discriminator(x, d_star, d_learned=None, p_data=None, p_g=None, ax: Axes | None = None,
                       title: str = "") -> Axes:
    r"""D*(x) (and a trained D(x)) on [0, 1], over the densities (right-hand axis) when given."""
    ax = new_axes(ax)
    x = _np(x)
    if p_data is not None and p_g is not None:
        dens = ax.twinx()
        dens.fill_between(x, _np(p_data), alpha=0.15, color=COLOURS["data"], label=r"$p_\mathrm{data}$")
        dens.fill_between(x, _np(p_g), alpha=0.15, color=COLOURS["generator"], label=r"$p_G$")
        dens.set_ylabel("density")
        dens.set_ylim(bottom=0)
        dens.legend(frameon=False, loc="upper right")
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
