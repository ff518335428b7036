"""Crawl the small demo as every demo role and anonymously, in Vietnamese and English: every same-origin
GET link a page offers, then each again with junk query values, must answer without a 5xx."""

import inspect
import re
import time
import traceback
from collections import deque
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from flask import Flask, got_request_exception
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from campaigns.services import campaign_status
from core.clock import now
from demo.campaigns import DEMO_QUIZ_SLUG
from demo.seed import DEMO_PASSWORD
from leaderboards.services import LEVELS, METRICS, PERIODS
from models import Campaign, Quiz, User, db
from screens.services import create_screen
from tests.conftest import login

ROLES = (None, "admin", "binhloc.leader", "caprang.leader", "caprang.member")
LANGUAGES = ("vi", "en")
JUNK = ("abc", "-1", "1" * 30)
# Links to one route with one set of query names (/campaigns/<slug>/leaderboard?level=&metric=&period=)
# are followed at most this many times per crawl: the three demo campaigns, not every unit or page.
MAX_VISITS = 3
ROOT = str(Path(__file__).resolve().parent.parent)
ARG_READ = re.compile(r"""(?<!\w)args(?:\.get|\.getlist)?\(\s*["'](\w+)["']|(?<!\w)args\[\s*["'](\w+)["']\s*\]""")
SKIPPED_SCHEMES = ("mailto:", "tel:", "javascript:", "data:", "blob:", "#")
# Regular expressions rather than a parser for links: parsing every page cost a tenth of the crawl.
LINK = re.compile(r"""(?<=\s)(href|src|hx-get)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
GET_FORM = re.compile(r"<form\b(?![^>]*method=[\"']?post)[^>]*>.*?</form>", re.DOTALL | re.IGNORECASE)


class GetForms(HTMLParser):
    """The forms with method get, with what a browser would submit from each."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: dict | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "form":
            method = (attributes.get("method") or "get").lower()
            self._form = None
            if method == "get":
                self._form = {
                    "action": attributes.get("action") or "",
                    "htmx": "hx-get" in attributes,
                    "fields": [],
                    "selects": [],
                }
                self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            self._form["fields"].append((name, attributes.get("value") or ("on" if kind == "checkbox" else "")))
        elif tag == "textarea" and name:
            self._form["fields"].append((name, ""))
        elif tag == "select" and name:
            self._select = {"name": name, "options": [], "selected": None}
            self._form["selects"].append(self._select)
        elif tag == "option" and self._select is not None and attributes.get("value") is not None:
            self._select["options"].append(attributes["value"])
            if "selected" in attributes:
                self._select["selected"] = attributes["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None

    def form_urls(self, page: str) -> list[tuple[str, bool]]:
        """Each GET form submitted as it stands, and once with each other option of each select."""
        urls = []
        for form in self.forms:
            action = urlsplit(urljoin(page, form["action"])).path
            chosen = {
                select["name"]: select["selected"] or (select["options"] or [""])[0] for select in form["selects"]
            }
            variants = [chosen] + [
                chosen | {select["name"]: option}
                for select in form["selects"]
                for option in select["options"]
                if option != chosen[select["name"]]
            ]
            for variant in variants:
                url = f"{action}?{urlencode(form['fields'] + list(variant.items()))}"
                urls.append((url, False))
                if form["htmx"]:
                    urls.append((url, True))
        return urls


def _params_read_by(app: Flask, endpoint: str) -> set[str]:
    """Query parameters a view reads, from its source and its module's helpers it calls (one level)."""
    view = inspect.unwrap(app.view_functions[endpoint])
    module = inspect.getmodule(view)
    functions = [view] + [
        helper
        for name in view.__code__.co_names
        if inspect.isfunction(helper := getattr(module, name, None)) and helper.__module__ == module.__name__
    ]
    names: set[str] = set()
    for function in functions:
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            continue
        names.update(a or b for a, b in ARG_READ.findall(source))
    return names - {"lang"}  # the language is switched on purpose, and remembered


class Crawl:
    """One browser: a role (None: anonymous) in one language, with its own cookies."""

    def __init__(self, app: Flask, role: str | None, language: str, statics: set, errors: list) -> None:
        self.app, self.role, self.language = app, role, language
        self.client = app.test_client()
        self.adapter = app.url_map.bind("localhost")
        self.statics, self.errors = statics, errors  # shared by every crawl
        self.fetched: set[tuple[str, bool]] = set()
        self.visits: dict[tuple, int] = {}
        self.junked: set[tuple] = set()
        self.failures: list[str] = []
        self.requests = 0

    def sign_in(self) -> None:
        if self.role is not None:
            response = login(self.client, self.role, DEMO_PASSWORD)
            assert response.status_code == 302, f"{self.role} could not sign in"
        if self.language == "en":
            page = self.client.get("/?lang=en", follow_redirects=True)
            assert '<html lang="en">' in page.text, "?lang=en did not switch to English"

    def _route(self, path: str) -> tuple[str, str | None]:
        """(the route's pattern, its endpoint); unknown paths are their own pattern, numbers replaced."""
        try:
            rule, _args = self.adapter.match(path, method="GET", return_rule=True)
            return rule.rule, rule.endpoint
        except (HTTPException, RequestRedirect):
            return re.sub(r"\d+", "<n>", path), None

    def _get(self, url: str, htmx: bool):
        self.requests += 1
        self.errors.clear()
        who = f"{self.role or 'anonymous'}, {self.language}{', htmx' if htmx else ''}"
        try:
            response = self.client.get(url, headers={"HX-Request": "true"} if htmx else {})
            response.get_data()  # read and closed: static files are streamed from open files
            response.close()
        except Exception as error:  # noqa: BLE001 - every crash is a finding, reported below
            self.failures.append(f"{url} ({who}): raised {_summary(error)}")
            return None
        if response.status_code >= 500:
            cause = _summary(self.errors[-1]) if self.errors else "no exception recorded"
            self.failures.append(f"{url} ({who}): {response.status_code} {cause}")
        return response

    def run(self, seeds: list[str], params_of) -> None:
        queue = deque((seed, False, True) for seed in seeds)
        while queue:
            url, htmx, seeded = queue.popleft()
            parts = urlsplit(url)
            if parts.path.startswith("/static/"):
                if parts.path not in self.statics:
                    self.statics.add(parts.path)
                    self._get(parts.path, False)
                continue
            pattern, endpoint = self._route(parts.path)
            query = parse_qsl(parts.query, keep_blank_values=True)
            family = (pattern, htmx, tuple(sorted({name for name, _value in query})))
            if (url, htmx) in self.fetched or not seeded and self.visits.get(family, 0) >= MAX_VISITS:
                continue
            self.fetched.add((url, htmx))
            self.visits[family] = self.visits.get(family, 0) + 1
            response = self._get(url, htmx)
            if response is None:
                continue
            self._junk(parts.path, dict(query), pattern, endpoint, htmx, params_of)
            if response.status_code in (301, 302, 303, 307, 308):
                queue.append((urljoin(url, response.headers["Location"]), False, False))
            elif response.mimetype == "text/html":
                queue.extend((link, by_htmx, False) for link, by_htmx in _links(response.get_data(as_text=True), url))

    def _junk(self, path: str, query: dict, pattern: str, endpoint: str | None, htmx: bool, params_of) -> None:
        """The URL again with each query parameter (present or read by the view) set to each junk value."""
        names = set(query) - {"lang"} | (params_of(endpoint) if endpoint else set())
        for name in sorted(names):
            for junk in JUNK:
                if (pattern, name, junk) in self.junked:  # once per route, whatever else the URL says
                    continue
                self.junked.add((pattern, name, junk))
                self._get(f"{path}?{urlencode(query | {name: junk})}", htmx)


def _links(html: str, page: str) -> list[tuple[str, bool]]:
    """Same-origin targets a browser could GET from a page: href, src, hx-get and forms with method get."""
    forms = GetForms()
    for form in GET_FORM.finditer(html):
        forms.feed(form.group(0))
    links = [(unescape(double or single), name == "hx-get") for name, double, single in LINK.findall(html)]
    found = []
    for link, htmx in links + forms.form_urls(page):
        link = link.strip()
        if not link or link.startswith(SKIPPED_SCHEMES):
            continue
        absolute = urlsplit(urljoin(f"http://localhost{page}", link))
        if absolute.scheme not in ("http", "https") or absolute.netloc != "localhost":
            continue  # another site
        if "logout" in absolute.path or "lang" in dict(parse_qsl(absolute.query)):
            continue  # signing out, or switching the language this crawl is meant to stay in
        found.append((absolute.path + (f"?{absolute.query}" if absolute.query else ""), htmx))
    return found


def _summary(error: BaseException) -> str:
    """The exception and the deepest frame of the project's own code, for the failure message."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename.startswith(ROOT) and "/.venv/" not in frame.filename
    ]
    where = (
        f" at {Path(frames[-1].filename).relative_to(ROOT)}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    )
    return f"{type(error).__name__}: {str(error)[:200]}{where}"


def _seeds(role: str | None, language: str, screen_token: str) -> list[str]:
    """Pages nothing links to (the resident quiz, the TV screen link, the course list, the health check)
    and, anonymously, the public API and every board of every campaign: on the page in both languages,
    through the API (which reads no session) once."""
    quiz = f"/q/{DEMO_QUIZ_SLUG}"
    seeds = ["/", quiz, f"{quiz}/play", f"{quiz}/result", f"/screen/{screen_token}", "/training/courses", "/healthz"]
    if role is None:
        seeds.append("/api/v1/campaigns")
    for slug in db.session.scalars(select(Campaign.slug).order_by(Campaign.id)):
        seeds.append(f"/campaigns/{slug}/leaderboard")
        if role is not None:
            continue
        boards = [f"level={level}&metric={metric}" for level in LEVELS for metric in METRICS]
        seeds += [f"/campaigns/{slug}/leaderboard?{board}" for board in boards]
        seeds += [f"/campaigns/{slug}/leaderboard?period={period}" for period in PERIODS]
        if language == "vi":
            seeds += [f"/api/v1/campaigns/{slug}/leaderboard?{board}&period={p}" for board in boards for p in PERIODS]
            seeds.append(f"/api/v1/campaigns/{slug}/leaderboard")
    return seeds


def test_no_page_of_the_demo_fails_for_any_role_in_either_language(app, runner, capsys):
    seeded = runner.invoke(args=["seed-demo", "--scale", "small"])
    assert seeded.exit_code == 0, seeded.output
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    running = next(
        campaign for campaign in db.session.scalars(select(Campaign)) if campaign_status(campaign, now()) == "active"
    )
    quiz = db.session.scalar(select(Quiz).where(Quiz.slug == DEMO_QUIZ_SLUG))
    token = create_screen(admin, running, quiz).token
    db.session.commit()

    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash becomes the 500 a visitor would get
    errors: list[BaseException] = []

    def record(_sender, exception: BaseException, **_extra) -> None:
        errors.append(exception)

    got_request_exception.connect(record, app)
    params: dict[str, set[str]] = {}

    def params_of(endpoint: str) -> set[str]:
        if endpoint not in params:
            params[endpoint] = _params_read_by(app, endpoint)
        return params[endpoint]

    started, cpu = time.perf_counter(), time.process_time()
    failures, statics, requests = [], set(), 0
    try:
        for role in ROLES:
            for language in LANGUAGES:
                crawl = Crawl(app, role, language, statics, errors)
                crawl.sign_in()
                crawl.run(_seeds(role, language, token), params_of)
                failures += crawl.failures
                requests += crawl.requests
    finally:
        got_request_exception.disconnect(record, app)
    with capsys.disabled():
        print(
            f"\ncrawler: {requests} requests in {time.perf_counter() - started:.1f} s"
            f" ({time.process_time() - cpu:.1f} s of CPU), {len(failures)} failures"
        )
    assert requests > 500  # the crawl really went through the site
    assert not failures, "\n".join(failures)
