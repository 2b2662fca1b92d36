"""The chapters in JupyterLab, in a real browser: every chapter with a widget
runs top to bottom, its widgets render, and the live panel trains when clicked.

Each test opens a chapter, waits until the status bar shows the kernel connected
and idle (a Run All sent earlier is silently dropped), runs all cells in CI mode,
then looks at the page as a learner would. A full-page screenshot of each chapter
is saved and its path attached to the report.
"""

from __future__ import annotations

import re

import pytest

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the `browser` fixture then skips, or fails under GAN_TUTOR_REQUIRE_BROWSER
    PlaywrightTimeout = TimeoutError

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 300_000
OUTPUT = ".jp-NotebookPanel:visible .jp-OutputArea-output"  # outputs of the notebook on show
IMAGE_SELECTOR = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output .jupyter-widgets img"

# JavaScript run in the page against the exposed app (window.jupyterapp).
CELLS_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.widgets) return null;
  return panel.content.widgets.filter(c => c.model.type === 'code').map(c => ({
    count: c.model.executionCount,
    errors: c.model.outputs.toJSON().filter(o => o.output_type === 'error')
                .map(o => o.ename + ': ' + o.evalue),
  }));
}"""
KERNEL_STATUS_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
                 && panel.sessionContext.session.kernel;
  return kernel ? kernel.status : null;
}"""


def open_and_run(page, lab, notebook: str) -> None:
    """Open ``notebook`` in JupyterLab, wait for an idle kernel, Run All, wait until
    every code cell has run; fail with the error of any cell that raised."""
    # A workspace of its own, reset: only this notebook is open.
    workspace = notebook.removesuffix(".ipynb")
    page.goto(f"{lab['url']}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={lab['token']}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook")
    # The status bar's kernel item reads e.g. "Python 3 (ipykernel) | Idle".
    page.locator("#jp-main-statusbar", has_text=re.compile(r"\|\s*Idle")).wait_for(timeout=120_000)
    page.wait_for_function(f"({KERNEL_STATUS_JS})() === 'idle'", timeout=120_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        f"(() => {{ const c = ({CELLS_JS})(); return c && c.length > 0 && "
        f"(c.every(x => x.count !== null) || c.some(x => x.errors.length)) "
        f"&& ({KERNEL_STATUS_JS})() === 'idle'; }})()",
        timeout=RUN_TIMEOUT_MS, polling=500)
    errors = [e for cell in page.evaluate(CELLS_JS) for e in cell["errors"]]
    assert not errors, f"{notebook}: a cell raised in the browser: {errors}"


def shut_down_kernel(page) -> None:
    page.evaluate("window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")


def assert_widgets_rendered(page, minimum: int) -> None:
    """At least ``minimum`` widget views are on the page with their pictures loaded,
    and no widget failed to render."""
    try:
        page.locator(OUTPUT + " .widget-slider").first.wait_for(timeout=30_000)
    except PlaywrightTimeout:
        raise AssertionError("no widget slider rendered within 30 s of the run; the outputs read: "
                             + " | ".join(page.locator(OUTPUT).all_inner_texts())[-600:]) from None
    assert page.locator(OUTPUT + " .widget-slider").count() >= minimum
    for text in ("Error displaying widget", "Loading widget", "model not found"):
        assert page.get_by_text(text).count() == 0, f"a widget did not render: {text!r} on the page"
    images = page.locator(OUTPUT + " .jupyter-widgets img")
    assert images.count() >= 1
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{IMAGE_SELECTOR}')]"
        ".every(img => img.complete && img.naturalWidth > 0)")


def wait_or_fail(page, message: str, js: str, timeout: float = 60_000) -> None:
    """Wait until ``js`` is truthy in the page; fail with ``message`` (not a bare timeout)."""
    try:
        page.wait_for_function(js, timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(message) from None


def slider(page, label: str):
    """The slider whose description reads ``label`` (ipywidgets 8 uses noUiSlider)."""
    return page.locator(".jp-NotebookPanel:visible .widget-slider", has=page.locator(".widget-label", has_text=label))


def nudge(page, label: str, presses: int = 1) -> None:
    """Move a slider one step right per press, with the keyboard on its handle, as a
    learner can; the value reaches the kernel when the handle changes."""
    handle = slider(page, label).locator(".noUi-handle")
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(presses):
        handle.press("ArrowRight")


def widget_image(page, index: int = 0) -> bytes:
    img = page.locator(OUTPUT + " .jupyter-widgets img").nth(index)
    img.scroll_into_view_if_needed()
    return img.screenshot()


@pytest.mark.parametrize("notebook, label", [("01_minimax.ipynb", "generator mean"),
                                             ("02_disjoint_supports.ipynb", "θ (position")])
def test_explorer_renders_and_redraws(page, lab, screenshot, notebook, label):
    open_and_run(page, lab, notebook)
    assert_widgets_rendered(page, minimum=2)
    before = widget_image(page)
    src = page.locator(OUTPUT + " .jupyter-widgets img").first.get_attribute("src")
    nudge(page, label, presses=3)
    page.wait_for_function(
        f"before => {{ const img = document.querySelector('{IMAGE_SELECTOR}');"
        " return img && img.src !== before && img.complete && img.naturalWidth > 0; }", arg=src)
    assert widget_image(page) != before, "moving a slider did not redraw the picture"
    screenshot(notebook.removesuffix(".ipynb"))
    shut_down_kernel(page)


def panel_status(page) -> dict[str, int]:
    """Step counter and the n_critic the training loop reads, from the panel's status line."""
    text = page.locator(OUTPUT + " .widget-html", has_text="n_critic").inner_text()
    step, n_critic = re.search(r"step (\d+)", text), re.search(r"n_critic (\d+)", text)
    assert step and n_critic, f"unexpected status line: {text!r}"
    return {"step": int(step.group(1)), "n_critic": int(n_critic.group(1))}


# chapter, and the panel's state after Run All in CI mode (the notebook drives it from Python first)
# (03, 05, 06, 07: `panel.n_critic.value = 2; panel.run(20)`; 04: `panel.run(5)`, n_critic left at 1)
PANELS = [("03_nonsaturating.ipynb", {"step": 20, "n_critic": 2}),
          ("04_dcgan.ipynb", {"step": 5, "n_critic": 1}),
          ("05_wgan_clip.ipynb", {"step": 20, "n_critic": 2}),
          ("06_wgan_gp.ipynb", {"step": 20, "n_critic": 2}),
          ("07_wgan_div.ipynb", {"step": 20, "n_critic": 2})]


@pytest.mark.parametrize("notebook, after_run_all", PANELS)
def test_training_panel_trains_takes_a_slider_and_pauses(page, lab, screenshot, notebook, after_run_all):
    name = notebook.removesuffix(".ipynb")
    open_and_run(page, lab, notebook)
    assert_widgets_rendered(page, minimum=3)  # n_critic, the variant's other knob(s), the learning rate
    start = panel_status(page)
    assert start == after_run_all, "the panel does not show what the notebook's Python code did to it"
    before = widget_image(page)

    n_critic = start["n_critic"] + 1
    nudge(page, "n_critic")  # one step right, while paused
    slider(page, "n_critic").locator(".widget-readout", has_text=str(n_critic)).wait_for()
    train = page.locator(OUTPUT + " button", has_text="Train")
    pause = page.locator(OUTPUT + " button", has_text="Pause")
    train.click()
    target = start["step"] + 50
    wait_or_fail(page, f"the step counter did not reach {target} within 60 s of pressing Train",
        "() => { const s = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
        ".jp-OutputArea-output .widget-html')].map(e => e.innerText).find(t => t.includes('n_critic'));"
        f" const m = s && s.match(/step (\\d+)/); return m && Number(m[1]) >= {target}; }}")
    running = panel_status(page)
    assert running["n_critic"] == n_critic, "the slider's value did not reach the trainer's hyperparameters (what the next step reads)"
    assert widget_image(page) != before, "training did not change the panel's picture"
    screenshot(f"{name}-training")

    pause.click()
    wait_or_fail(page, "Train was not enabled again after Pause (the loop did not stop)",
        "() => { const b = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
        ".jp-OutputArea-output button')].find(b => b.innerText.includes('Train')); return b && !b.disabled; }")
    stopped = panel_status(page)["step"]
    page.wait_for_timeout(2000)
    assert panel_status(page)["step"] == stopped, "training went on after Pause"
    assert pause.is_disabled()
    screenshot(name)
    shut_down_kernel(page)
