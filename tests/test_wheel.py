"""The Colab path: a chapter runs with nothing but the installed package.

A learner on Colab has a notebook file and ``pip install gan_tutor`` (from the
repository), not our checkout. This test builds a wheel of the package,
installs it into a fresh virtual environment (``--system-site-packages`` reuses
the torch, numpy, ... already installed here; ``--no-index`` keeps pip off the
network, so a dependency missing from both fails the install), copies one
chapter's ``.ipynb`` into an empty folder outside the repository and executes it
there in CI mode with a kernel running the venv's Python. A relative import, a
data file left out of the wheel or a path into the checkout fails it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from gan_tutor.book import load_book

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "gan-tutor-wheel"
# What a wheel is built from; everything else in the checkout stays behind.
PACKAGE_SOURCES = ("pyproject.toml", "README.md", "gan_tutor")


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory) -> dict[str, Path]:
    """A wheel built from a copy of the package sources, installed into a new venv."""
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
          "-w", str(dist), str(src)])
    wheels = list(dist.glob("gan_tutor-*.whl"))
    assert len(wheels) == 1, f"expected one gan_tutor wheel, found {wheels}"

    env_dir = base / "venv"
    # No pip of its own: ensurepip would also bring an old setuptools that shadows the one torch
    # requires. The system's pip, run by the venv's Python, installs into the venv.
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--no-index", str(wheels[0])])
    return {"base": base, "python": python, "venv": env_dir, "wheel": wheels[0]}


def _where_imported(python: Path, cwd: Path) -> Path:
    done = _run([str(python), "-c", "import gan_tutor; print(gan_tutor.__file__)"], cwd=cwd)
    return Path(done.stdout.strip()).resolve()


def test_the_venv_imports_the_wheel_not_the_checkout(wheel_env, tmp_path):
    where = _where_imported(wheel_env["python"], tmp_path)
    assert wheel_env["venv"].resolve() in where.parents, f"gan_tutor imported from {where}"
    assert ROOT not in where.parents


def test_the_wheel_holds_every_module_of_the_package(wheel_env):
    import zipfile
    names = set(zipfile.ZipFile(wheel_env["wheel"]).namelist())
    expected = {p.relative_to(ROOT).as_posix() for p in (ROOT / "gan_tutor").rglob("*.py")}
    assert expected <= names, f"left out of the wheel: {sorted(expected - names)}"


def _kernelspec(wheel_env, home: Path) -> Path:
    """A kernel named KERNEL that runs the venv's Python; returned folder goes on JUPYTER_PATH."""
    spec = home / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(wheel_env["python"]), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "gan_tutor from a wheel", "language": "python"}))
    return home


def test_a_chapter_runs_from_the_wheel_in_an_empty_folder(wheel_env, tmp_path, monkeypatch):
    chapter = load_book(ROOT).chapters[-1]  # the newest chapter imports the most of the package
    workdir = tmp_path / "colab"
    workdir.mkdir()
    notebook = workdir / Path(chapter.notebook).name
    shutil.copy2(ROOT / chapter.notebook, notebook)
    assert sorted(p.name for p in workdir.iterdir()) == [notebook.name]

    monkeypatch.setenv("JUPYTER_PATH", str(_kernelspec(wheel_env, tmp_path / "jupyter")))
    monkeypatch.setenv("GAN_TUTOR_CI", "1")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    nb = nbformat.read(notebook, as_version=4)
    # After the chapter: where did the kernel import the package from?
    nb.cells.append(nbformat.v4.new_code_cell("import gan_tutor; print(gan_tutor.__file__)"))
    NotebookClient(nb, kernel_name=KERNEL, timeout=600,
                   resources={"metadata": {"path": str(workdir)}}).execute()

    first = "".join(o.get("text", "") for o in nb.cells[next(i for i, c in enumerate(nb.cells)
                                                              if c.cell_type == "code")].outputs)
    # the set-up cell names the device it picked (the CPU here, CUDA on a GPU machine)
    assert re.search(r"device: (cpu|cuda)", first), f"the set-up cell should say which device it found:\n{first}"
    where = Path(nb.cells[-1].outputs[0]["text"].strip()).resolve()
    assert wheel_env["venv"].resolve() in where.parents, f"the kernel imported gan_tutor from {where}"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
