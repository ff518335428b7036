"""axe-core (WCAG 2.2 AA and best practices) on every kind of page, on a phone and a desktop, in both
languages: no violation of impact serious or critical. And the keyboard and screen-reader paths the
rules cannot see: the skip link, focus after an htmx swap, errors tied to their fields."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import select

from campaigns.services import campaign_status
from core.clock import now, today
from demo.campaigns import DEMO_QUIZ_SLUG
from demo.seed import DEMO_PASSWORD
from models import Course, Notification, Quiz, User, db
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from screens.services import create_screen
from tests.conftest import PASSWORD
from tests.e2e.conftest import PHONE, open_context
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
    page.locator("button.choice").first.click()
    expect(page.locator(".recorded")).to_be_visible()
    found += blocking_violations(page, "quiz, answer recorded")
    while page.locator("button.choice").count():
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
    member.wait_for_function("'htmx-internal-data' in (document.querySelector('select[name=activity_type]') || {})")
    picker = member.get_by_label("Hoạt động")
    picker.focus()
    picker.select_option(label="Hồ sơ xử lý trực tuyến")  # the fields swap; the person stays on the picker
    expect(member.get_by_text("2 điểm / hồ sơ")).to_be_visible()
    expect(member.get_by_label("Hoạt động")).to_be_focused()
    member.context.close()
