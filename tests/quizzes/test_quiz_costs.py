"""Statement budgets of the resident's quiz requests (issue 16): at an event evening hundreds of phones
start within minutes, so what a start costs must not grow with the quiz's questions or its scope's quarters."""

import re

import pytest
from sqlalchemy import func, select

from models import Attempt, db
from tests.conftest import csrf_from
from tests.quizzes.test_quiz_credit import make_quiz
from tests.sql_budget import request_statements

# The quiz, the chosen quarter, the device's late attempts, its attempt at this quiz, the phone's, the
# address's credited attempts of the hour, the pool with its choices, the attempt and its questions.
START_BUDGET = 9
PAGE_BUDGET = 4  # the quiz, the device's attempt, the scope, its quarters with their wards
# The quiz, the attempt, the attempt locked, its questions, the one answered with its choices, the answer,
# the next question with its choices: nothing read again after the commit.
ANSWER_BUDGET = 9
CHOICE = re.compile(r'name="choice" value="(\d+)"')
POSITION = re.compile(r'name="position" value="(\d+)"')


def _start_budget() -> int:
    # PostgreSQL also takes the address's advisory lock, so starts from one address count one at a time.
    return START_BUDGET + (db.engine.dialect.name == "postgresql")


@pytest.fixture
def province_quiz(people, tree, make_unit, make_campaign):
    """Ten questions over the whole province, whose quarters lie in several wards."""
    for ward in range(3):
        parent = make_unit(f"WX{ward}", "ward", tree["DN"])
        for quarter in range(4):
            make_unit(f"QX{ward}{quarter}", "quarter", parent)
    return make_quiz(people, tree, make_campaign(), questions=10, scope="DN")


def _start(client, quiz, phone="0912345678", consent="y"):
    page = client.get(f"/q/{quiz.slug}?u=Q1")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "quarter": "Q1", "name": "Lan", "phone": phone}
    if consent:
        data["consent"] = consent
    return request_statements(client, "POST", f"/q/{quiz.slug}/start", data=data)


@pytest.mark.parametrize("questions", [1, 5])
def test_a_start_stays_within_budget_for_a_ward_quiz(app, people, tree, make_campaign, questions):
    quiz = make_quiz(people, tree, make_campaign(), questions=questions)
    response, statements = _start(app.test_client(), quiz)
    assert response.status_code == 302
    assert len(statements) <= _start_budget(), "\n".join(statements)


def test_a_province_quiz_costs_the_same_however_many_quarters_and_questions(app, province_quiz):
    client = app.test_client()
    response, statements = request_statements(client, "GET", f"/q/{province_quiz.slug}")
    assert response.status_code == 200 and "QX23" in response.get_data(as_text=True)
    assert len(statements) <= PAGE_BUDGET, "\n".join(statements)
    response, statements = _start(client, province_quiz)
    assert response.status_code == 302
    assert len(statements) <= _start_budget(), "\n".join(statements)


def test_a_refused_start_shows_every_quarter_again_with_the_chosen_one_and_writes_nothing(app, province_quiz):
    response, _statements = _start(app.test_client(), province_quiz, consent="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<option selected value="Q1">|<option value="Q1" selected>', html), html
    assert all(f'value="QX{ward}{quarter}"' in html for ward in range(3) for quarter in range(4))
    assert '<optgroup label="Unit WX2">' in html
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_an_answer_stays_within_budget(app, people, tree, make_campaign):
    quiz = make_quiz(people, tree, make_campaign(), questions=3)
    client = app.test_client()
    _start(client, quiz)
    page = client.get(f"/q/{quiz.slug}/play").get_data(as_text=True)
    form = {
        "csrf_token": csrf_from(page),
        "position": POSITION.search(page).group(1),
        "choice": CHOICE.findall(page)[0],
    }
    response, statements = request_statements(
        client, "POST", f"/q/{quiz.slug}/answer", data=form, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and 'name="position" value="1"' in response.get_data(as_text=True)
    assert len(statements) <= ANSWER_BUDGET, "\n".join(statements)
