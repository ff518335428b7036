"""axe-core (WCAG 2.2 AA and best practices) on every kind of page, on a phone and a desktop, in both
languages: no violation of impact serious or critical; on the pages added with live quizzes, plans,
reports, notifications, sharing and the leaders' home, also nothing wider than a 360 px phone and, in
English, no Vietnamese but what people typed. And the keyboard and screen-reader paths the rules cannot
see: the skip link, focus after an htmx swap, errors tied to their fields."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import JSON, String, select

from campaigns.services import campaign_status
from core.clock import now, today
from demo.campaigns import DEMO_CAMPAIGNS, DEMO_QUIZ_SLUG
from demo.seed import DEMO_PASSWORD
from leaderboards.services import public_name
from models import ActionPlan, Campaign, Course, Notification, Quiz, User, db
from notifications.services import Kind
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from screens.services import create_screen
from tests.conftest import PASSWORD
from tests.e2e.conftest import PHONE, open_context, settled, wired
from training.services import report_completion

SIZES = {"phone": PHONE, "desktop": {"width": 1280, "height": 800}}
BLOCKING = ("serious", "critical")
AXE = Axe()


@dataclass
class Demo:
    campaign: str
    screen: str


@pytest.fixture
def demo(app, runner) -> Demo:
    """The small demo, with a training report waiting for its leader and a screen on the live campaign."""
    seeded = runner.invoke(args=["seed-demo", "--scale", "small"])
    assert seeded.exit_code == 0, seeded.output
    member = db.session.scalar(select(User).where(User.username == "caprang.member"))
    course = db.session.scalars(select(Course).order_by(Course.id)).first()
    report_completion(member, course, today() - timedelta(days=1), "CC-2026-0042", now())
    quiz = db.session.scalar(select(Quiz).where(Quiz.slug == DEMO_QUIZ_SLUG))
    assert quiz.campaign is not None and campaign_status(quiz.campaign, now()) == "active"
    screen = create_screen(quiz.campaign.created_by, quiz.campaign, quiz)
    db.session.commit()
    return Demo(quiz.campaign.slug, screen.token)


def blocking_violations(page: Page, name: str) -> list[str]:
    """axe's serious and critical findings on the page as it is now: the page, the rule, and each
    element (its selector and what axe says is wrong with it)."""
    found = []
    for violation in AXE.run(page).response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        elements = "".join(
            f"\n    {' '.join(map(str, node['target']))}: {node['failureSummary'].splitlines()[-1].strip()}"
            for node in violation["nodes"]
        )
        found.append(f"{name} ({page.url}): {violation['id']} [{violation['impact']}] {violation['help']}{elements}")
    return found


def _browser_page(browser, live_server: str, size: str, language: str) -> Page:
    context = open_context(
        browser, viewport=SIZES[size], locale="vi-VN" if language == "vi" else "en-GB", is_mobile=size == "phone"
    )
    context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
    return context.new_page()


def _sign_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")


def _scan_signed_in(page: Page, live_server: str, demo: Demo, found: list[str]) -> None:
    _sign_in(page, live_server, "caprang.member")
    found += blocking_violations(page, "home, member")
    page.goto(f"{live_server}/campaigns/{demo.campaign}/log")
    found += blocking_violations(page, "log form")
    page.locator("form[enctype] button[type=submit]").click()  # nothing filled in: refused
    expect(page.locator("[data-error-summary]")).to_be_focused()
    found += blocking_violations(page, "log form, refused")
    page.goto(f"{live_server}/campaigns/{demo.campaign}/leaderboard")
    found += blocking_violations(page, "leaderboard")
    page.context.clear_cookies(name="session")
    _sign_in(page, live_server, "binhloc.leader")
    found += blocking_violations(page, "home, ward leader")
    for path, name in (
        ("/review", "review queue"),
        ("/training/verify", "training verification queue"),
        ("/training/coverage", "training coverage"),
        ("/admin/units", "units"),
        ("/admin/users", "users"),
        ("/audit", "audit log"),
    ):
        page.goto(f"{live_server}{path}")
        found += blocking_violations(page, name)


def _scan_resident(page: Page, live_server: str, demo: Demo, found: list[str]) -> None:
    page.goto(f"{live_server}/screen/{demo.screen}")
    found += blocking_violations(page, "event screen")
    page.goto(f"{live_server}/q/{DEMO_QUIZ_SLUG}")
    found += blocking_violations(page, "quiz, join")
    page.locator("input[name=name]").fill("Chị Lan")
    page.locator("main form button").click()  # without consent: refused
    expect(page.locator("[data-error-summary]")).to_be_focused()
    found += blocking_violations(page, "quiz, join refused")
    page.locator("input[name=consent]").check()
    page.locator("main form button").click()
    expect(page.locator(".quiz-progress")).to_be_visible()
    found += blocking_violations(page, "quiz, question")
    settled(page)
    page.locator("button.choice").first.click()
    expect(page.locator(".recorded")).to_be_visible()
    found += blocking_violations(page, "quiz, answer recorded")
    while page.locator("button.choice").count():
        settled(page)
        progress = page.locator(".quiz-progress").inner_text()
        page.locator("button.choice").first.click()
        expect(page.locator(".quiz-progress, .result").first).not_to_have_text(progress)
    expect(page.locator(".result .score")).to_be_visible()
    found += blocking_violations(page, "quiz, result")


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("size", list(SIZES))
def test_no_serious_or_critical_axe_violation_on_any_kind_of_page(browser, live_server, demo, size, language):
    found: list[str] = []
    page = _browser_page(browser, live_server, size, language)
    page.goto(f"{live_server}/login")
    found += blocking_violations(page, "login")
    page.locator("input[name=username]").fill("nobody")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    found += blocking_violations(page, "login, refused")
    _scan_signed_in(page, live_server, demo, found)
    page.context.close()
    resident = _browser_page(browser, live_server, size, language)
    _scan_resident(resident, live_server, demo, found)
    resident.context.close()
    assert not found, f"{len(found)} serious or critical axe violations ({size}, {language}):\n" + "\n".join(found)


# --- the pages added with live quizzes, plans, reports, notifications, sharing and the leaders' home ---

# Letters only Vietnamese writes (and the accented vowels it shares with French): an English page
# that shows one outside what people typed has an interface string left untranslated.
VIETNAMESE_LETTER = re.compile("[àáâãèéêìíòóôõùúýăđơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.IGNORECASE)
# The product's name is written the same in both languages.
NAMES = ("ThiĐua",)
# The text a person reads or hears on the page: its title, its text nodes and the attributes a screen
# reader speaks, except where an element says it is Vietnamese on purpose (lang="vi", as a poster's
# lines for residents or the switch to Tiếng Việt).
PAGE_TEXTS = """() => {
  const english = element => !(element.closest('[lang]') || document.documentElement).lang.startsWith('vi');
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (node.data.trim() && !parent.closest('script, style, template') && english(parent)) texts.push(node.data.trim());
  }
  const spoken = ['aria-label', 'title', 'placeholder', 'alt', 'data-countdown-label'];
  for (const element of document.querySelectorAll(spoken.map(name => `[${name}]`).join())) {
    if (english(element)) texts.push(...spoken.map(name => element.getAttribute(name)).filter(Boolean));
  }
  return texts;
}"""
# When the page scrolls sideways: how wide it is and the innermost elements that reach past the right edge, leaving out
# those a box scrolls or clips (a table in its scrolling region). An absolutely positioned element
# escapes every such box below its containing block (a visually hidden label in a scrolling table).
OVERFLOWING = """width => {
  const scrolled = document.documentElement.scrollWidth;
  if (scrolled <= width) return [];
  const past = element => element.getBoundingClientRect().right > width;
  const held = element => {
    const absolute = ['absolute', 'fixed'].includes(getComputedStyle(element).position);
    for (let box = absolute ? element.offsetParent : element.parentElement; box && box !== document.body;
         box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== 'visible') return true;
    }
    return false;
  };
  const wide = new Set([...document.body.querySelectorAll('*')].filter(element => past(element) && !held(element)));
  return [`${scrolled} px wide`, ...[...wide].filter(element => ![...element.children].some(child => wide.has(child)))
    .slice(0, 5).map(element => element.outerHTML.slice(0, 120))];
}"""


def _strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)


def typed_texts() -> list[str]:
    """Every text in the database with a Vietnamese letter (names, titles, questions, reasons: what an
    English page rightly shows as it was typed) and the initials boards make of names, in lower case,
    longest first."""
    texts = {name.casefold() for name in NAMES}
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String | JSON):
                for value in db.session.scalars(select(column)):  # no DISTINCT: PostgreSQL cannot compare json
                    texts.update(text.casefold() for text in _strings_in(value) if VIETNAMESE_LETTER.search(text))
    texts.update(public_name(user, shown=False).casefold() for user in db.session.scalars(select(User)))
    return sorted(texts, key=len, reverse=True)


def untranslated(page: Page, typed: list[str]) -> list[str]:
    """The texts of an English page with Vietnamese left once what people typed is taken out (in any
    case: a letterhead writes the unit's name in capitals)."""
    left = []
    for text in page.evaluate(PAGE_TEXTS):
        rest = text.casefold()
        for value in typed:
            if not VIETNAMESE_LETTER.search(rest):
                break
            rest = rest.replace(value, " ")
        if VIETNAMESE_LETTER.search(rest):
            left.append(text)
    return left


# What a refused role reads instead of the page: what happened and why.
FORBIDDEN = {
    "vi": re.compile(r"Không có quyền truy cập\s+Tài khoản của bạn không được phép mở trang này."),
    "en": re.compile(r"Access denied\s+Your account may not open this page."),
}


class Survey:
    """One person with a phone (360×740) and a desktop (1280×800) in one language. Each page seen is
    checked on both: axe finds nothing serious or critical; on the phone nothing is wider than the
    screen; in English no Vietnamese is left but what people typed."""

    def __init__(self, browser, live_server: str, language: str, typed: list[str], found: list[str]) -> None:
        self.live_server, self.language, self.typed, self.found = live_server, language, typed, found
        self.pages = {size: _browser_page(browser, live_server, size, language) for size in SIZES}

    def sign_in(self, username: str) -> None:
        for page in self.pages.values():
            page.context.clear_cookies(name="session")
            _sign_in(page, self.live_server, username)

    def visit(self, path: str, name: str, status: int = 200, ready: str = "main") -> None:
        """Open `path` on both, wait until `ready` shows, and check them."""
        for page in self.pages.values():
            response = page.goto(f"{self.live_server}{path}")
            if response is None or response.status != status:
                self.found.append(f"{name} ({path}): HTTP {response and response.status}, expected {status}")
            expect(page.locator(ready).first).to_be_visible()
        self.check(name)

    def refused(self, path: str, name: str) -> None:
        """Open `path`, which this person may not see: a 403 page that says so, checked like any page."""
        self.visit(path, name, status=403)
        for page in self.pages.values():
            expect(page.locator("main")).to_contain_text(FORBIDDEN[self.language])

    def check(self, name: str) -> None:
        """Check both pages as they are now."""
        for size, page in self.pages.items():
            self.found.extend(blocking_violations(page, f"{name}, {size}"))
            if size == "phone":
                wide = page.evaluate(OVERFLOWING, PHONE["width"])
                if wide:
                    self.found.append(f"{name} ({page.url}): wider than {PHONE['width']} px: " + "\n    ".join(wide))
                if self.language == "en":
                    left = untranslated(page, self.typed)
                    self.found.extend(f"{name} ({page.url}): not in English: {text!r}" for text in left)

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


def _report(found: list[str], language: str) -> str:
    return f"{len(found)} problems ({language}):\n" + "\n".join(found)


def _host_step(host: Survey, step: str) -> None:
    phone = host.pages["phone"]
    phone.locator(f"button[name=step][value={step}]").click()
    expect(phone.locator(f"button[name=step][value={step}]")).to_have_count(0)


def _live_phase(host: Survey, tv: Survey, players: Survey, paths: dict[str, str], phase: str) -> None:
    """The players' phones, the host's phone and the hall's TV once the session is in `phase`; the
    players answer an open question (before its time runs out) and are seen again."""
    players.visit(paths["play"], f"live quiz player, {phase}", ready="#live-play")
    if phase == "question":
        for page in players.pages.values():
            page.locator("button.choice").first.click()
            expect(page.locator(".live-given")).to_be_visible()
        players.check("live quiz player, answered")
    host.visit(paths["host"], f"live quiz host, {phase}")
    tv.visit(paths["tv"], f"live quiz TV, {phase}", ready=f"#live.live-tv-{phase}")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_live_quiz_passes_on_the_hosts_phone_the_tv_and_the_players_phones(browser, live_server, demo, language):
    found: list[str] = []
    typed = typed_texts()
    host, tv, players = (Survey(browser, live_server, language, typed, found) for _ in range(3))
    host.sign_in("admin")
    host.visit(f"/campaigns/{demo.campaign}/live", "live quiz, a new session")
    host_phone = host.pages["phone"]
    seconds = host_phone.locator("input[name=seconds_per_question]")
    seconds.fill("600")  # refused: 120 at most
    host_phone.locator("main form button").click()
    expect(host_phone.locator("[data-error-summary]")).to_be_focused()
    host.check("live quiz, a new session refused")
    seconds.fill("120")
    host_phone.locator("main form button").click()
    expect(host_phone.locator(".live-host-code")).to_be_visible()
    code = host_phone.locator(".live-host-code").inner_text().replace(" ", "")
    paths = {"host": host_phone.url.removeprefix(live_server), "tv": f"/screen/{demo.screen}"}

    players.visit("/live?code=12345", "live quiz, a code one digit short", status=422)
    players.visit("/live", "live quiz, the code")
    for page in players.pages.values():
        page.locator("input[name=code]").fill(code)
        page.locator("main form button").click()
        expect(page.locator("select[name=quarter]")).to_be_visible()
    players.check("live quiz, join")
    for page in players.pages.values():
        page.locator("main form button").click()
        expect(page.locator("#live-play")).to_be_visible()
    paths["play"] = players.pages["phone"].url.removeprefix(live_server)
    _live_phase(host, tv, players, paths, "lobby")

    for step, phase in (("start", "question"), ("reveal", "answers"), ("standings", "standings"), ("end", "ended")):
        _host_step(host, step)
        _live_phase(host, tv, players, paths, phase)
    host.visit(f"/campaigns/{demo.campaign}/live", "live quiz, the sessions")
    players.sign_in("caprang.member")
    players.refused(f"/campaigns/{demo.campaign}/live", "live quiz, new session refused to a member")
    players.refused(paths["host"], "live quiz host, refused to a member")
    for survey in (host, tv, players):
        survey.close()
    assert not found, _report(found, language)


def _notify(username: str, campaign_slug: str) -> None:
    """A member's bell with a campaign's last day tomorrow, a contribution turned down and a course confirmed."""
    member = db.session.scalar(select(User).where(User.username == username))
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == campaign_slug))
    activity = campaign.activity_types[0]
    db.session.add_all(
        [
            Notification(
                user_id=member.id,
                kind=Kind.CAMPAIGN_ENDS_TOMORROW,
                subject=f"campaign:{campaign.id}:{today() + timedelta(days=1)}",
                campaign_id=campaign.id,
            ),
            Notification(
                user_id=member.id,
                kind=Kind.CONTRIBUTION_REJECTED,
                subject="contribution:0",
                campaign_id=campaign.id,
                params={
                    "activity": activity.name,
                    "activity_en": activity.name_en,
                    "day": today().isoformat(),
                    "reason": "Ảnh minh chứng bị mờ",
                },
            ),
            Notification(
                user_id=member.id,
                kind=Kind.COMPLETION_VERIFIED,
                subject="completion:0",
                params={"course": "Kỹ năng số cơ bản", "course_en": "Basic digital skills"},
            ),
        ]
    )
    db.session.commit()


@pytest.mark.parametrize("language", ["vi", "en"])
def test_plans_reports_notifications_posters_and_homes_pass_on_a_phone_and_a_desktop(
    browser, live_server, demo, language
):
    ward_campaign = DEMO_CAMPAIGNS[1].slug
    _notify("caprang.member", ward_campaign)
    plan = db.session.scalars(select(ActionPlan)).one()
    member = db.session.scalar(select(User).where(User.username == "caprang.member"))
    quarter, ward = member.home_unit.code, member.home_unit.parent.code
    found: list[str] = []
    person = Survey(browser, live_server, language, typed_texts(), found)

    person.sign_in("admin")
    for path, name in (
        ("/", "home, province admin"),
        ("/plans", "plans"),
        (f"/plans/{plan.id}", "a plan"),
        (f"/plans/{plan.id}/print", "a plan, printed"),
        (f"/campaigns/{demo.campaign}/reports", "reports"),
        (f"/campaigns/{demo.campaign}/reports/print", "the campaign's report, printed"),
        (f"/campaigns/{demo.campaign}/reports/units/{ward}/print", "a ward's report, printed"),
        ("/notifications", "notifications, none"),
        (f"/quizzes/{DEMO_QUIZ_SLUG}/poster/{quarter}", "a quarter's poster"),
    ):
        person.visit(path, name)
    short_link = person.pages["phone"].locator(".poster-short a").get_attribute("href") or ""
    person.visit(urlsplit(short_link).path, "a poster's short link: the quiz, its quarter chosen")
    person.visit("/j/zzzzzz", "a short link that leads nowhere", status=404)
    person.sign_in("binhloc.leader")
    person.visit(f"/campaigns/{ward_campaign}/reports", "reports, ward leader")
    with person.pages["phone"].expect_download():
        person.pages["phone"].locator("form[action$='/export/quarter.csv'] button").click()
    person.visit("/", "home, ward leader with an export", ready="#recent-exports li")
    person.visit("/plans", "plans, ward leader")
    person.visit(f"/campaigns/{ward_campaign}/reports/units/{quarter}/print", "a quarter's report, printed")
    person.sign_in("caprang.leader")
    person.visit("/", "home, team leader")
    person.sign_in("caprang.member")
    person.visit("/", "home, member")
    person.visit("/notifications", "notifications", ready=".notifications li.unread")
    person.refused(f"/plans/{plan.id}", "a plan, refused to a member")
    person.refused(f"/campaigns/{ward_campaign}/reports", "reports, refused to a member")
    person.close()
    assert not found, _report(found, language)


# The colour a focus ring is seen against is the first opaque background behind the element.
FOCUS_RING = """element => {
  const rgb = text => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const linear = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  let behind = element.parentElement, background = [255, 255, 255];
  for (; behind; behind = behind.parentElement) {
    const colour = rgb(getComputedStyle(behind).backgroundColor);
    if (colour.length === 3 || colour[3] > 0) { background = colour.slice(0, 3); break; }
  }
  const style = getComputedStyle(element);
  const [lighter, darker] = [luminance(rgb(style.outlineColor)), luminance(background)].sort((a, b) => b - a);
  return {
    what: element.outerHTML.slice(0, 80),
    style: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
    contrast: (lighter + 0.05) / (darker + 0.05),
  };
}"""


def _phone(browser) -> Page:
    return open_context(browser, viewport=PHONE, locale="vi-VN", is_mobile=True, has_touch=True).new_page()


def _sign_in_as(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    settled(page)  # its links go through htmx from then on


def _tab_through(page: Page, url: str) -> list[dict]:
    """Every stop of the tab order of a freshly loaded page (from its autofocused field, if it has
    one), with how its focus ring looks."""
    page.goto(url)
    rings: list[dict] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        if not focused.count() or (rings and focused.evaluate("e => e.outerHTML") == rings[0]["html"]):
            break
        ring = focused.evaluate(FOCUS_RING)
        ring["html"] = focused.evaluate("e => e.outerHTML")
        rings.append(ring)
    return rings


def test_skip_link_is_the_first_stop_and_leads_to_the_main_content(browser, live_server, people):
    page = _phone(browser)
    _sign_in_as(page, live_server, "member")
    page.reload()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Bỏ qua đến nội dung chính")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # on from the main content, past the whole top bar
    assert page.locator(":focus").evaluate("e => !!e.closest('main')")
    page.context.close()


def test_every_focus_ring_is_visible_against_what_is_behind_it(browser, live_server, people):
    page = _phone(browser)
    rings = _tab_through(page, f"{live_server}/login")
    _sign_in_as(page, live_server, "leader1")
    rings += _tab_through(page, f"{live_server}/")  # the red top bar, full of links
    assert len(rings) > 10
    faint = [ring for ring in rings if ring["style"] == "none" or ring["width"] < 2 or ring["contrast"] < 3]
    assert not faint, "focus rings missing or under 3:1:\n" + "\n".join(map(str, faint))
    page.context.close()


def test_the_bell_says_how_many_notifications_are_unread(browser, live_server, people, make_campaign):
    campaign = make_campaign()
    db.session.add_all(
        Notification(user_id=people["member"].id, kind=kind, campaign_id=campaign.id) for kind in ("started", "ended")
    )
    db.session.commit()
    page = _phone(browser)
    _sign_in_as(page, live_server, "member")
    expect(page.locator(".bell")).to_have_accessible_name("Thông báo: 2 chưa đọc")
    page.locator(".bell").click()
    page.get_by_role("button", name="Đánh dấu đã đọc").click()
    expect(page.locator(".bell")).to_have_accessible_name("Thông báo")
    page.context.close()


def test_a_refused_form_leads_to_its_errors_and_ties_each_to_its_field(browser, live_server, people):
    page = _phone(browser)
    page.goto(f"{live_server}/login")
    page.get_by_label("Tên đăng nhập").fill("member")
    page.get_by_label("Mật khẩu").fill("not the password")
    page.get_by_role("button", name="Đăng nhập").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("alert")).to_contain_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    password = page.get_by_label("Mật khẩu")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description("Tên đăng nhập hoặc mật khẩu không đúng.")
    summary.get_by_role("link").click()
    expect(password).to_be_focused()
    page.context.close()


def test_the_language_switch_keeps_the_page_and_html_lang_follows_through_boosted_links(
    browser, live_server, people, make_campaign
):
    campaign = make_campaign(template="paperless_week", starts=datetime.now(UTC) - timedelta(days=1))
    page = _phone(browser)
    _sign_in_as(page, live_server, "member")
    page.get_by_role("link", name="Chiến dịch", exact=True).click()  # a boosted link first
    expect(page.get_by_role("heading", level=1)).to_have_text("Chiến dịch")
    page.goto(f"{live_server}/campaigns/{campaign.slug}/leaderboard?level=team&metric=points")
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/leaderboard\?level=team&metric=points$"))  # the page and its query
    assert page.evaluate("document.documentElement.lang") == "en"
    page.get_by_role("link", name="Campaigns", exact=True).click()  # boosted again: still English
    expect(page.get_by_role("heading", level=1)).to_have_text("Campaigns")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.goto(f"{live_server}/")  # and saved on the account: a page without ?lang stays English
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.context.close()


def test_a_refused_name_choice_is_summarised_at_the_top_of_the_long_profile_page(browser, live_server, people):
    """The consent question sits at the bottom of "my achievements": a refusal must not leave its error
    down there, unseen and unread."""
    page = _phone(browser)
    _sign_in_as(page, live_server, "member")
    page.goto(f"{live_server}/me")
    page.locator("#name-consent").get_by_role("button", name="Lưu lựa chọn").click()  # no choice: refused
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("alert")).to_contain_text("Hãy chọn một trong hai cách hiển thị.")
    assert summary.bounding_box()["y"] < page.locator("#name-consent").bounding_box()["y"]  # at the top
    choices = page.get_by_role("group", name="Tên của bạn trên bảng xếp hạng công khai")
    expect(choices).to_have_accessible_description(re.compile("Hãy chọn một trong hai cách hiển thị."))
    summary.get_by_role("link").click()
    expect(page.get_by_role("radio").first).to_be_focused()
    page.context.close()


def test_focus_follows_a_click_or_a_submit_to_what_it_brought_and_nothing_else(
    browser, live_server, people, tree, make_campaign
):
    seed_question_bank()
    moment = datetime.now(UTC)  # the live server runs on the real clock
    quiz = create_quiz(
        people["leader1"],
        QuizFields(
            "An toàn mạng", tree["W1"], None, 3, 180, 2, moment - timedelta(hours=1), moment + timedelta(days=1)
        ),
    )
    campaign = make_campaign(template="paperless_week", starts=moment - timedelta(days=1))
    db.session.commit()

    resident = _phone(browser)
    resident.goto(f"{live_server}/q/{quiz.slug}?u=Q1")
    resident.get_by_label("Tên của bạn").fill("Chị Lan")
    resident.get_by_role("button", name="Bắt đầu").click()  # no consent: refused
    expect(resident.locator("[data-error-summary]")).to_be_focused()
    resident.get_by_label("Tôi đồng ý").check()
    resident.get_by_role("button", name="Bắt đầu").click()
    expect(resident.locator(".quiz-progress")).to_contain_text("Câu 1 / 3")
    # The submit brought the first question: focus settles on it, and only then goes to a choice.
    expect(resident.locator("h1.question")).to_be_focused()
    settled(resident)
    resident.locator("button.choice").first.focus()
    resident.keyboard.press("Enter")
    expect(resident.locator(".quiz-progress")).to_contain_text("Câu 2 / 3")
    expect(resident.locator("h1.question")).to_be_focused()  # the next question, not the lost button
    expect(resident.get_by_role("status")).to_have_text("Đã ghi nhận câu trả lời.")  # a live region
    resident.context.close()

    member = _phone(browser)
    _sign_in_as(member, live_server, "member")
    member.get_by_role("link", name="Chiến dịch", exact=True).click()  # a boosted link: a new page
    expect(member.get_by_role("heading", level=1)).to_have_text("Chiến dịch")
    expect(member.get_by_role("heading", level=1)).to_be_focused()
    member.goto(f"{live_server}/campaigns/{campaign.slug}/log")
    wired(member, "select[name=activity_type]")
    picker = member.get_by_label("Hoạt động")
    picker.focus()
    picker.select_option(label="Hồ sơ xử lý trực tuyến")  # the fields swap; the person stays on the picker
    expect(member.get_by_text("2 điểm / hồ sơ")).to_be_visible()
    expect(member.get_by_label("Hoạt động")).to_be_focused()
    member.context.close()
