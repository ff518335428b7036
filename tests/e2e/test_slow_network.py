"""The resident's first page on a cheap phone over slow 4G (issue 11, item 2), in Chromium with the
network and the CPU throttled through the DevTools protocol, at 360×740.

How long the page takes to become usable is a speed figure, so it is measured by bench/slow_4g.py and
recorded in BENCHMARKS.md, not asserted here: a two-core CI machine under load would make any time
limit either flaky or too generous to catch anything. What is asserted is what decides that time and
does not vary from run to run: the requests the page needs and their bytes on the wire, on a first
visit and on a repeat visit (which must fetch the page alone, its static files coming from the cache),
and that the join form is there to use once the page has loaded.
"""

from datetime import timedelta

import pytest
from playwright.sync_api import CDPSession, Page, expect

from core.clock import now
from models import db
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from tests.core.test_wire_budget import FIRST_VISIT_BUDGET, REPEAT_VISIT_BUDGET
from tests.e2e.conftest import PHONE, open_context

# Lighthouse's "slow 4G" (150 ms round trip, 1.6 Mbps down, 750 kbps up) as it applies it through
# DevTools, request by request: the latency × 3.75 and the throughputs × 0.9, the same figures as
# Chromium's own "Slow 4G" preset. Lighthouse's mobile run also slows the CPU 4×.
SLOW_4G = {
    "offline": False,
    "latency": 150 * 3.75,
    "downloadThroughput": 1638.4 * 0.9 * 1024 / 8,
    "uploadThroughput": 750 * 0.9 * 1024 / 8,
}
CPU_SLOWDOWN = 4
PAGE_RESOURCES = {"Document", "Stylesheet", "Script", "Image", "Font"}


def throttle(page: Page, network: dict = SLOW_4G, cpu: float = CPU_SLOWDOWN) -> CDPSession:
    """Throttle this page's network and CPU; the DevTools session, with its Network domain enabled."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", network)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    return cdp


class Transfers:
    """What the page fetched from the network, as Chromium counts it: each request's URL and its bytes
    on the wire (response headers and compressed body). Answers from the browser's cache are apart.

    The icon is left out: the browser fetches it on its own, after the page, and at times again."""

    def __init__(self, cdp: CDPSession):
        self.urls: dict[str, str] = {}
        self.cached: set[str] = set()
        self.sizes: dict[str, int] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", lambda event: self.cached.add(event["requestId"]))
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event: dict) -> None:
        if event.get("type") in PAGE_RESOURCES:
            self.urls[event["requestId"]] = event["request"]["url"]

    def _received(self, event: dict) -> None:
        response = event["response"]
        if response.get("fromDiskCache") or response.get("fromMemoryCache"):
            self.cached.add(event["requestId"])

    def _finished(self, event: dict) -> None:
        self.sizes[event["requestId"]] = int(event["encodedDataLength"])

    def clear(self) -> None:
        self.urls.clear()
        self.cached.clear()
        self.sizes.clear()

    def fetched(self) -> list[str]:
        """The paths fetched from the network, in the order they were asked for."""
        return [url.split("://", 1)[1].partition("/")[2] for key, url in self.urls.items() if key not in self.cached]

    def from_cache(self) -> list[str]:
        return [url.split("://", 1)[1].partition("/")[2] for key, url in self.urls.items() if key in self.cached]

    def wire_bytes(self) -> int:
        return sum(size for key, size in self.sizes.items() if key in self.urls and key not in self.cached)


def loaded(page: Page) -> dict:
    """The navigation's timing, read from the page (milliseconds since it started)."""
    return page.evaluate(
        """() => {
          const [entry] = performance.getEntriesByType("navigation");
          return {dcl: entry.domContentLoadedEventEnd, load: entry.loadEventEnd, size: entry.transferSize};
        }"""
    )


@pytest.fixture
def quiz_path(people, tree):
    """The QR link of a quiz open now (the live server runs on the real clock)."""
    seed_question_bank()
    at = now()
    fields = QuizFields("An toàn mạng", tree["W1"], None, 5, 180, 2, at - timedelta(hours=1), at + timedelta(hours=3))
    quiz = create_quiz(people["leader1"], fields)
    db.session.commit()
    return f"/q/{quiz.slug}?u=Q1"


def visit_over_slow_4g(browser, url: str, button: str) -> tuple[Page, Transfers, list[str]]:
    """A phone's first visit to `url` over slow 4G: the page once loaded, with `button` there to use."""
    context = open_context(browser, viewport=PHONE, locale="vi-VN", is_mobile=True, has_touch=True)
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else None)
    transfers = Transfers(throttle(page))
    page.goto(url, wait_until="load")
    expect(page.get_by_role("button", name=button)).to_be_enabled()
    assert loaded(page)["load"] > 0
    return page, transfers, refused


def named_files(page: Page) -> list[str]:
    """The stylesheets and scripts the page asks for, which it waits for before it is usable."""
    return sorted(
        path.lstrip("/")
        for path in page.evaluate(
            "() => [...document.querySelectorAll('link[rel=stylesheet], script[src]')]"
            ".map((element) => element.getAttribute(element.src ? 'src' : 'href'))"
        )
    )


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_over_slow_4g_the_quiz_page_is_usable_after_one_request(browser, live_server, quiz_path, lang):
    """The QR page needs one round trip: its styles come inline (allowed by their hash) and it runs no
    script, so nothing waits for a second request; the repeat visit costs the page alone again."""
    url = f"{live_server}{quiz_path}&lang={lang}"
    page, transfers, refused = visit_over_slow_4g(browser, url, "Bắt đầu" if lang == "vi" else "Start")
    assert transfers.fetched() == [quiz_path.lstrip("/") + f"&lang={lang}"]
    assert named_files(page) == []
    start = page.get_by_role("button", name="Bắt đầu" if lang == "vi" else "Start")
    # Styled by the app's stylesheet (.button.primary: white on red), not the browser's grey button.
    assert start.evaluate("(button) => getComputedStyle(button).color") == "rgb(255, 255, 255)"
    assert refused == []
    assert transfers.wire_bytes() <= FIRST_VISIT_BUDGET, f"first visit {transfers.wire_bytes()} bytes"
    transfers.clear()
    page.goto(url, wait_until="load")
    assert transfers.fetched() == [quiz_path.lstrip("/") + f"&lang={lang}"]
    assert transfers.wire_bytes() <= REPEAT_VISIT_BUDGET, f"repeat visit {transfers.wire_bytes()} bytes"
    page.context.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_over_slow_4g_login_loads_its_files_once_and_then_only_the_page(browser, live_server, lang):
    url = f"{live_server}/login?lang={lang}"
    page, transfers, refused = visit_over_slow_4g(browser, url, "Đăng nhập" if lang == "vi" else "Sign in")
    first = transfers.fetched()
    assert first[0] == f"login?lang={lang}"
    named = named_files(page)
    assert any("htmx" in path for path in named) and any(".css" in path for path in named)
    assert sorted(first[1:]) == named, "each static file the page names, once, and nothing else"
    assert transfers.wire_bytes() <= FIRST_VISIT_BUDGET, f"first visit {transfers.wire_bytes()} bytes"
    assert refused == []

    transfers.clear()
    page.goto(url, wait_until="load")
    assert transfers.fetched() == [first[0]], "a repeat visit asks the server for the page alone"
    assert sorted(transfers.from_cache()) == sorted(first[1:])
    assert transfers.wire_bytes() <= REPEAT_VISIT_BUDGET, f"repeat visit {transfers.wire_bytes()} bytes"
    page.context.close()
