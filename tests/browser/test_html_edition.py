"""The HTML edition in a real browser, served from 127.0.0.1 with every other
host blocked: the index links to each chapter, the chapter pages typeset their
equations with the local MathJax and show their figures."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from gan_tutor.book import load_book
from gan_tutor.site import page_name

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def offline(page) -> list[str]:
    """Abort every request that leaves 127.0.0.1; returns the list of what was blocked."""
    blocked: list[str] = []

    def route(r):
        if urlparse(r.request.url).hostname in ("127.0.0.1", None) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return blocked


MATH_DONE_JS = """() => window.MathJax && MathJax.Hub && MathJax.Hub.queue &&
  MathJax.Hub.queue.pending === 0 && !MathJax.Hub.queue.running &&
  document.querySelectorAll('.MathJax, .MathJax_Display, .MathJax_CHTML').length > 0"""


def test_index_links_every_chapter_and_chapters_render(page, site, screenshot):
    blocked = offline(page)
    book = load_book(ROOT)
    page.goto(f"{site['url']}/index.html")
    links = page.locator("a.chapter")
    assert [links.nth(i).inner_text() for i in range(links.count())] == [ch.title for ch in book.chapters]
    screenshot("site-index")

    for i, chapter in enumerate(book.chapters):
        page.goto(f"{site['url']}/index.html")
        with page.expect_navigation():
            page.locator("a.chapter").nth(i).click()
        assert page.url.endswith("/" + page_name(chapter))
        assert page.title() == chapter.title
        # Equations: MathJax has finished and left no raw TeX in the prose.
        page.wait_for_function(MATH_DONE_JS, timeout=60_000)
        prose = page.locator(".jp-RenderedMarkdown").all_inner_texts()
        raw = [t for t in prose if "$" in t]
        assert not raw, f"{chapter.id}: untypeset math left in the page: {raw[0][:200]!r}"
        # Figures: every image loaded and has pixels.
        assert page.locator(".jp-OutputArea-output img").count() >= 1
        broken = page.evaluate("() => [...document.images].filter(im => !(im.complete && im.naturalWidth > 0))"
                               ".map(im => im.src.slice(0, 80))")
        assert not broken, f"{chapter.id}: images that did not load: {broken}"
        screenshot(f"site-{chapter.id}")
    # Only the index's Colab badge image lives outside; nothing a chapter needs was blocked.
    assert all(urlparse(u).hostname == "colab.research.google.com" for u in blocked), blocked
