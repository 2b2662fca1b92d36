"""The Colab path: a chapter runs with nothing but the installed package.

A learner on Colab has a notebook file and ``pip install gan_tutor`` (from the
repository), not our checkout. This test builds a wheel of the package from a
copy of its sources, installs it with ``pip install --no-deps --target`` into an
empty folder, copies one chapter's ``.ipynb`` into another empty folder outside
the repository and executes it there in CI mode, with a kernel whose
``PYTHONPATH`` puts that folder first. A relative import, a data file left out
of the wheel or a path into the checkout fails it; the kernel reports where it
imported ``gan_tutor`` from, which must be the wheel's folder.

Why a target folder and not a new virtual environment: the test runs in
whatever environment the learner installed into (a venv, a conda env, the
system interpreter), and torch & co. are already there. A venv made with
``--system-site-packages`` would see the *base* interpreter's packages, not a
venv's, so its install could not resolve torch. Here the kernel runs the same
interpreter as pytest, so it sees the same torch, and only ``gan_tutor`` comes
from the wheel. Because ``--no-deps`` does not read the wheel's dependencies,
a separate test checks them: every third-party module the package imports at
module level is declared in the wheel's ``Requires-Dist``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from gan_tutor.book import load_book

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "gan-tutor-wheel"
# What a wheel is built from; everything else in the checkout stays behind.
PACKAGE_SOURCES = ("pyproject.toml", "README.md", "gan_tutor")
# Modules that are tools for authors (the HTML edition), not read by any chapter: their
# imports come from the `dev` extra, not from the runtime dependencies.
DEV_MODULES = {"gan_tutor/site.py"}


def _run(cmd: list, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory) -> dict[str, Path]:
    """A wheel built from a copy of the package sources, installed into an empty folder."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in PACKAGE_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    dist = base / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "-w", dist, src])
    wheels = list(dist.glob("gan_tutor-*.whl"))
    assert len(wheels) == 1, f"expected one gan_tutor wheel, found {wheels}"
    site = base / "site"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", site, wheels[0]])
    return {"base": base, "site": site, "wheel": wheels[0]}


def _pythonpath(site: Path) -> str:
    """The wheel's folder first on the import path, before whatever PYTHONPATH already holds."""
    return os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])


def _env_with(site: Path) -> dict[str, str]:
    """This interpreter's environment with the wheel's folder first on the import path."""
    return {**os.environ, "PYTHONPATH": _pythonpath(site)}


def test_python_imports_the_wheel_not_the_checkout(wheel_env, tmp_path):
    done = _run([sys.executable, "-c", "import gan_tutor; print(gan_tutor.__file__)"],
                cwd=tmp_path, env=_env_with(wheel_env["site"]))
    where = Path(done.stdout.strip()).resolve()
    assert wheel_env["site"].resolve() in where.parents, f"gan_tutor imported from {where}"
    assert ROOT not in where.parents


def test_the_wheel_holds_every_module_of_the_package(wheel_env):
    names = set(zipfile.ZipFile(wheel_env["wheel"]).namelist())
    expected = {p.relative_to(ROOT).as_posix() for p in (ROOT / "gan_tutor").rglob("*.py")}
    assert expected <= names, f"left out of the wheel: {sorted(expected - names)}"


def _module_level_imports(source: str) -> set[str]:
    """Top-level names imported by statements that run when the module is imported
    (module body and its ``if``/``try`` blocks; not inside functions or classes)."""
    found: set[str] = set()

    def visit(body):
        for node in body:
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, (ast.If, ast.Try)):
                for part in ("body", "orelse", "finalbody"):
                    visit(getattr(node, part, []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(ast.parse(source).body)
    return found


def _declared(wheel: Path) -> tuple[set[str], set[str]]:
    """(runtime, dev) distribution names from the wheel's METADATA Requires-Dist."""
    with zipfile.ZipFile(wheel) as zf:
        [meta] = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        text = zf.read(meta).decode()
    runtime, dev = set(), set()
    for line in text.splitlines():
        if line.startswith("Requires-Dist:"):
            req = Requirement(line.split(":", 1)[1].strip())
            name = canonicalize_name(req.name)
            if req.marker is None or "extra" not in str(req.marker):
                runtime.add(name)  # whatever its Python-version marker says: the import may be guarded
            elif req.marker.evaluate({"extra": "dev"}):
                dev.add(name)
    return runtime, dev


def test_every_module_level_import_is_a_declared_dependency(wheel_env):
    runtime, dev = _declared(wheel_env["wheel"])
    providers = packages_distributions()  # import name -> distributions that provide it
    missing = []
    with zipfile.ZipFile(wheel_env["wheel"]) as zf:
        for name in sorted(n for n in zf.namelist() if n.startswith("gan_tutor/") and n.endswith(".py")):
            allowed = runtime | dev if name in DEV_MODULES else runtime
            for module in sorted(_module_level_imports(zf.read(name).decode())):
                if module in sys.stdlib_module_names or module in ("gan_tutor", "__future__"):
                    continue
                # a module not installed here (tomli on Python >= 3.11) is known by its own name
                dists = {canonicalize_name(d) for d in providers.get(module, [module])}
                if not dists & allowed:
                    missing.append(f"{name} imports {module} (from {sorted(dists) or 'nothing installed'})")
    assert missing == [], "not declared in pyproject.toml's dependencies:\n" + "\n".join(missing)


def _kernelspec(site: Path, home: Path) -> Path:
    """A kernel named KERNEL running this interpreter with the wheel's folder first on its
    path; the returned folder goes on JUPYTER_PATH."""
    spec = home / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "env": {"PYTHONPATH": _pythonpath(site)},
        "display_name": "gan_tutor from a wheel", "language": "python"}))
    return home


def test_a_chapter_runs_from_the_wheel_in_an_empty_folder(wheel_env, tmp_path, monkeypatch):
    # chapter 01, the quickest (nbval runs every chapter from the checkout); a cell appended
    # after it imports every module of the package, so all of it is checked from the wheel
    chapter = load_book(ROOT).chapters[0]
    workdir = tmp_path / "colab"
    workdir.mkdir()
    notebook = workdir / Path(chapter.notebook).name
    shutil.copy2(ROOT / chapter.notebook, notebook)
    assert sorted(p.name for p in workdir.iterdir()) == [notebook.name]

    monkeypatch.setenv("JUPYTER_PATH", str(_kernelspec(wheel_env["site"], tmp_path / "jupyter")))
    monkeypatch.setenv("GAN_TUTOR_CI", "1")
    nb = nbformat.read(notebook, as_version=4)
    # After the chapter: every module imports, and from where?
    nb.cells.append(nbformat.v4.new_code_cell(
        "import importlib, pkgutil, gan_tutor\n"
        "modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(gan_tutor.__path__, 'gan_tutor.')]\n"
        "print(len(modules)); print(gan_tutor.__file__)"))
    NotebookClient(nb, kernel_name=KERNEL, timeout=600,
                   resources={"metadata": {"path": str(workdir)}}).execute()

    first = "".join(o.get("text", "") for o in nb.cells[next(i for i, c in enumerate(nb.cells)
                                                              if c.cell_type == "code")].outputs)
    # the set-up cell names the device it picked (the CPU here, CUDA on a GPU machine)
    assert re.search(r"device: (cpu|cuda)", first), f"the set-up cell should say which device it found:\n{first}"
    count, where = nb.cells[-1].outputs[0]["text"].split()
    assert int(count) == len([p for p in (ROOT / "gan_tutor").rglob("*.py") if p.name != "__init__.py"]) \
        + len([p for p in (ROOT / "gan_tutor").rglob("__init__.py") if p.parent != ROOT / "gan_tutor"])
    where = Path(where).resolve()
    assert wheel_env["site"].resolve() in where.parents, f"the kernel imported gan_tutor from {where}"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
