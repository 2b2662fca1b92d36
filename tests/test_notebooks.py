"""The chapters as a learner meets them: every notebook listed in book.toml
starts with the Colab-ready set-up cell, was committed after a full-length run,
and imports the package instead of redefining it. (Their outputs are compared
by nbval; this file checks what nbval cannot.)"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import nbformat
import pytest

import gan_tutor
from gan_tutor.book import load_book

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
    # Colab: installs the package from the repository named in book.toml when the import fails
    assert "except ImportError" in src
    assert f"git+https://github.com/{BOOK.repository}" in src, "install URL and book.toml disagree"
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
