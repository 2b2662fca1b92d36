"""The book's static HTML edition: ``python -m gan_tutor.book html``.

One page per chapter, ``site/NN_name.html``, converted from the committed,
executed ``.ipynb`` by nbconvert's ``HTMLExporter`` (template ``lab``; nothing
is executed), and ``site/index.html``, the table of contents from ``book.toml``
with each chapter's summary and Colab badge. The pages need no network:

* Math: MathJax 2.7 is copied from the ``jupyter-server-mathjax`` package into
  ``site/mathjax/`` (the whole ``static`` folder, about 12 MB, STIX-Web fonts
  included) and each page loads it by a relative URL. That package ships only
  the STIX-Web fonts, so the pages tell MathJax's HTML-CSS output to use them
  (its default, TeX fonts, is not there). ``mathjax_url`` replaces the copy by
  any other MathJax 2 URL.
* Figures: PNG outputs are inlined by the template as ``data:image/png`` URIs.
* Widgets: an ipywidgets view cannot run without a kernel, so each
  ``application/vnd.jupyter.widget-view+json`` output becomes a short note
  (class ``widget-note``) linking to the chapter in Colab; a tqdm progress bar
  becomes a static ``<progress>`` with the text its saved state ends on. The
  saved widget state is dropped with them.
* The template's CDN scripts (require.js, mermaid, the widget html-manager) are
  not emitted; no output here needs them (no mermaid diagrams, no JavaScript
  outputs). What remains online is only linked, never loaded, except the index's
  Colab badge image: offline its alt text shows, and Colab needs a network anyway.
  (MathJax's hidden assistive MathML asks for TeX ``.otf`` fonts the package does
  not ship; the 404 changes nothing visible.)
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter

from gan_tutor.book import BADGE_IMAGE, Book, Chapter, load_book

SITE_DIR = "site"
MATHJAX_DIR = "mathjax"
LOCAL_MATHJAX_URL = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
PROGRESS_MODELS = ("FloatProgressModel", "IntProgressModel")

CHAPTER_TEMPLATE = "book_chapter.html.j2"
STYLE = """
.book-nav { display: flex; gap: 1.5em; padding: 0.5em 1em; margin-bottom: 1em;
            border-bottom: 1px solid #ddd; font-family: sans-serif; font-size: 0.95em; }
.book-nav .next { margin-left: auto; }
.widget-note { padding: 0.5em 1em; border-left: 4px solid #f9ab00; background: #fff8e1;
               font-family: sans-serif; }
.widget-note.progress { border-left-color: #ccc; background: none; }
"""
# Extends nbconvert's lab page: a nav bar at the top of <main>, no CDN scripts,
# and MathJax's HTML-CSS output told to use the STIX-Web fonts it ships with.
TEMPLATES = {CHAPTER_TEMPLATE: """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}<style type="text/css">""" + STYLE + """</style>{% endblock extra_css %}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null,
                                 webFont: "STIX-Web", imageFont: null}});
</script>
{{ super() }}
{%- endblock html_head_js_mathjax -%}
{%- block body_header -%}
{{ super() }}
{{ resources.book_nav }}
{%- endblock body_header -%}
"""}


def page_name(chapter: Chapter) -> str:
    """The chapter's page in the site: ``notebooks/NN_name.ipynb`` -> ``NN_name.html``."""
    return chapter.notebook.with_suffix(".html").name


def mathjax_static() -> Path:
    """The folder of MathJax 2.7 in the ``jupyter_server_mathjax`` package;
    RuntimeError saying what to install (or pass) when it is missing."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise RuntimeError("the offline MathJax comes from the jupyter-server-mathjax package: "
                           "`pip install jupyter-server-mathjax`, or pass --mathjax-url URL "
                           "to load MathJax 2 from elsewhere") from None
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def _progress_bar(view: dict, state: dict) -> str | None:
    """A tqdm bar (an HBox of HTML, a progress bar, HTML) as a static
    ``<progress>`` and its text at the end of the run; None for other widgets."""
    children = [state.get(ref.removeprefix("IPY_MODEL_"), {})
                for ref in view.get("state", {}).get("children", [])]
    bars = [c["state"] for c in children if c.get("model_name") in PROGRESS_MODELS]
    if view.get("model_name") != "HBoxModel" or len(bars) != 1:
        return None
    texts = [html.unescape(c["state"].get("value", "")) for c in children
             if c.get("model_name") == "HTMLModel"]
    bar = bars[0]
    return (f'<progress value="{bar.get("value", 0)}" max="{bar.get("max", 100)}"></progress> '
            f'{html.escape(" ".join(t.strip() for t in texts))}')


def replace_widgets(nb: nbformat.NotebookNode, colab_url: str) -> int:
    """Replace every widget-view output of ``nb`` (in place) by an HTML note
    of class ``widget-note``, and drop the saved widget state; returns how many."""
    state = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    generic = ("Interactive widget: it runs in JupyterLab or Colab &mdash; "
               f'<a href="{html.escape(colab_url)}">open this chapter in Colab</a>.')
    count = 0
    for cell in nb.cells:
        for i, output in enumerate(cell.get("outputs", [])):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                continue
            bar = _progress_bar(state.get(view.get("model_id"), {}), state)
            note = (f'<div class="widget-note progress">{bar}</div>' if bar
                    else f'<div class="widget-note">{generic}</div>')
            cell.outputs[i] = nbformat.v4.new_output("display_data", data={"text/html": note})
            count += 1
    return count


def _nav(book: Book, index: int) -> str:
    """Links to the contents and to the previous and next chapters."""
    def link(ch: Chapter, cls: str, arrow: str) -> str:
        text = f"{ch.id} {ch.title}"
        text = f"{arrow} {text}" if cls == "prev" else f"{text} {arrow}"
        return f'<a class="{cls}" href="{page_name(ch)}">{html.escape(text)}</a>'
    parts = ['<a class="contents" href="index.html">Contents</a>']
    if index > 0:
        parts.append(link(book.chapters[index - 1], "prev", "←"))
    if index + 1 < len(book.chapters):
        parts.append(link(book.chapters[index + 1], "next", "→"))
    return f'<nav class="book-nav">{" ".join(parts)}</nav>'


def chapter_page(root: Path, book: Book, index: int, mathjax_url: str) -> str:
    """The HTML page of ``book.chapters[index]``, from its committed ``.ipynb``."""
    chapter = book.chapters[index]
    path = Path(root) / chapter.notebook
    if not path.is_file():
        raise FileNotFoundError(f"chapter {chapter.id}: {chapter.notebook} is missing; run "
                                f"`python -m gan_tutor.book execute {chapter.id}` to create it")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several kinds on a broken file
        raise ValueError(f"chapter {chapter.id}: {chapter.notebook} is not a readable "
                         f"notebook: {err}") from err
    nb.metadata["title"] = chapter.title  # the page's <title>
    replace_widgets(nb, chapter.colab_url)
    exporter = HTMLExporter(template_name="lab", template_file=CHAPTER_TEMPLATE,
                            extra_loaders=[DictLoader(TEMPLATES)], mathjax_url=mathjax_url)
    body, _ = exporter.from_notebook_node(nb, resources={"book_nav": _nav(book, index)})
    return body


def index_page(book: Book) -> str:
    """The contents: the book's title, then per chapter its number, title
    (linked to its page), summary and "Open in Colab" badge."""
    items = "\n".join(
        f'<li><span class="number">{html.escape(ch.id)}</span> '
        f'<a class="chapter" href="{page_name(ch)}">{html.escape(ch.title)}</a>\n'
        f'  <a class="colab" href="{html.escape(ch.colab_url)}"><img src="{BADGE_IMAGE}" '
        f'alt="Open In Colab"></a>\n'
        f'  <p>{html.escape(ch.summary)}</p></li>' for ch in book.chapters)
    title = html.escape(book.title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<style>
body {{ max-width: 50em; margin: 2em auto; padding: 0 1em; font-family: sans-serif;
        line-height: 1.5; }}
ol {{ list-style: none; padding: 0; }}
li {{ margin-bottom: 1.5em; }}
.number {{ font-weight: bold; margin-right: 0.5em; }}
.chapter {{ font-size: 1.2em; }}
.colab img {{ vertical-align: middle; margin-left: 0.5em; }}
li p {{ margin: 0.3em 0 0; color: #444; }}
</style>
</head>
<body>
<h1>{title}</h1>
<ol>
{items}
</ol>
</body>
</html>
"""


def build_site(root: Path, out: Path | None = None,
               mathjax_url: str | None = None) -> tuple[Path, int]:
    """Write the HTML edition of the book at ``root`` to ``out`` (default
    ``root/site``); returns the path of ``index.html`` and the number of
    chapter pages. With ``mathjax_url`` nothing is copied and the pages load
    MathJax from that URL."""
    book = load_book(root)
    out = Path(out) if out is not None else Path(root) / SITE_DIR
    static = mathjax_static() if mathjax_url is None else None  # fail before any work
    url = LOCAL_MATHJAX_URL if static is not None else mathjax_url
    pages = {page_name(ch): chapter_page(root, book, i, url)
             for i, ch in enumerate(book.chapters)}  # all converted before anything is written
    out.mkdir(parents=True, exist_ok=True)
    if static is not None:
        shutil.copytree(static, out / MATHJAX_DIR, dirs_exist_ok=True)
    for name, text in pages.items():
        (out / name).write_text(text, encoding="utf-8")
    index = out / "index.html"
    index.write_text(index_page(book), encoding="utf-8")
    return index, len(pages)
