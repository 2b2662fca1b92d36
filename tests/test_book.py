"""gan_tutor.book on small temporary books: reading book.toml, the checks, the
README table, re-executing chapters and the command line.

Each test gets a fresh copy of a two-chapter book whose pairs were made the way
an author makes them: a hand-written percent-format .py, then
``jupytext --sync`` with the repository's jupytext.toml.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import pytest

from gan_tutor.book import (Book, Chapter, check, execute, find_root, has_kernelspec, load_book,
                            main, readme_table, update_readme)

REPO = Path(__file__).resolve().parents[1]

BOOK_TOML = """\
title = "A tiny book"
repository = "someone/tiny_book"
branch = "dev"

[[chapters]]
id = "01"
title = "Which budget"
notebook = "notebooks/01_env.ipynb"
summary = "Prints GAN_TUTOR_CI."
reading_minutes = 2
run_minutes = 1

[[chapters]]
id = "02"
title = "Sums"
notebook = "notebooks/02_sums.ipynb"
summary = "Adds two numbers."
reading_minutes = 1
run_minutes = 3
"""

KERNELSPEC = """\
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
"""
HEADER = "# ---\n# jupyter:\n" + KERNELSPEC + "# ---\n"
SOURCES = {
    "01_env": HEADER + '\n# %% [markdown]\n# Which budget?\n\n# %%\nimport os\n'
                       'print(os.environ.get("GAN_TUTOR_CI"))\n',
    "02_sums": HEADER + "\n# %%\nx = 1 + 1\n",
}

BADGE = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
COLAB = "https://colab.research.google.com/github/someone/tiny_book/blob/dev/notebooks/"
# Written out by hand: what readme_table must produce for BOOK_TOML.
TABLE = f"""\
| # | Chapter | Reading | Full run | Colab |
|---|---|---|---|---|
| 01 | [Which budget](notebooks/01_env.ipynb) | 2 min | 1 min | {BADGE}({COLAB}01_env.ipynb) |
| 02 | [Sums](notebooks/02_sums.ipynb) | 1 min | 3 min | {BADGE}({COLAB}02_sums.ipynb) |"""
README_HEAD = "# Tiny\n\nIntro.\n\n<!-- chapters:start -->\n"
README_TAIL = "<!-- chapters:end -->\n\nMore text.\n"


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` in the file."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("template")
    (root / "book.toml").write_text(BOOK_TOML, encoding="utf-8")
    shutil.copy(REPO / "jupytext.toml", root / "jupytext.toml")
    (root / "notebooks").mkdir()
    for name, source in SOURCES.items():
        (root / "notebooks" / f"{name}.py").write_text(source, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "jupytext", "--sync", "--quiet",
                    *(f"notebooks/{name}.py" for name in SOURCES)], cwd=root, check=True)
    (root / "README.md").write_text(README_HEAD + "\n" + TABLE + "\n\n" + README_TAIL, encoding="utf-8")
    return root


@pytest.fixture
def book(template, tmp_path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "book"))


def printed(ipynb: Path) -> str:
    """Everything the notebook's code cells wrote to stdout."""
    cells = json.loads(ipynb.read_text(encoding="utf-8"))["cells"]
    return "".join("".join(out["text"]) for cell in cells if cell["cell_type"] == "code"
                   for out in cell["outputs"] if out.get("name") == "stdout")


# --- load_book -----------------------------------------------------------------

def test_load_book_reads_every_field(book):
    b = load_book(book)
    assert (b.title, b.repository, b.branch) == ("A tiny book", "someone/tiny_book", "dev")
    assert [(c.id, c.title, c.notebook) for c in b.chapters] == [
        ("01", "Which budget", PurePosixPath("notebooks/01_env.ipynb")),
        ("02", "Sums", PurePosixPath("notebooks/02_sums.ipynb"))]
    assert b.chapters[1].summary == "Adds two numbers."
    assert [(c.reading_minutes, c.run_minutes) for c in b.chapters] == [(2, 1), (1, 3)]


def test_chapter_paths_and_colab_links(book):
    ch = load_book(book).chapters[0]
    assert ch.py == PurePosixPath("notebooks/01_env.py")
    assert ch.colab_url == COLAB + "01_env.ipynb"
    assert ch.colab_badge == f"{BADGE}({COLAB}01_env.ipynb)"


@pytest.mark.parametrize("old, new, message", [
    ('id = "02"', 'id = "01"', "duplicate id '01'"),
    ('"notebooks/02_sums.ipynb"', '"notebooks/01_env.ipynb"', "duplicate notebook 'notebooks/01_env.ipynb'"),
    ('summary = "Adds two numbers."\n', "", r"chapter #2 \(id '02'\) is missing 'summary'"),
    ('id = "02"\n', "", r"chapter #2 is missing 'id'"),
    ('repository = "someone/tiny_book"\n', "", "the top level is missing 'repository'"),
    ('repository = "someone/tiny_book"', 'repository = "tiny_book"', "owner/name"),
    ('"notebooks/02_sums.ipynb"', '"02_sums.ipynb"', r"chapter #2 \(id '02'\): notebook must be"),
    ('"notebooks/02_sums.ipynb"', '"notebooks/02_sums.py"', r"chapter #2 \(id '02'\): notebook must be"),
    ('summary = "Adds two numbers."', 'summary = "Adds."\ncolour = "red"', "unknown key.*'colour'"),
    ("run_minutes = 3", "", r"chapter #2 \(id '02'\) is missing 'run_minutes'"),
    ("run_minutes = 3", "run_minutes = 0", "'run_minutes' must be a positive whole number"),
    ("reading_minutes = 1", 'reading_minutes = "1"', "'reading_minutes' must be a positive whole number"),
    ("reading_minutes = 1", "reading_minutes = 1.5", "'reading_minutes' must be a positive whole number"),
])
def test_load_book_rejects_bad_tables(book, old, new, message):
    edit(book / "book.toml", old, new)
    with pytest.raises(ValueError, match=message):
        load_book(book)


def test_find_root_walks_up_to_book_toml(book, tmp_path, monkeypatch):
    monkeypatch.chdir(book / "notebooks")
    assert find_root() == book.resolve()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(FileNotFoundError, match="inside the book's repository"):
        find_root()


# --- check ---------------------------------------------------------------------

def test_good_book_has_no_problems(book):
    assert check(book) == []


def test_py_edited_after_ipynb_is_out_of_sync(book):
    with open(book / "notebooks" / "01_env.py", "a", encoding="utf-8") as f:
        f.write("y = 2\n")
    [problem] = check(book)
    assert problem.startswith("chapter 01:")
    assert "out of sync" in problem
    assert "-y = 2" in problem  # the diff excerpt: the .py has the line, the .ipynb not


@pytest.mark.parametrize("suffix", [".py", ".ipynb"])
def test_missing_file_is_reported(book, suffix):
    (book / "notebooks" / f"02_sums{suffix}").unlink()
    [problem] = check(book)
    assert problem.startswith("chapter 02:")
    assert f"notebooks/02_sums{suffix} is missing" in problem


def test_unlisted_notebooks_are_reported(book):
    nb = book / "notebooks"
    for suffix in (".py", ".ipynb"):
        shutil.copy(nb / f"02_sums{suffix}", nb / f"03_extra{suffix}")
    (nb / ".ipynb_checkpoints").mkdir()  # checkpoints and non-notebook files are not chapters
    shutil.copy(nb / "01_env.ipynb", nb / ".ipynb_checkpoints" / "01_env-checkpoint.ipynb")
    (nb / "points.csv").write_text("x,y\n", encoding="utf-8")
    problems = check(book)
    assert len(problems) == 2
    assert "notebooks/03_extra.ipynb is not listed in book.toml" in problems
    assert "notebooks/03_extra.py is not listed in book.toml" in problems


def test_py_without_kernelspec_is_reported(book):
    edit(book / "notebooks" / "02_sums.py", KERNELSPEC, "")
    kernel_problems = [p for p in check(book) if "names no kernel" in p]
    assert kernel_problems == ["chapter 02: notebooks/02_sums.py names no kernel "
                               "(its jupytext header has no kernelspec)"]


@pytest.mark.parametrize("text, expected", [
    (HEADER + "\n# %%\nx = 1\n", True),
    ("# ---\n# jupyter:\n#   jupytext:\n#     formats: ipynb,py:percent\n# ---\n", False),
    ("# %%\n#   kernelspec:\nx = 1\n", False),  # outside the header it does not count
    ("", False),
])
def test_has_kernelspec(text, expected):
    assert has_kernelspec(text) is expected


# --- the README table ----------------------------------------------------------

def test_readme_table_has_one_row_per_chapter(book):
    assert readme_table(load_book(book)) == TABLE


def test_readme_table_escapes_pipes():
    ch = Chapter(id="09", title="JS | KL", notebook=PurePosixPath("notebooks/09_x.ipynb"),
                 summary="a | b", repository="o/r", branch="main", reading_minutes=5, run_minutes=2)
    row = readme_table(Book(title="t", repository="o/r", branch="main", chapters=[ch])).splitlines()[2]
    assert row.startswith(r"| 09 | [JS \| KL](notebooks/09_x.ipynb) | 5 min | 2 min | ")


@pytest.fixture
def toc_only(tmp_path) -> Path:
    """book.toml and README.md without notebooks: check() reports the missing
    files at once (no jupytext run), so the README's own problems are cheap to test."""
    root = tmp_path / "toc"
    root.mkdir()
    (root / "book.toml").write_text(BOOK_TOML, encoding="utf-8")
    (root / "README.md").write_text(README_HEAD + "\n" + TABLE + "\n\n" + README_TAIL, encoding="utf-8")
    return root


def readme_problems(root: Path) -> list[str]:
    return [p for p in check(root) if p.startswith("README.md")]


def test_stale_readme_is_reported_and_update_readme_fixes_it(toc_only):
    assert readme_problems(toc_only) == []
    edit(toc_only / "book.toml", 'title = "Sums"', 'title = "Sums and products"')
    [problem] = readme_problems(toc_only)
    assert "out of date" in problem and "python -m gan_tutor.book readme" in problem
    assert update_readme(toc_only) is True
    assert readme_problems(toc_only) == []
    text = (toc_only / "README.md").read_text(encoding="utf-8")
    assert text.startswith(README_HEAD) and text.endswith(README_TAIL)
    assert "| 02 | [Sums and products](notebooks/02_sums.ipynb) |" in text
    assert update_readme(toc_only) is False


def test_readme_without_markers(toc_only):
    (toc_only / "README.md").write_text("# Tiny\n\n" + TABLE + "\n", encoding="utf-8")
    [problem] = readme_problems(toc_only)
    assert "<!-- chapters:start -->" in problem
    with pytest.raises(ValueError, match="chapters:start"):
        update_readme(toc_only)


def test_missing_readme_is_reported(toc_only):
    (toc_only / "README.md").unlink()
    [problem] = readme_problems(toc_only)
    assert problem.startswith("README.md is missing")


# --- execute -------------------------------------------------------------------

def test_execute_runs_at_full_length(book, monkeypatch):
    monkeypatch.setenv("GAN_TUTOR_CI", "1")  # as under pytest: execute must drop it
    execute(book, ["01"])
    assert printed(book / "notebooks" / "01_env.ipynb") == "None\n"
    assert printed(book / "notebooks" / "02_sums.ipynb") == ""  # not selected, not run
    assert os.environ["GAN_TUTOR_CI"] == "1"


def test_execute_ci_keeps_short_runs(book, monkeypatch, capsys):
    monkeypatch.delenv("GAN_TUTOR_CI", raising=False)
    assert main(["execute", "--ci", "01", "--root", str(book)]) == 0
    assert printed(book / "notebooks" / "01_env.ipynb") == "1\n"
    out = capsys.readouterr().out
    assert "[01] Which budget: executing notebooks/01_env.py" in out
    assert "[01] done in " in out and " s\n" in out


def test_execute_takes_the_inputs_from_the_py(book):
    # jupytext --sync alone would take the inputs from the newer .ipynb and
    # overwrite the edit in the .py.
    py, ipynb = book / "notebooks" / "01_env.py", book / "notebooks" / "01_env.ipynb"
    with open(py, "a", encoding="utf-8") as f:
        f.write('\n# %%\nprint("edited")\n')
    later = time.time() + 60
    os.utime(ipynb, (later, later))
    execute(book, ["01"])
    assert 'print("edited")' in py.read_text(encoding="utf-8")
    assert printed(ipynb).endswith("edited\n")  # and execute() found the pair in sync


def test_execute_reports_a_failing_cell(book):
    with open(book / "notebooks" / "02_sums.py", "a", encoding="utf-8") as f:
        f.write('\n# %%\nraise RuntimeError("boom")\n')
    with pytest.raises(RuntimeError, match=r"chapter 02: .* failed \(exit code 1\)"):
        execute(book, ["02"])


def test_execute_rejects_unknown_chapters_before_running(book):
    ipynb = book / "notebooks" / "01_env.ipynb"
    before = ipynb.read_bytes()
    with pytest.raises(ValueError, match="valid ids: 01, 02"):
        execute(book, ["01", "07"])
    assert ipynb.read_bytes() == before


# --- command line --------------------------------------------------------------

def test_cli_check_exit_codes(book, toc_only, capsys):
    assert main(["check", "--root", str(book)]) == 0
    assert "OK: 2 chapters" in capsys.readouterr().out
    assert main(["check", "--root", str(toc_only)]) == 1
    assert "- chapter 02: notebooks/02_sums.py is missing" in capsys.readouterr().out


def test_cli_finds_the_root_from_a_subfolder(book, monkeypatch, capsys):
    monkeypatch.chdir(book / "notebooks")
    assert main(["list"]) == 0
    assert "notebooks/02_sums.ipynb" in capsys.readouterr().out


def test_cli_list(book, capsys):
    assert main(["list", "--root", str(book)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["01", "02"]
    assert lines[0].endswith("notebooks/01_env.ipynb") and "Which budget" in lines[0]


def test_cli_readme(book, capsys):
    edit(book / "book.toml", 'title = "Sums"', 'title = "Sums and products"')
    assert main(["readme", "--root", str(book)]) == 0
    assert "updated" in capsys.readouterr().out
    assert "| 02 | [Sums and products](notebooks/02_sums.ipynb) |" in (book / "README.md").read_text()


def test_cli_errors_exit_2(book, tmp_path, capsys):
    assert main(["execute", "07", "--root", str(book)]) == 2
    assert "valid ids: 01, 02" in capsys.readouterr().err
    assert main(["check", "--root", str(tmp_path / "nowhere")]) == 2
    assert "error:" in capsys.readouterr().err
