"""The chapters as a learner meets them: every notebook listed in book.toml
starts with the Colab-ready set-up cell, was committed after a full-length run,
and imports the package instead of redefining it. (Their outputs are compared
by nbval; this file checks what nbval cannot.)"""

from __future__ import annotations

import ast
import importlib
import math
import pkgutil
import re
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import gan_tutor
from gan_tutor.book import install_block, load_book

ROOT = Path(__file__).resolve().parents[1]
BOOK = load_book(ROOT)
CHAPTERS = {ch.id: ch for ch in BOOK.chapters}


def code_cells(chapter) -> list:
    nb = nbformat.read(ROOT / chapter.notebook, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def package_names() -> set[str]:
    """Every public function and class defined in a gan_tutor module."""
    names = set()
    for mod in pkgutil.walk_packages(gan_tutor.__path__, "gan_tutor."):
        module = importlib.import_module(mod.name)
        names |= {n for n, obj in vars(module).items()
                  if not n.startswith("_") and callable(obj) and getattr(obj, "__module__", "") == mod.name}
    return names


@pytest.mark.parametrize("cid", CHAPTERS)
def test_first_code_cell_installs_picks_the_device_and_seeds(cid):
    first = code_cells(CHAPTERS[cid])[0]
    src = first.source
    # Colab: installs the package from the repository named in book.toml when the import fails;
    # the same lines in every chapter (gan_tutor.book.INSTALL_BLOCK), with book.toml's repository
    assert src.startswith(install_block(BOOK)), \
        "the first cell must start with gan_tutor.book.install_block(book) (the install lines, book.toml's repository)"
    assert "runtime.setup(seed=" in src and "print(rt)" in src
    # its output names the device, which differs between machines: not compared by nbval
    assert "nbval-ignore-output" in first.metadata.get("tags", [])


@pytest.mark.parametrize("cid", CHAPTERS)
def test_committed_outputs_come_from_a_full_length_run(cid):
    cells = code_cells(CHAPTERS[cid])
    assert all(c.execution_count is not None for c in cells), "a code cell was never executed"
    counts = [c.execution_count for c in cells]
    assert counts == list(range(1, len(cells) + 1)), "cells were not executed top to bottom in one run"
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert not errors
    setup_text = "".join(o.get("text", "") for o in cells[0].outputs)
    assert "full length" in setup_text and "CI mode" not in setup_text


@pytest.mark.parametrize("cid", CHAPTERS)
def test_notebooks_never_redefine_package_code(cid):
    defined = set()
    for cell in code_cells(CHAPTERS[cid]):
        tree = ast.parse(cell.source)
        defined |= {node.name for node in ast.walk(tree)
                    if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))}
    clashes = defined & package_names()
    assert not clashes, f"chapter {cid} redefines gan_tutor's {sorted(clashes)}"


@pytest.mark.parametrize("cid", CHAPTERS)
def test_varying_cells_are_tagged_and_the_rest_are_compared(cid):
    """Training and widget cells vary between runs and machines; everything else is compared."""
    for cell in code_cells(CHAPTERS[cid]):
        tags = cell.metadata.get("tags", [])
        varies = ("runtime.steps(" in cell.source or "Explorer(" in cell.source)
        if varies:
            assert "nbval-ignore-output" in tags, cell.source[:80]
    compared = [c for c in code_cells(CHAPTERS[cid]) if "nbval-ignore-output" not in c.metadata.get("tags", [])]
    assert len(compared) >= 3, "most of a chapter's claims must be compared by nbval"


class _AsksForAPassword(BaseHTTPRequestHandler):
    """A private repository, as git meets it over HTTP: every request wants credentials."""

    def do_GET(self):
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="private"')
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def private_repository():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AsksForAPassword)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/someone/gan_tutor"
    finally:
        server.shutdown()
        server.server_close()


def _run_install_cell(url: str, tmp_path) -> tuple[dict, list]:
    """Run the install lines with ``url`` as REPO in a real kernel where gan_tutor cannot be
    imported; returns the error output and the outputs of a cell after it."""
    block = install_block(BOOK)
    assert block.count(f'REPO = "https://github.com/{BOOK.repository}"') == 1
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import sys\nsys.modules['gan_tutor'] = None  # as if not installed"),
        nbformat.v4.new_code_cell(block.replace(f"https://github.com/{BOOK.repository}", url)),
        nbformat.v4.new_code_cell("print('a later cell ran')")])
    with pytest.raises(CellExecutionError):
        NotebookClient(nb, kernel_name="python3", timeout=120,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    [error] = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    return error, nb.cells[2].outputs


def _assert_one_readable_error(error, url: str, reason: str) -> None:
    assert error.ename == "RuntimeError"
    assert url in error.evalue and "internet" in error.evalue and "public" in error.evalue
    assert "%pip install" in error.evalue and "wheel" in error.evalue
    assert reason in error.evalue.split("(", 1)[1]  # git's own reason is quoted
    traceback = "\n".join(error.traceback)
    assert "During handling" not in traceback and "CalledProcessError" not in traceback


def test_the_install_cell_fails_with_one_readable_error_when_the_repository_is_unreachable(tmp_path):
    """What a learner sees on Colab when the runtime is offline: one RuntimeError naming the
    URL, git's reason and what to do, with no chained tracebacks; Run All stops there, so no
    NameError follows in later cells."""
    unreachable = "https://127.0.0.1:9/nobody/gan_tutor"  # port 9 (discard): refused at once, offline too
    error, later = _run_install_cell(unreachable, tmp_path)
    _assert_one_readable_error(error, unreachable, "127.0.0.1")
    assert later == []  # execution stopped at the failing cell


def test_the_install_cell_does_not_wait_for_a_password_on_a_private_repository(tmp_path, private_repository):
    """A private (or misspelt) repository: git is told not to prompt (GIT_TERMINAL_PROMPT=0), so
    the cell fails at once with git's reason instead of pip's 'could not read Username' buried
    in two tracebacks."""
    error, _ = _run_install_cell(private_repository, tmp_path)
    _assert_one_readable_error(error, private_repository, "fatal:")


def _prose_words(chapter) -> int:
    """Words of the chapter's markdown cells, with LaTeX ($...$, $$...$$) left out."""
    nb = nbformat.read(ROOT / chapter.notebook, as_version=4)
    text = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$]*\$", " ", text)
    return len(re.findall(r"[A-Za-z][\w'’-]*", text))


def _run_seconds(chapter) -> float:
    """Wall time of the committed run: first cell's input to the last cell's reply (nbclient's
    timing metadata, written by `python -m gan_tutor.book execute`)."""
    cells = code_cells(chapter)
    stamps = [c.metadata.get("execution", {}) for c in (cells[0], cells[-1])]
    assert all(stamps), f"chapter {chapter.id}: the committed notebook has no execution timing"
    start = datetime.fromisoformat(stamps[0]["iopub.execute_input"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(stamps[1]["shell.execute_reply"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


@pytest.mark.parametrize("cid", CHAPTERS)
def test_book_toml_times_match_the_chapter(cid):
    """book.toml's minutes (shown in the README) against the notebook itself: reading at 100
    to 200 words of prose a minute (plus up to 10 for code and figures), and at least the
    committed full-length run's wall time, at most half as long again plus a minute."""
    chapter = CHAPTERS[cid]
    words, seconds = _prose_words(chapter), _run_seconds(chapter)
    assert words / 200 <= chapter.reading_minutes <= words / 100 + 10, (words, chapter.reading_minutes)
    assert math.ceil(seconds / 60) <= chapter.run_minutes <= 1.5 * seconds / 60 + 1, (seconds, chapter.run_minutes)


def _markdown(chapter) -> str:
    nb = nbformat.read(ROOT / chapter.notebook, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("cid", CHAPTERS)
def test_every_chapter_ends_with_three_to_five_exercises_and_their_solutions(cid):
    text = _markdown(CHAPTERS[cid])
    assert "## Exercises" in text, "a chapter ends with exercises (CONTRIBUTING.md)"
    exercises = text[text.rindex("## Exercises"):]
    assert "### Solutions" in exercises
    asked, answered = exercises.split("### Solutions")
    items = re.findall(r"^(\d+)\. ", asked, flags=re.M)
    assert 3 <= len(items) <= 5 and items == [str(i) for i in range(1, len(items) + 1)], items
    assert re.findall(r"^(\d+)\. ", answered, flags=re.M) == items, "one solution per exercise"


@pytest.mark.parametrize("cid", CHAPTERS)
def test_prose_keeps_no_lab_log(cid):
    """Benchmark history, trial runs and seed statistics belong in BENCHMARKS.md; a chapter
    may point there in a sentence, but quotes no README or trial."""
    text = _markdown(CHAPTERS[cid])
    found = re.findall(r"README|\btrial runs?\b|\btrials\b|seeds \d", text)
    assert found == [], found
