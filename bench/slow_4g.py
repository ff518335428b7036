"""Time to a usable page on a cheap phone over slow 4G: the resident's quiz QR page and /login.

    .venv/bin/python bench/slow_4g.py [--runs 5] [--workers 2]

Seeds the small demo into a fresh SQLite file and serves it with gunicorn on 127.0.0.1. For each page,
language and network profile, a new Chromium context at 360×740 (Debian's /usr/bin/chromium) with the
network and the CPU (4×, `--cpu`) throttled through the DevTools protocol opens the page (first visit), then
opens it again (repeat visit, static files in the cache). "usable" is the navigation's loadEventEnd
read from the page (Navigation Timing): the stylesheet applied, the deferred scripts run, the form's
button there and enabled (checked). Also printed: DOMContentLoaded, first contentful paint, the
requests that went to the network and their bytes as Chromium counts them (over plain HTTP Chromium
offers gzip, not brotli), and the bytes as tests/core/test_wire_budget.py counts them (a phone over
HTTPS offering brotli: header lines plus compressed body). Medians over the runs.

Profiles: "slow-4g" is Lighthouse's slow 4G applied through DevTools (562.5 ms per request, 1.47 Mbps
down, 675 kbps up: Chromium's "Slow 4G" preset); "rtt-150" takes the same figures unadjusted (150 ms,
1.6 Mbps, 750 kbps), which is kinder than a real slow 4G link.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from gunicorn_server import gunicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.core.test_wire_budget import ASSET, BROWSER  # noqa: E402
from tests.e2e.test_slow_network import SLOW_4G, Transfers, throttle  # noqa: E402

QUIZ = "/q/an-toan-mang?u=DN-BINHLOC-CAPRANG"
PAGES = {"quiz": QUIZ + "&lang={lang}", "login": "/login?lang={lang}"}
PROFILES = {
    "slow-4g": SLOW_4G,
    "rtt-150": {
        "offline": False,
        "latency": 150,
        "downloadThroughput": 1638.4 * 1024 / 8,
        "uploadThroughput": 750 * 1024 / 8,
    },
}
TIMING = """() => {
  const [entry] = performance.getEntriesByType("navigation");
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  return {dcl: entry.domContentLoadedEventEnd, load: entry.loadEventEnd, fcp: paint ? paint.startTime : null};
}"""


def _wire_size(response) -> int:
    head = sum(len(f"{name}: {value}\r\n") for name, value in response.headers.items())
    return head + len(response.read())


def budget_bytes(base: str, path: str) -> tuple[int, int]:
    """(first visit, repeat visit) bytes counted as tests/core/test_wire_budget.py does."""

    def wire_size(url: str) -> int:
        with urllib.request.urlopen(urllib.request.Request(base + url, headers=BROWSER)) as response:
            head = sum(len(f"{name}: {value}\r\n") for name, value in response.headers.items())
            return head + len(response.read())

    with urllib.request.urlopen(base + path) as plain:
        assets = ASSET.findall(plain.read().decode())
    page = wire_size(path)
    return page + sum(wire_size(url) for url in assets), page


def visit(page, url: str, transfers: Transfers) -> dict:
    transfers.clear()
    page.goto(url, wait_until="load")
    button = page.locator("main form button").last
    button.wait_for(state="visible")
    assert button.is_enabled()
    timing = page.evaluate(TIMING)
    return timing | {"requests": len(transfers.fetched()), "bytes": transfers.wire_bytes()}


def measure(browser, base: str, path: str, network: dict, cpu: float, runs: int) -> dict[str, list[dict]]:
    visits: dict[str, list[dict]] = {"first": [], "repeat": []}
    for _run in range(runs):
        context = browser.new_context(
            viewport={"width": 360, "height": 740}, locale="vi-VN", is_mobile=True, has_touch=True
        )
        page = context.new_page()
        transfers = Transfers(throttle(page, network, cpu))
        visits["first"].append(visit(page, base + path, transfers))
        visits["repeat"].append(visit(page, base + path, transfers))
        context.close()
    return visits


def _median(rows: list[dict], key: str) -> float:
    values = [row[key] for row in rows if row[key] is not None]
    return statistics.median(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cpu", type=float, default=4, help="CPU slowdown (1: none)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "DATABASE_URL": f"sqlite:///{tmp}/slow4g.db",
            "SECRET_KEY": "bench",
            "HASH_KEY": "bench",
            "QUIZ_START_LIMIT": "100000 per minute",
            "FLASK_APP": "app",
        }
        flask = [sys.executable, "-m", "flask"]
        subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
        subprocess.run([*flask, "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
        with gunicorn(env, args.workers) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            print(f"runs={args.runs} workers={args.workers} cpu_slowdown={args.cpu:g} viewport=360x740 (medians, ms)")
            print("profile  page   lang visit   usable  dcl    fcp    requests browser_bytes budget_bytes")
            for page_name, template in PAGES.items():
                for lang in ("vi", "en"):
                    path = template.format(lang=lang)
                    budget = dict(zip(("first", "repeat"), budget_bytes(base, path), strict=True))
                    for profile, network in PROFILES.items():
                        visits = measure(browser, base, path, network, args.cpu, args.runs)
                        for kind, rows in visits.items():
                            print(
                                f"{profile:8} {page_name:6} {lang:4} {kind:7} {_median(rows, 'load'):6.0f} "
                                f"{_median(rows, 'dcl'):6.0f} {_median(rows, 'fcp'):6.0f} "
                                f"{_median(rows, 'requests'):8.0f} {_median(rows, 'bytes'):13.0f} {budget[kind]:12d}"
                            )
            browser.close()


if __name__ == "__main__":
    main()
