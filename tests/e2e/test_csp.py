"""In Chromium: a signed-in page and the event screen work under the Content-Security-Policy, with no violation."""

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from models import db
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from screens.services import create_screen
from tests.conftest import PASSWORD
from tests.e2e.conftest import open_context, settled

# The page's own record of refusals, installed before any of its scripts run.
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


def watch(context):
    """Console messages about the policy, from every page of the context."""
    context.add_init_script(LISTEN)
    messages = []
    context.on(
        "console",
        lambda message: messages.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return messages


def assert_no_violation(page, messages):
    assert page.evaluate("window.__cspViolations") == []
    assert messages == []


def test_signed_in_pages_and_the_event_screen_load_without_a_csp_violation(
    browser, live_server, people, tree, make_campaign
):
    seed_question_bank()
    campaign = make_campaign()
    moment = datetime.now(UTC)  # the live server runs on the real clock
    quiz = create_quiz(
        people["leader1"],
        QuizFields(
            "An toàn mạng", tree["W1"], campaign, 5, 180, 2, moment - timedelta(days=1), moment + timedelta(days=1)
        ),
    )
    screen = create_screen(people["leader1"], campaign, quiz)
    db.session.commit()

    context = open_context(browser, locale="vi-VN")
    messages = watch(context)
    page = context.new_page()
    response = page.goto(f"{live_server}/login")
    assert "script-src 'self';" in response.headers["content-security-policy"]
    page.get_by_label("Tên đăng nhập").fill("leader1")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server}/")
    settled(page)
    # A boosted link: htmx fetches and swaps the page, which needs it to run under the policy.
    with page.expect_request(lambda request: request.headers.get("hx-boosted") == "true"):
        page.locator(".nav").get_by_role("link", name="Tài khoản").click()
    expect(page).to_have_url(f"{live_server}/admin/users")
    settled(page)
    # The search field's own htmx request (not a boosted navigation), answered and swapped in.
    with page.expect_response(
        lambda response: (
            response.request.headers.get("hx-request") == "true" and "hx-boosted" not in response.request.headers
        )
    ) as searched:
        page.get_by_role("searchbox").fill("member")
    assert searched.value.ok
    page.goto(f"{live_server}/quizzes/{quiz.slug}")
    expect(page.locator(".poster .qr svg").first).to_be_visible()
    expect(page.locator("[data-print]")).to_be_visible()
    assert_no_violation(page, messages)

    tv_context = open_context(browser, viewport={"width": 1920, "height": 1080}, locale="vi-VN")
    tv_messages = watch(tv_context)
    tv = tv_context.new_page()
    with tv.expect_response(lambda response: "/version?" in response.url):  # htmx polls: it runs
        response = tv.goto(f"{live_server}/screen/{screen.token}")
    assert response.headers["referrer-policy"] == "no-referrer"
    expect(tv.locator(".screen-qr svg")).to_be_visible()
    assert_no_violation(tv, tv_messages)
    tv_context.close()
    context.close()
