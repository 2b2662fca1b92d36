"""The book's table of contents: ``book.toml``, the notebook pairs and the README.

``book.toml`` (at the repository root) is the one list of chapters. Each
chapter is a jupytext pair in ``notebooks/``: ``NN_name.py`` (percent format,
the reviewed source) and ``NN_name.ipynb`` (committed with the outputs of a
full-length run). This module reads the list and keeps everything else in step
with it::

    python -m gan_tutor.book list                 # id, title and notebook of each chapter
    python -m gan_tutor.book check                # report every problem; exit 1 if any
    python -m gan_tutor.book execute [ID ...]     # re-run chapters (all by default) at full length
    python -m gan_tutor.book execute --ci 01      # short run (GAN_TUTOR_CI=1): NOT for committing
    python -m gan_tutor.book readme               # rewrite README.md's chapter table
    python -m gan_tutor.book html [--out site]    # static HTML edition (gan_tutor.site)

Every command takes ``--root PATH`` (the folder holding ``book.toml``); by
default it is found by walking up from the current directory.

``check`` reports: a listed chapter whose ``.ipynb`` or ``.py`` is missing; a
pair whose two files disagree (the ``.ipynb`` converted to ``py:percent`` by
jupytext must equal the ``.py`` byte for byte); a ``.ipynb`` or ``.py`` in
``notebooks/`` that ``book.toml`` does not list; a ``.py`` whose jupytext header
names no ``kernelspec``; and a README chapter table (between the lines
``<!-- chapters:start -->`` and ``<!-- chapters:end -->``) that differs from
:func:`readme_table`.

``execute`` runs ``jupytext --sync --execute NN_name.py`` with
``GAN_TUTOR_CI`` removed from the environment, so every loop runs its full
budget and the ``.ipynb`` receives the outputs the tests (strict nbval) compare
against. The ``.py`` is the source: it is made the newer file of the pair first,
because ``--sync`` takes the inputs from whichever file was modified last.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

BOOK_FILE = "book.toml"
README_FILE = "README.md"
NOTEBOOK_DIR = "notebooks"
README_START = "<!-- chapters:start -->"
README_END = "<!-- chapters:end -->"
CI_ENV = "GAN_TUTOR_CI"  # same name as gan_tutor.runtime.CI_ENV (not imported: that pulls in torch)
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
TABLE_HEADER = ("| # | Chapter | Reading | Full run | Colab |", "|---|---|---|---|---|")
BOOK_KEYS = ("title", "repository", "branch", "chapters")
CHAPTER_KEYS = ("id", "title", "notebook", "summary", "reading_minutes", "run_minutes")
MINUTE_KEYS = ("reading_minutes", "run_minutes")

# The first lines of every chapter's first code cell (tests/test_notebooks.py checks that
# they are exactly these, with book.toml's repository). On a kernel without the package
# (Colab) it installs it from the repository; when that fails it stops with one short
# message that names the URL and what to do, instead of pip's output, two chained
# tracebacks and a NameError in every later cell. GIT_TERMINAL_PROMPT=0: git fails at
# once on a private or missing repository instead of asking for a user name.
INSTALL_BLOCK = """\
# Setup. On Colab (or any kernel without the package) this first installs gan_tutor
# from the book's repository, REPO (a fork changes it here and in book.toml); then it
# picks the device once (CUDA when present), fixes the CPU thread count and seeds
# every generator.
import os
import subprocess
import sys

REPO = "https://github.com/{repository}"
try:
    import gan_tutor
except ImportError:
    _pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", f"gan_tutor @ git+{{REPO}}"],
                          capture_output=True, text=True, env={{**os.environ, "GIT_TERMINAL_PROMPT": "0"}})
    if _pip.returncode != 0:
        _why = [line.strip() for line in _pip.stderr.splitlines() if "fatal:" in line or "ERROR" in line]
        raise RuntimeError(
            f"Could not install gan_tutor from {{REPO}} ({{(_why or ['pip failed'])[0]}}). Check that "
            "this runtime reaches the internet and that the repository is public; or upload a "
            "gan_tutor wheel, run `%pip install gan_tutor-*.whl` in a cell, then run this cell again.") from None
    import gan_tutor
"""
DIFF_LINES = 20


@dataclass(frozen=True)
class Chapter:
    """One ``[[chapters]]`` entry; ``notebook`` is relative to the book's root.

    ``repository`` and ``branch`` are copied from the book so that a chapter
    can give its own Colab link.
    """

    id: str
    title: str
    notebook: PurePosixPath
    summary: str
    repository: str
    branch: str
    reading_minutes: int = 0  #: minutes to read it, top to bottom
    run_minutes: int = 0      #: minutes a full-length run takes on one CPU thread

    @property
    def py(self) -> PurePosixPath:
        """The paired percent-format source, ``notebooks/NN_name.py``."""
        return self.notebook.with_suffix(".py")

    @property
    def colab_url(self) -> str:
        """Opens the committed ``.ipynb`` of ``branch`` in Google Colab."""
        return (f"https://colab.research.google.com/github/"
                f"{self.repository}/blob/{self.branch}/{self.notebook}")

    @property
    def colab_badge(self) -> str:
        """Markdown for the "Open In Colab" badge linking to :attr:`colab_url`."""
        return f"[![Open In Colab]({BADGE_IMAGE})]({self.colab_url})"


@dataclass(frozen=True)
class Book:
    """The whole of ``book.toml``."""

    title: str
    repository: str
    branch: str
    chapters: list[Chapter]

    def chapter(self, chapter_id: str) -> Chapter:
        """The chapter with this id; ValueError naming the valid ids otherwise."""
        for ch in self.chapters:
            if ch.id == chapter_id:
                return ch
        valid = ", ".join(ch.id for ch in self.chapters)
        raise ValueError(f"unknown chapter {chapter_id!r}; valid ids: {valid}")


# --- reading book.toml -------------------------------------------------------

def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the current directory)
    that contains ``book.toml``."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / BOOK_FILE).is_file():
            return folder
    raise FileNotFoundError(f"no {BOOK_FILE} in {start} or any folder above it; run this "
                            f"from inside the book's repository (or pass --root)")


def _require(table: dict, keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if k not in table]
    if missing:
        raise ValueError(f"{BOOK_FILE}: {where} is missing {', '.join(map(repr, missing))}")
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise ValueError(f"{BOOK_FILE}: {where} has unknown key(s) {', '.join(map(repr, unknown))}; "
                         f"valid keys: {', '.join(keys)}")
    for key in keys:
        if key in MINUTE_KEYS:
            if isinstance(table[key], bool) or not isinstance(table[key], int) or table[key] < 1:
                raise ValueError(f"{BOOK_FILE}: {where}: {key!r} must be a positive whole number "
                                 f"of minutes, got {table[key]!r}")
        elif key != "chapters" and not (isinstance(table[key], str) and table[key].strip()):
            raise ValueError(f"{BOOK_FILE}: {where}: {key!r} must be a non-empty string, "
                             f"got {table[key]!r}")


def _notebook_path(value: str, where: str) -> PurePosixPath:
    path = PurePosixPath(value)
    if path.parent != PurePosixPath(NOTEBOOK_DIR) or path.suffix != ".ipynb":
        raise ValueError(f"{BOOK_FILE}: {where}: notebook must be {NOTEBOOK_DIR}/NAME.ipynb, "
                         f"got {value!r}")
    return path


def _chapter(entry: object, index: int, repository: str, branch: str) -> Chapter:
    if not isinstance(entry, dict):
        raise ValueError(f"{BOOK_FILE}: chapter #{index} must be a [[chapters]] table")
    where = f"chapter #{index}" + (f" (id {entry['id']!r})" if "id" in entry else "")
    _require(entry, CHAPTER_KEYS, where)
    return Chapter(id=entry["id"], title=entry["title"],
                   notebook=_notebook_path(entry["notebook"], where),
                   summary=entry["summary"], repository=repository, branch=branch,
                   reading_minutes=entry["reading_minutes"], run_minutes=entry["run_minutes"])


def _reject_duplicates(chapters: list[Chapter]) -> None:
    for field in ("id", "notebook"):
        seen: dict[str, str] = {}
        for ch in chapters:
            value = str(getattr(ch, field))
            if value in seen:
                raise ValueError(f"{BOOK_FILE}: duplicate {field} {value!r} "
                                 f"(chapters {seen[value]!r} and {ch.id!r})")
            seen[value] = ch.id


def load_book(root: Path) -> Book:
    """Read and validate ``root/book.toml``; ValueError naming the key or chapter."""
    with open(Path(root) / BOOK_FILE, "rb") as f:
        data = tomllib.load(f)
    _require(data, BOOK_KEYS, "the top level")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", data["repository"]):
        raise ValueError(f"{BOOK_FILE}: repository must be GitHub's owner/name, "
                         f"got {data['repository']!r}")
    entries = data["chapters"]
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{BOOK_FILE}: 'chapters' must be a non-empty list of [[chapters]] tables")
    chapters = [_chapter(e, i, data["repository"], data["branch"]) for i, e in enumerate(entries, 1)]
    _reject_duplicates(chapters)
    return Book(title=data["title"], repository=data["repository"],
                branch=data["branch"], chapters=chapters)


# --- the README table --------------------------------------------------------

def _cell(text: str) -> str:
    return text.replace("|", r"\|")


def install_block(book: Book) -> str:
    """The lines every chapter's first code cell starts with (:data:`INSTALL_BLOCK`)."""
    return INSTALL_BLOCK.format(repository=book.repository)


def readme_table(book: Book) -> str:
    """The README's chapter table: number, title (linked to the notebook), reading
    time, full-length run time and Colab badge, one row per chapter, no trailing newline."""
    rows = [f"| {ch.id} | [{_cell(ch.title)}]({ch.notebook}) | {ch.reading_minutes} min "
            f"| {ch.run_minutes} min | {ch.colab_badge} |" for ch in book.chapters]
    return "\n".join([*TABLE_HEADER, *rows])


def _marker_lines(lines: list[str]) -> tuple[int, int]:
    """Indices of the start and end marker lines; ValueError unless each occurs
    exactly once, start first."""
    found = {m: [i for i, line in enumerate(lines) if line.strip() == m]
             for m in (README_START, README_END)}
    if any(len(hits) != 1 for hits in found.values()) or found[README_START][0] > found[README_END][0]:
        raise ValueError(f"{README_FILE} must contain the line {README_START} and, below it, the "
                         f"line {README_END}, once each (the chapter table goes between them)")
    return found[README_START][0], found[README_END][0]


def _readme_parts(text: str) -> tuple[list[str], list[str], list[str]]:
    """README lines (with line ends) before, between and after the markers."""
    lines = text.splitlines(keepends=True)
    start, end = _marker_lines(lines)
    return lines[:start + 1], lines[start + 1:end], lines[end:]


def update_readme(root: Path) -> bool:
    """Rewrite the table between README.md's markers; True if the file changed."""
    path = Path(root) / README_FILE
    text = path.read_text(encoding="utf-8")
    head, _, tail = _readme_parts(text)
    new = "".join(head) + "\n" + readme_table(load_book(root)) + "\n\n" + "".join(tail)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def _readme_problems(root: Path, book: Book) -> list[str]:
    path = Path(root) / README_FILE
    if not path.is_file():
        return [f"{README_FILE} is missing; it must hold the chapter table between the lines "
                f"{README_START} and {README_END}"]
    try:
        _, table, _ = _readme_parts(path.read_text(encoding="utf-8"))
    except ValueError as err:
        return [str(err)]
    if "".join(table).strip() != readme_table(book):
        return [f"{README_FILE}: the chapter table is out of date with {BOOK_FILE}; "
                f"run `python -m gan_tutor.book readme`"]
    return []


# --- the notebook pairs ------------------------------------------------------

def _ipynb_as_py(root: Path, ipynb: Path) -> str:
    """The ``.ipynb`` converted to ``py:percent`` by jupytext's CLI, run in
    ``root`` so that ``jupytext.toml`` applies."""
    cmd = [sys.executable, "-m", "jupytext", "--to", "py:percent", "-o", "-", str(ipynb)]
    done = subprocess.run(cmd, cwd=root, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"jupytext could not convert {ipynb}: "
                           f"{done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout.decode("utf-8")


def pair_diff(root: Path, chapter: Chapter) -> list[str]:
    """Unified diff from the chapter's ``.py`` to its ``.ipynb`` as py:percent;
    empty when the pair is in sync."""
    expected = _ipynb_as_py(root, Path(root) / chapter.notebook)
    actual = (Path(root) / chapter.py).read_bytes().decode("utf-8")
    return list(difflib.unified_diff(actual.splitlines(), expected.splitlines(), lineterm="",
                                     fromfile=str(chapter.py),
                                     tofile=f"{chapter.notebook} as py:percent"))


def _out_of_sync(root: Path, chapter: Chapter) -> list[str]:
    try:
        diff = pair_diff(root, chapter)
    except RuntimeError as err:
        return [f"chapter {chapter.id}: {err}"]
    if not diff:
        return []
    excerpt = "\n".join("    " + line for line in diff[:DIFF_LINES])
    more = "\n    ..." if len(diff) > DIFF_LINES else ""
    return [f"chapter {chapter.id}: {chapter.py} and {chapter.notebook} are out of sync; "
            f"re-run `python -m gan_tutor.book execute {chapter.id}`:\n{excerpt}{more}"]


def _jupytext_header(text: str) -> list[str]:
    """The lines between the ``# ---`` fences that open a percent-format file."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "# ---":
        return []
    ends = [i for i, line in enumerate(lines[1:], 1) if line.strip() == "# ---"]
    return lines[1:ends[0]] if ends else []


def has_kernelspec(py_text: str) -> bool:
    """True when the jupytext header of a percent-format file has a ``kernelspec``."""
    return any(re.fullmatch(r"#\s+kernelspec:\s*", line) for line in _jupytext_header(py_text))


def _chapter_problems(root: Path, chapter: Chapter) -> list[str]:
    missing = [p for p in (chapter.notebook, chapter.py) if not (Path(root) / p).is_file()]
    if missing:
        return [f"chapter {chapter.id}: {p} is missing" for p in missing]
    problems = []
    if not has_kernelspec((Path(root) / chapter.py).read_text(encoding="utf-8")):
        problems.append(f"chapter {chapter.id}: {chapter.py} names no kernel (its jupytext "
                        f"header has no kernelspec)")
    return problems + _out_of_sync(root, chapter)


def _unlisted(root: Path, book: Book) -> list[str]:
    listed = {p for ch in book.chapters for p in (ch.notebook, ch.py)}
    folder = Path(root) / NOTEBOOK_DIR
    found = sorted(p for p in folder.glob("*") if p.suffix in (".ipynb", ".py") and p.is_file())
    rel = [PurePosixPath(NOTEBOOK_DIR, p.name) for p in found]
    return [f"{p} is not listed in {BOOK_FILE}" for p in rel if p not in listed]


def check(root: Path) -> list[str]:
    """Every problem with the book at ``root`` (see the module docstring);
    an empty list when all is well."""
    book = load_book(root)
    with ThreadPoolExecutor() as pool:  # one jupytext process per chapter, side by side
        per_chapter = list(pool.map(lambda ch: _chapter_problems(root, ch), book.chapters))
    problems = [p for chapter_problems in per_chapter for p in chapter_problems]
    return problems + _unlisted(root, book) + _readme_problems(root, book)


# --- executing ---------------------------------------------------------------

def _environment(ci: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != CI_ENV}
    if ci:
        env[CI_ENV] = "1"
    return env


def _make_newer(py: Path, ipynb: Path) -> None:
    """Give the .py a later modification time than the .ipynb: ``jupytext --sync``
    takes the inputs from the newer file, and the .py is the reviewed source."""
    ipynb_time = ipynb.stat().st_mtime if ipynb.exists() else 0.0
    t = max(time.time(), ipynb_time + 1.0)
    os.utime(py, (t, t))


def execute_chapter(root: Path, chapter: Chapter, ci: bool = False) -> None:
    """Run one chapter's ``.py`` top to bottom and write both files of the pair;
    RuntimeError if the run fails or leaves the pair out of sync."""
    py = Path(root) / chapter.py
    if not py.is_file():
        raise FileNotFoundError(f"chapter {chapter.id}: {chapter.py} is missing")
    _make_newer(py, Path(root) / chapter.notebook)
    cmd = [sys.executable, "-m", "jupytext", "--sync", "--execute", str(chapter.py)]
    done = subprocess.run(cmd, cwd=root, env=_environment(ci))
    if done.returncode != 0:
        raise RuntimeError(f"chapter {chapter.id}: `{' '.join(cmd[1:])}` failed "
                           f"(exit code {done.returncode}); see its output above")
    if pair_diff(root, chapter):
        raise RuntimeError(f"chapter {chapter.id}: the pair is still out of sync after running; "
                           f"`python -m gan_tutor.book check` shows the difference")


def execute(root: Path, chapters: list[str] | None = None, ci: bool = False) -> None:
    """Re-execute the chapters with these ids (all when None or empty) in place.

    Full length unless ``ci``: ``GAN_TUTOR_CI`` is removed from the kernel's
    environment. ``ci=True`` sets it to 1 (short runs, for a quick check only;
    never commit those outputs). Unknown ids raise ValueError before anything runs.
    """
    book = load_book(root)
    selected = [book.chapter(c) for c in chapters] if chapters else book.chapters
    mode = "CI mode (short runs, do not commit)" if ci else "full length"
    for ch in selected:
        print(f"[{ch.id}] {ch.title}: executing {ch.py} at {mode} ...", flush=True)
        start = time.perf_counter()
        execute_chapter(root, ch, ci=ci)
        print(f"[{ch.id}] done in {time.perf_counter() - start:.1f} s", flush=True)


# --- command line ------------------------------------------------------------

def _list(root: Path, args: argparse.Namespace) -> int:
    book = load_book(root)
    width = max(len(ch.title) for ch in book.chapters)
    for ch in book.chapters:
        print(f"{ch.id}  {ch.title:<{width}}  {ch.notebook}")
    return 0


def _check(root: Path, args: argparse.Namespace) -> int:
    problems = check(root)
    for problem in problems:
        print(f"- {problem}")
    if problems:
        print(f"{len(problems)} problem(s) in the book at {root}")
        return 1
    print(f"OK: {len(load_book(root).chapters)} chapters, all pairs in sync, README up to date")
    return 0


def _execute(root: Path, args: argparse.Namespace) -> int:
    execute(root, args.chapters, ci=args.ci)
    return 0


def _readme(root: Path, args: argparse.Namespace) -> int:
    changed = update_readme(root)
    print(f"{README_FILE}: chapter table {'updated' if changed else 'already up to date'}")
    return 0


def _html(root: Path, args: argparse.Namespace) -> int:
    from gan_tutor.site import build_site  # nbconvert is imported only for this command

    index, pages = build_site(root, args.out, mathjax_url=args.mathjax_url)
    print(f"{index} and {pages} chapter page(s)")
    return 0


COMMANDS = {  # name: (help, function)
    "list": ("id, title and notebook of each chapter", _list),
    "check": ("report every problem; exit 1 if any", _check),
    "execute": ("re-run chapters in place at full length", _execute),
    "readme": ("rewrite README.md's chapter table", _readme),
    "html": ("build the static HTML edition from the committed notebooks", _html),
}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, default=None,
                        help=f"folder containing {BOOK_FILE} (default: the nearest one at or "
                             f"above the current directory)")
    parser = argparse.ArgumentParser(prog="python -m gan_tutor.book",
                                     description="List, check and re-execute the book's chapters; "
                                                 "update README.md's chapter table; "
                                                 "build the HTML edition.")
    sub = parser.add_subparsers(dest="command", required=True)
    commands = {name: sub.add_parser(name, parents=[common], help=help_text)
                for name, (help_text, _) in COMMANDS.items()}
    for name, (_, run) in COMMANDS.items():
        commands[name].set_defaults(run=run)
    commands["execute"].add_argument("chapters", nargs="*", metavar="ID",
                                     help="chapter ids such as 01 (default: all)")
    commands["execute"].add_argument("--ci", action="store_true",
                                     help=f"keep {CI_ENV}=1 (short runs): a quick check only, "
                                          f"NOT for committing")
    commands["html"].add_argument("--out", type=Path, default=None,
                                  help="output folder (default: site/ in the book's root)")
    commands["html"].add_argument("--mathjax-url", default=None, metavar="URL",
                                  help="load MathJax 2 from this URL instead of copying it "
                                       "from jupyter-server-mathjax into the output")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (2 on an error)."""
    args = _parser().parse_args(argv)
    try:
        root = args.root if args.root is not None else find_root()
        return args.run(root, args)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
