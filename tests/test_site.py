"""gan_tutor.site: the static HTML edition.

The real book is built once for the module, through the command line, from the
committed notebooks; its pages are then read back with ``html.parser``. The
error paths and ``--mathjax-url`` run on a one-chapter book made here.
"""

from __future__ import annotations

import base64
import contextlib
import io
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from gan_tutor.book import load_book, main
from gan_tutor.site import WIDGET_VIEW, build_site, page_name, replace_widgets

REPO = Path(__file__).resolve().parents[1]
BOOK = load_book(REPO)
LOCAL_MATHJAX = "mathjax/MathJax.js"
# Inline math in markdown: $...$, not $$...$$ and not an escaped \$.
INLINE_MATH = re.compile(r"(?<![$\\])\$[^$\n]+\$(?!\$)")
# A 1x1 PNG, for the small book's figure.
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201e2a5c6a0"
    "0000000049454e44ae426082")).decode()


class Page(HTMLParser):
    """What the tests look at in one HTML file: links, images, scripts,
    stylesheets, class names, the <title> and the visible text."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.hrefs, self.imgs, self.scripts, self.styles = [], [], [], []
        self.classes: set[str] = set()
        self.title, self.text, self._in = "", [], None
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.classes.update((a.get("class") or "").split())
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        elif tag == "img":
            self.imgs.append(a.get("src", ""))
        elif tag == "script" and "src" in a:
            self.scripts.append(a["src"])
        elif tag == "link" and "stylesheet" in (a.get("rel") or ""):
            self.styles.append(a.get("href", ""))
        self._in = tag

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in not in ("script", "style"):
            self.text.append(data)


def _notebook(chapter) -> nbformat.NotebookNode:
    return nbformat.read(REPO / chapter.notebook, as_version=4)


def _has_widgets(nb: nbformat.NotebookNode) -> bool:
    return any(WIDGET_VIEW in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The real book built by ``main(["html", ...])``: (folder, exit code, stdout)."""
    out = tmp_path_factory.mktemp("book") / "site"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["html", "--root", str(REPO), "--out", str(out)])
    return out, code, stdout.getvalue()


def test_cli_builds_the_book(site):
    out, code, stdout = site
    assert code == 0
    assert stdout.strip() == f"{out / 'index.html'} and {len(BOOK.chapters)} chapter page(s)"


def test_index_links_every_chapter_page(site):
    out, _, _ = site
    index = Page(out / "index.html")
    assert index.title == BOOK.title
    local = [h for h in index.hrefs if not h.startswith("https://")]
    assert local == [page_name(ch) for ch in BOOK.chapters]
    assert all((out / h).is_file() for h in local)
    assert [h for h in index.hrefs if h.startswith("https://")] == [ch.colab_url for ch in BOOK.chapters]
    for ch in BOOK.chapters:
        assert ch.summary in "".join(index.text)


@pytest.mark.parametrize("chapter", BOOK.chapters, ids=[ch.id for ch in BOOK.chapters])
def test_chapter_page(site, chapter):
    out, _, _ = site
    page = Page(out / page_name(chapter))
    assert page.title.strip() == chapter.title
    assert "index.html" in page.hrefs
    assert any(src.startswith("data:image/png;base64,") for src in page.imgs)
    # Every inline $...$ of the notebook's markdown reaches the page as text for MathJax.
    spans = [m for cell in _notebook(chapter).cells if cell.cell_type == "markdown"
             for m in INLINE_MATH.findall(cell.source)]
    text = "".join(page.text)
    assert spans and [s for s in spans if s not in text] == []
    # MathJax from the local copy; nothing loaded from the network.
    assert [s.split("?")[0] for s in page.scripts] == [LOCAL_MATHJAX]
    assert (out / LOCAL_MATHJAX).is_file()
    assert page.styles == []
    assert all(src.startswith("data:") for src in page.imgs)


def test_neighbours_are_linked(site):
    out, _, _ = site
    names = [page_name(ch) for ch in BOOK.chapters]
    for i, name in enumerate(names):
        hrefs = set(Page(out / name).hrefs) & set(names)
        assert hrefs == set(names[max(i - 1, 0):i] + names[i + 1:i + 2])


def test_mathjax_is_copied_with_its_fonts(site):
    out, _, _ = site
    mathjax = out / "mathjax"
    assert (mathjax / "MathJax.js").is_file()
    assert (mathjax / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()
    assert (mathjax / "config" / "Safe.js").is_file()
    assert list((mathjax / "fonts" / "HTML-CSS" / "STIX-Web" / "woff").glob("*.woff"))
    assert (mathjax / "jax" / "output" / "HTML-CSS" / "fonts" / "STIX-Web" / "fontdata.js").is_file()


def test_widgets_become_notes(site):
    out, _, _ = site
    for path in out.glob("*.html"):
        assert WIDGET_VIEW not in path.read_text(encoding="utf-8"), path.name
    with_widgets = [ch for ch in BOOK.chapters if _has_widgets(_notebook(ch))]
    assert with_widgets  # the book has some; otherwise this test checks nothing
    for ch in with_widgets:
        assert "widget-note" in Page(out / page_name(ch)).classes, ch.id


# --- a one-chapter book ------------------------------------------------------

def _widget(model_id: str) -> dict:
    return nbformat.v4.new_output("display_data", data={
        WIDGET_VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0},
        "text/plain": "Explorer(...)"})


def _progress_state() -> dict:
    """Saved state of a tqdm bar: HBox(HTML '100%', FloatProgress 10/10, HTML '10/10')."""
    def model(name, **state):
        return {"model_name": name, "state": state}
    return {"bar": model("HBoxModel", children=["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"]),
            "l": model("HTMLModel", value="100%"),
            "p": model("FloatProgressModel", value=10.0, max=10.0),
            "r": model("HTMLModel", value="10/10 [00:01&lt;00:00]")}


@pytest.fixture
def tiny(tmp_path):
    """A book with one chapter: markdown with math, a PNG, a widget and a progress bar."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book.toml").write_text(
        'title = "Tiny"\nrepository = "someone/tiny"\nbranch = "dev"\n\n[[chapters]]\n'
        'id = "01"\ntitle = "One & only"\nnotebook = "notebooks/01_one.ipynb"\n'
        'summary = "A <small> chapter."\nreading_minutes = 1\nrun_minutes = 1\n')
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# One\nThe value $V(D, G)$."),
        nbformat.v4.new_code_cell("plot()", outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": PNG}),
            _widget("explorer"), _widget("bar")])])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0, "state": _progress_state()}}
    nbformat.write(nb, tmp_path / "notebooks" / "01_one.ipynb")
    return tmp_path


def test_replace_widgets_notes_and_progress_bars(tiny):
    nb = nbformat.read(tiny / "notebooks" / "01_one.ipynb", as_version=4)
    colab = load_book(tiny).chapters[0].colab_url
    assert replace_widgets(nb, colab) == 2
    png, explorer, bar = nb.cells[1].outputs
    assert "image/png" in png.data
    assert set(explorer.data) == set(bar.data) == {"text/html"}
    assert explorer.data["text/html"].startswith('<div class="widget-note">')
    assert f'<a href="{colab}">open this chapter in Colab</a>' in explorer.data["text/html"]
    assert bar.data["text/html"] == ('<div class="widget-note progress">'
                                     '<progress value="10.0" max="10.0"></progress> '
                                     '100% 10/10 [00:01&lt;00:00]</div>')
    assert "widgets" not in nb.metadata


def test_mathjax_url_copies_nothing(tiny, tmp_path):
    url = "https://example.org/mathjax/2.7.7/MathJax.js?config=TeX-AMS_CHTML"
    index, pages = build_site(tiny, tmp_path / "out", mathjax_url=url)
    assert (index, pages) == (tmp_path / "out" / "index.html", 1)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["01_one.html", "index.html"]
    page = Page(tmp_path / "out" / "01_one.html")
    assert page.scripts == [url]
    assert page.title.strip() == "One & only"
    assert "$V(D, G)$" in "".join(page.text)
    assert "A <small> chapter." in "".join(Page(index).text)


def test_default_out_is_site_under_the_root(tiny):
    index, pages = build_site(tiny, mathjax_url="MathJax.js")
    assert (index, pages) == (tiny / "site" / "index.html", 1)


def test_missing_notebook_is_named_and_nothing_is_written(tiny, tmp_path):
    (tiny / "notebooks" / "01_one.ipynb").unlink()
    with pytest.raises(FileNotFoundError, match=r"chapter 01: notebooks/01_one\.ipynb is missing"):
        build_site(tiny, tmp_path / "out", mathjax_url="MathJax.js")
    assert not (tmp_path / "out").exists()


def test_broken_notebook_is_named(tiny, tmp_path):
    (tiny / "notebooks" / "01_one.ipynb").write_text("{not json")
    with pytest.raises(ValueError, match=r"chapter 01: notebooks/01_one\.ipynb is not a readable"):
        build_site(tiny, tmp_path / "out", mathjax_url="MathJax.js")


def test_cli_reports_a_missing_notebook(tiny, tmp_path, capsys):
    (tiny / "notebooks" / "01_one.ipynb").unlink()
    assert main(["html", "--root", str(tiny), "--out", str(tmp_path / "out")]) == 2
    assert "error: chapter 01: notebooks/01_one.ipynb is missing" in capsys.readouterr().err


def test_missing_mathjax_package_says_what_to_do(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "jupyter_server_mathjax", None)  # import now fails
    with pytest.raises(RuntimeError, match=r"pip install jupyter-server-mathjax.*--mathjax-url"):
        build_site(tiny, tmp_path / "out")
    assert not (tmp_path / "out").exists()
