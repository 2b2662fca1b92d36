"""Fixtures for the real-browser tests: Debian's Chromium driven by Playwright,
JupyterLab on 127.0.0.1 serving a copy of the notebooks, and the HTML edition
served over HTTP.

Chromium comes from the system (``apt-get install -y chromium``), never from
``playwright install`` (that downloads a browser, which fails offline). Without
it the tests skip with a reason that says how to install it; with
``GAN_TUTOR_REQUIRE_BROWSER=1`` (set by ``.ci/run``) a missing browser fails
instead, so CI can never pass these tests by skipping them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_ENV = "GAN_TUTOR_REQUIRE_BROWSER"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
INSTALL_HINT = ("install Debian's Chromium (`sudo apt-get install -y chromium`) and Playwright's Python "
                "package (`pip install playwright`, no `playwright install`)")


def _unavailable(reason: str):
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires the browser tests to run; {INSTALL_HINT}")
    pytest.skip(f"{reason}: {INSTALL_HINT} to run the browser tests")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _unavailable("no `chromium` executable on PATH")
    return path


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Chromium for one test module. Module scope, not session: Playwright's sync API
    keeps an asyncio loop marked running in this thread while it is active, which
    would break later tests that call ``asyncio.run``."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the `playwright` Python package is not installed")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def screenshot(page, screenshot_dir, request, record_property):
    """``screenshot(name)`` saves a full-page PNG and attaches its path to the report
    (a ``screenshot`` property in JUnit XML, and a section printed with the test's output)."""
    taken: list[str] = []

    def take(name: str) -> Path:
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(str(path))
        record_property("screenshot", str(path))
        return path

    yield take
    if taken:
        request.node.add_report_section("call", "screenshots", "\n".join(taken))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen | None, log: Path | None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text() if log else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"no answer from {url} after {timeout} s:\n{log.read_text() if log else ''}")


def stop(proc: subprocess.Popen) -> None:
    """Stop a server by its PID: SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium_path) -> dict:
    """JupyterLab on 127.0.0.1 with a random token, on a copy of notebooks/*.ipynb.

    Kernels inherit GAN_TUTOR_CI=1 (short runs). Lab's settings and workspaces live
    in a temporary folder, with the notebook's windowing turned off so every cell is
    in the page; the app is exposed as ``window.jupyterapp`` so tests can run commands.
    """
    base = tmp_path_factory.mktemp("lab")
    notebooks = base / "notebooks"
    notebooks.mkdir()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy2(nb, notebooks / nb.name)
    settings = base / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "GAN_TUTOR_CI": "1",
           "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(base / "runtime")}
    log = base / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={notebooks}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--ServerApp.allow_root=True"]  # CI containers run as root
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=base)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/api/status?token={token}", proc, log)
        yield {"url": url, "token": token, "dir": notebooks, "log": log, "pid": proc.pid}
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def site(tmp_path_factory, chromium_path) -> dict:
    """The HTML edition (``gan_tutor.site.build_site``) served over HTTP on 127.0.0.1."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from gan_tutor.site import build_site

    out = tmp_path_factory.mktemp("site")
    index, pages = build_site(ROOT, out)
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output readable
            pass

    handler = functools.partial(Quiet, directory=str(out))
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_port}", "dir": out, "pages": pages}
    finally:
        server.shutdown()
        server.server_close()
