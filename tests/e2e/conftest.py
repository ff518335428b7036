"""Real Chromium (Debian's package, never a downloaded build) against the app on a real socket."""

import os
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from werkzeug.serving import make_server

from models import db
from tests.conftest import make_test_app

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
PHONE = {"width": 360, "height": 740}
# The one limit on every wait (actions, navigations, expect), long enough for a loaded two-core CI
# machine. Tests wait on conditions, never on the clock, so it costs nothing while all goes well.
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)


def _unavailable(reason: str):
    # In CI a browser test that cannot run is a failure, never a silent skip.
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing: apt-get install chromium (make e2e-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """The app served over HTTP in a thread, on the same test database as `app`."""
    server_app = make_test_app()
    server = make_server("127.0.0.1", 0, server_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    with server_app.app_context():
        db.engine.dispose()


def open_context(browser, **options) -> BrowserContext:
    """A new browser context (a person's own browser) whose pages wait up to TIMEOUT_MS."""
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def phone(browser):
    context = open_context(browser, viewport=PHONE, locale="vi-VN", is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def settled(page: Page) -> None:
    """Wait until htmx has settled what it swapped in, once the test has seen the swap happen.

    htmx wires the new content's own hx- attributes (a boosted link, a field that searches as one
    types, a quiz choice) only when the swap settles, 20 ms later on an idle machine and longer on a
    loaded one: a click or a keystroke before that sends nothing, or a plain form, while a person
    would still be reading. The swapped elements carry the settling class until then.
    """
    page.wait_for_function("() => !document.querySelector('.htmx-settling')")


def wired(page: Page, selector: str) -> None:
    """Wait until htmx has wired one element of a freshly loaded page (its own data is on it), before
    a test works the element as a person would once the page is there."""
    page.wait_for_function("selector => 'htmx-internal-data' in (document.querySelector(selector) || {})", arg=selector)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
