"""The visible checks, the plot helpers and the chapter explorers (driven from Python)."""

import math


import pytest
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gan_tutor import divergences as dv
from gan_tutor import plots
from gan_tutor.checks import CheckFailed, check_close, check_less
from gan_tutor.data import gaussian_1d
from gan_tutor.widgets import MinimaxExplorer, ParallelLinesExplorer

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- checks ---------------------------------------------------------------------------

def test_check_close_prints_value_expected_and_tick(capsys):
    check_close("two", 2.00004, 2.0, tol=1e-4)
    out = capsys.readouterr().out
    assert "two: 2.0000" in out and "expected 2.0000 ± 0.0001" in out and "✓" in out


@pytest.mark.parametrize("value, expected, tol", [(2.1, 2.0, 0.05), (1.9, 2.0, 0.05), (math.inf, 1.0, 10.0),
                                                  (1.0, math.inf, 10.0)])
def test_check_close_raises_outside_tolerance(value, expected, tol, capsys):
    with pytest.raises(CheckFailed, match="expected"):
        check_close("x", value, expected, tol)
    assert "✗" in capsys.readouterr().out


def test_check_close_matching_infinities_pass():
    check_close("KL", math.inf, math.inf, tol=0.0)


def test_check_less_is_strict():
    check_less("a", 0.5, 1.0)
    with pytest.raises(CheckFailed):
        check_less("a", 1.0, 1.0)  # equal is not less


def test_check_close_rejects_negative_tolerance():
    with pytest.raises(ValueError, match="tol"):
        check_close("x", 1.0, 1.0, tol=-1.0)


# --- plots ----------------------------------------------------------------------------

def _grid():
    x = torch.linspace(-4, 4, 201, dtype=torch.float64)
    return x, gaussian_1d(0, 1).density(x), gaussian_1d(1, 0.5).density(x)


@pytest.mark.parametrize("draw", [
    lambda ax: plots.plot_lines([0, 1, 2], {"a": [1, 2, 3], "b": [3, 2, 1]}, ax=ax, logy=True),
    lambda ax: plots.plot_densities(*_grid(), ax=ax),
    lambda ax: plots.plot_discriminator(_grid()[0], dv.optimal_discriminator(*_grid()[1:]), ax=ax),
    lambda ax: plots.plot_discriminator(*_grid()[:1], dv.optimal_discriminator(*_grid()[1:]), None, *_grid()[1:], ax=ax),
    lambda ax: plots.plot_points({"a": torch.zeros(5, 2), "b": torch.ones(5, 2)}, ax=ax),
])
def test_plots_draw_into_the_given_axes_and_return_them(draw):
    fig = plots.offscreen_figure()
    ax = fig.add_subplot()
    assert draw(ax) is ax
    assert ax.has_data()


def test_plots_make_their_own_axes_when_none_given():
    ax = plots.plot_lines([0, 1], {"a": [0, 1]})
    assert isinstance(ax, Axes)
    import matplotlib.pyplot as plt
    plt.close(ax.figure)


def test_to_png_renders_off_screen():
    fig = plots.offscreen_figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    assert isinstance(fig, Figure)
    assert plots.to_png(fig).startswith(PNG_MAGIC)


def test_importing_plots_draws_nothing():
    import matplotlib.pyplot as plt
    plt.close("all")
    import importlib
    importlib.reload(plots)
    assert plt.get_fignums() == []


# --- explorers ------------------------------------------------------------------------

def test_minimax_explorer_values_follow_the_sliders():
    ex = MinimaxExplorer(p_data=gaussian_1d(0.0, 1.0), mean=1.5, std=0.6)
    first_png = ex.png
    assert first_png.startswith(PNG_MAGIC)
    js, v = ex.values["JS(p_data, p_G)"], ex.values["V(D*, G)"]
    # independent computation on the explorer's grid
    p, q = gaussian_1d(0, 1).density(ex.x), gaussian_1d(1.5, 0.6).density(ex.x)
    assert js == pytest.approx(dv.js(p, q, ex.dx), abs=1e-12)
    # V(D*, G) = −log 4 + 2·JS (Goodfellow et al. 2014, Thm. 1); grid truncation error ≪ 1e-6
    assert v == pytest.approx(-math.log(4) + 2 * js, abs=1e-6)
    assert 0 < js < math.log(2)

    ex.mean.value, ex.std.value = 0.0, 1.0  # the generator on the data: the global optimum
    assert ex.values["JS(p_data, p_G)"] == pytest.approx(0.0, abs=1e-12)
    assert ex.values["V(D*, G)"] == pytest.approx(-math.log(4), abs=1e-9)  # −log 4 = −1.3863
    assert ex.png != first_png


def test_parallel_lines_explorer_shows_the_closed_forms():
    ex = ParallelLinesExplorer(theta=0.5, sigma=0.0)
    v = ex.values
    # disjoint supports: KL = ∞, JS = ln 2, TV = 1, W1 = |θ| = 0.5
    assert v["KL(P₀‖P_θ)"] == math.inf
    assert v["JS(P₀, P_θ)"] == pytest.approx(math.log(2), abs=1e-12)
    assert v["TV(P₀, P_θ)"] == pytest.approx(1.0, abs=1e-12)
    assert v["W1(P₀, P_θ)"] == pytest.approx(0.5, abs=1e-12)
    before = ex.png
    ex.sigma.value = 0.3
    # with noise σ: KL = θ²/2σ² = 0.25/0.18 = 1.3889; TV = erf(θ/(2σ√2)) = erf(0.5893) = 0.5953
    assert ex.values["KL(P₀‖P_θ)"] == pytest.approx(0.25 / 0.18, rel=1e-12)
    assert ex.values["TV(P₀, P_θ)"] == pytest.approx(math.erf(0.5 / (0.6 * math.sqrt(2))), abs=1e-12)
    assert ex.png != before


def test_explorers_are_widgets_with_the_documented_sliders():
    import ipywidgets as W
    ex = ParallelLinesExplorer()
    assert isinstance(ex, W.VBox)
    assert isinstance(ex.theta, W.FloatSlider) and isinstance(ex.sigma, W.FloatSlider)
    assert isinstance(ex.image, W.Image) and ex.image.format == "png"


def test_plot_points_refuses_more_sets_than_colours():
    import torch
    from gan_tutor import plots
    sets = {f"set {i}": torch.zeros(3, 2) for i in range(5)}
    with pytest.raises(ValueError, match="at most 4 point sets"):
        plots.plot_points(sets)
