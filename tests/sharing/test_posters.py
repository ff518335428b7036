"""The A4 quarter poster (issue 12, item 9): the quiz's QR code, a short address that opens the quiz with
the quarter chosen, and three lines of instructions; for the leaders of that quarter only."""

import html
import re
from datetime import timedelta

import pytest
import segno

from models import Unit, db
from quizzes.services import QuizFields, create_quiz, seed_question_bank
from sharing.codes import poster_code
from tests.conftest import START, login

SHORT = re.compile(r'<p class="poster-short"><a href="([^"]+)">')


@pytest.fixture
def quiz(people, tree, make_campaign, make_unit, clock):
    """A quiz of ward W1, open now; W1 has quarters Q1 and Khu phố Đông Hưng, W2 has Q2."""
    make_unit("QDH", "quarter", tree["W1"], name="Khu phố Đông Hưng", adult_population=1_000)
    seed_question_bank()
    fields = QuizFields("An toàn mạng", tree["W1"], make_campaign(), 5, 180, 2, START, START + timedelta(days=30))
    quiz = create_quiz(people["leader1"], fields)
    db.session.commit()
    return quiz


def _poster(client, quiz, quarter: str = "QDH", query: str = ""):
    return client.get(f"/quizzes/{quiz.slug}/poster/{quarter}{query}")


def test_the_poster_carries_the_qr_code_of_the_quarters_join_link_and_its_short_address(app, client, quiz):
    login(client, "leader1")
    page = _poster(client, quiz)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    site = app.config["PUBLIC_URL"].rstrip("/")
    join = f"{site}/q/{quiz.slug}?u=QDH"
    assert segno.make(join, error="m").svg_inline(omitsize=True, border=2) in text
    quarter = db.session.scalar(db.select(Unit).where(Unit.code == "QDH"))
    short = SHORT.search(text).group(1)
    assert short == f"{site}/j/{poster_code(quiz.id, quarter.id)}" and len(short) < len(join)
    assert "Khu phố Đông Hưng" in text and 'class="poster-sheet"' in text
    steps = re.findall(r"<li>(.*?)</li>", text.split('class="poster-steps"')[1], re.S)
    assert [html.unescape(step) for step in steps] == [
        "Quét mã QR bằng camera điện thoại hoặc Zalo.",
        "Không quét được? Gõ địa chỉ ngắn ngay dưới mã QR vào trình duyệt.",
        "Trả lời 5 câu hỏi trong 3 phút; mỗi người một lần, điểm được cộng cho Khu phố Đông Hưng.",
    ]
    assert 'lang="en"' not in text.split('class="poster-sheet"')[1]


def test_an_english_page_keeps_the_vietnamese_lines_and_adds_the_english(client, quiz):
    login(client, "leader1")
    text = _poster(client, quiz, query="?lang=en").get_data(as_text=True)
    sheet = html.unescape(text.split('class="poster-sheet"')[1])
    assert "Quét mã QR bằng camera điện thoại hoặc Zalo." in sheet
    assert '<span class="poster-english" lang="en">Scan the QR code with your phone\'s camera or Zalo.</span>' in sheet
    assert "Answer 5 questions in 3 minutes; once per person, and the points go to Khu phố Đông Hưng." in sheet
    assert "Print the poster" in text


@pytest.mark.parametrize(
    ("who", "quarter", "status"),
    [
        ("admin", "Q1", 200),
        ("leader1", "Q1", 200),
        ("leader2", "Q1", 403),  # another ward's leader
        ("teamlead", "Q1", 403),
        ("member", "Q1", 403),
        ("leader1", "Q2", 404),  # a quarter the quiz is not open to
        ("leader1", "W1", 404),  # not a quarter
        ("leader1", "NOPE", 404),
    ],
)
def test_leaders_print_posters_for_their_quarters_only(client, quiz, who, quarter, status):
    login(client, who)
    assert _poster(client, quiz, quarter).status_code == status


def test_a_stranger_is_sent_to_sign_in(client, quiz):
    response = _poster(client, quiz)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_short_address_opens_the_quiz_with_the_quarter_chosen(client, quiz, tree):
    code = poster_code(quiz.id, tree["Q1"].id)
    for typed in (code, code.upper(), "-".join((code[:4], code[4:])), code.replace("0", "o").replace("1", "l")):
        response = client.get(f"/j/{typed}")
        assert response.status_code == 302, typed
        assert response.headers["Location"] == f"/q/{quiz.slug}?u=Q1"
    form = client.get(f"/j/{code}", follow_redirects=True).get_data(as_text=True)
    assert re.search(r'<option[^>]*value="Q1"[^>]*selected|<option selected[^>]*value="Q1"', form)


@pytest.mark.parametrize("lang, message", [("vi", "Không tìm thấy trang"), ("en", "Page not found")])
def test_a_bad_code_is_a_translated_404(client, quiz, tree, lang, message):
    genuine = poster_code(quiz.id, tree["Q1"].id)
    forged = genuine[:-1] + ("x" if genuine[-1] != "x" else "y")
    codes = [
        forged,  # the right ids with a wrong tag
        poster_code(quiz.id, tree["Q2"].id),  # a genuine code of a quarter the quiz is not open to
        poster_code(quiz.id + 1, tree["Q1"].id),  # a quiz that does not exist
        "u",  # not Crockford base 32
        "0",
        "z" * 40,
        quiz.slug,
    ]
    for code in codes:
        response = client.get(f"/j/{code}?lang={lang}")
        assert response.status_code == 404, code
        assert message in response.get_data(as_text=True), code
