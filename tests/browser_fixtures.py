"""Browser-test fixtures (a pytest plugin loaded by tests/conftest.py).

Playwright driving Debian's Chromium against the embedded platform on a free port.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from tests.conftest import CI, DEMO_PASSWORD, seeded_platform

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"  # in the checkout, git-ignored
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The embedded platform served over HTTP on 127.0.0.1 (a port the OS picks); yields its base URL."""
    from werkzeug.serving import make_server

    pf = seeded_platform(tmp_path_factory)
    server = make_server("127.0.0.1", 0, pf.wsgi(), threaded=True)
    # shutdown waits for the loop's next look at its flag: every 50 ms rather than the default 0.5 s
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield type("Live", (), {"url": f"http://127.0.0.1:{server.server_port}", "platform": pf})
    server.shutdown()  # stops the loop before the socket closes
    thread.join(timeout=10)
    server.server_close()
    pf.stop()


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        if CI:
            pytest.fail("Debian's chromium is required with CI=true (make test installs it)")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN", accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    ctx.close()


def login(page, base_url: str, username: str, group: str = "demo", password: str = DEMO_PASSWORD) -> None:
    """Log in through the form, as a person would."""
    page.goto(f"{base_url}/identity/login")
    page.fill("input[name=group]", group)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def screenshot(page, name: str) -> Path:
    """Keep a screenshot under test-artifacts/ to look at (not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


os.environ.setdefault("PLAYWRIGHT_BROWSERS_PATH", "0")
