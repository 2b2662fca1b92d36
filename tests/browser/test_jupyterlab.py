"""The chapters in JupyterLab, in a real browser: the chapters' widgets render,
the explorers redraw when a slider moves, and the live panel trains when clicked.

Each test opens a chapter, waits until the status bar shows the kernel connected
and idle (a Run All sent earlier is silently dropped), runs cells in CI mode,
then looks at the page as a learner would. A full-page screenshot of each chapter
is saved and its path attached to the report.

Which cells run: chapters 01 and 02 run top to bottom (Run All), as a learner
does. For the panels (03–07), nbval already runs every cell of the chapter, so
the test runs only what the panel needs: the set-up cell, the panel's own cells, and the
earlier cells that define a name they read (a slice by names, :func:`panel_cells`).
That keeps the browser tests from running each chapter a second time in full.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
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


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell reads, names it defines): variables, functions, classes, imports."""
    reads, defines = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else defines).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defines.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defines.update((a.asname or a.name).split(".")[0] for a in node.names)
    return reads, defines


def panel_cells(notebook: Path) -> list[int]:
    """Indices (among all cells) of what a chapter's live panel needs: the first code
    cell (set-up), the code cells from the one that builds the ``TrainingPanel`` on that
    mention ``panel``, and every earlier cell that defines a name those read, transitively."""
    cells = nbformat.read(notebook, as_version=4).cells
    code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    start = next(i for i in code if "TrainingPanel(" in cells[i].source)
    chosen = {code[0]} | {i for i in code if i >= start and "panel" in cells[i].source}
    names = {i: _names(cells[i].source) for i in code}
    need = set().union(*(names[i][0] for i in chosen)) - set().union(*(names[i][1] for i in chosen))
    for i in reversed([i for i in code if code[0] < i < start]):
        if names[i][1] & need:
            chosen.add(i)
            need = (need - names[i][1]) | names[i][0]
    return sorted(chosen)


def open_and_run_cells(page, lab, notebook: str, indices: list[int]) -> None:
    """Open ``notebook``, wait for an idle kernel, run the cells at ``indices`` in order,
    wait until they have run; fail with the error of any cell that raised."""
    workspace = notebook.removesuffix(".ipynb")
    page.goto(f"{lab['url']}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={lab['token']}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook")
    page.locator("#jp-main-statusbar", has_text=re.compile(r"\|\s*Idle")).wait_for(timeout=120_000)
    page.wait_for_function(f"({KERNEL_STATUS_JS})() === 'idle'", timeout=120_000)
    page.evaluate("""async (indices) => {
      const app = window.jupyterapp, nb = app.shell.currentWidget.content;
      for (const i of indices) {  // each queued in turn: the kernel runs them in this order
        nb.deselectAll(); nb.activeCellIndex = i;
        await app.commands.execute('notebook:run-cell');
      }
    }""", indices)
    page.wait_for_function(
        f"""(indices) => {{ const w = window.jupyterapp.shell.currentWidget.content.widgets;
        const done = indices.every(i => w[i].model.executionCount !== null);
        const failed = indices.some(i => w[i].model.outputs.toJSON().some(o => o.output_type === 'error'));
        return (done || failed) && ({KERNEL_STATUS_JS})() === 'idle'; }}""",
        arg=indices, timeout=RUN_TIMEOUT_MS, polling=500)
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


# chapter, whether the test runs all of it (False: the panel's slice, which is enough for
# what the test looks at; nbval runs every chapter in full), and the panel's state after its cells ran in CI
# mode (the notebook drives it from Python first: 03, 05, 06, 07 `panel.n_critic.value = 2;
# panel.run(20)`; 04 `panel.run(5)`, n_critic left at 1)
PANELS = [("03_nonsaturating.ipynb", False, {"step": 20, "n_critic": 2}),
          ("04_dcgan.ipynb", False, {"step": 5, "n_critic": 1}),
          ("05_wgan_clip.ipynb", False, {"step": 20, "n_critic": 2}),
          ("06_wgan_gp.ipynb", False, {"step": 20, "n_critic": 2}),
          ("07_wgan_div.ipynb", False, {"step": 20, "n_critic": 2})]


def test_panel_cells_are_the_set_up_the_panel_and_what_it_reads():
    # chapter 05's panel reads only the set-up cell's imports; chapter 04's needs the digits
    # (`train`) and the training cell's LR, BATCH and NOISE, and so what that cell reads
    notebooks = Path(__file__).resolve().parents[2] / "notebooks"
    for name, extra in (("05_wgan_clip.ipynb", set()), ("04_dcgan.ipynb", {"train =", "LR, BATCH"})):
        cells = nbformat.read(notebooks / name, as_version=4).cells
        chosen = panel_cells(notebooks / name)
        code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
        assert chosen[0] == code[0] and any("TrainingPanel(" in cells[i].source for i in chosen)
        between = [cells[i].source for i in chosen if code[0] < i and "panel" not in cells[i].source]
        assert all(any(e in src for src in between) for e in extra), name
        assert (between == []) == (extra == set()), name
        assert len(chosen) < len(code)  # a slice, not the whole chapter


@pytest.mark.parametrize("notebook, run_all, after_run", PANELS)
def test_training_panel_trains_takes_a_slider_and_pauses(page, lab, screenshot, notebook, run_all, after_run):
    name = notebook.removesuffix(".ipynb")
    if run_all:
        open_and_run(page, lab, notebook)
    else:
        open_and_run_cells(page, lab, notebook, panel_cells(lab["dir"] / notebook))
    assert_widgets_rendered(page, minimum=3)  # n_critic, the variant's other knob(s), the learning rate
    start = panel_status(page)
    assert start == after_run, "the panel does not show what the notebook's Python code did to it"
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
