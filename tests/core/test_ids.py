import pytest

from tests.conftest import login

HUGE = "9" * 30


@pytest.mark.parametrize(
    "path",
    [
        f"/admin/users/{HUGE}/edit",
        f"/admin/users/{2**31}/edit",
        f"/training/verify/{HUGE}/approve",
        f"/screens/{HUGE}/revoke",
        f"/review/{HUGE}/approve",
    ],
)
def test_an_id_no_column_can_hold_is_not_found(app, people, path):
    client = app.test_client()
    login(client, "admin")
    method = client.get if path.endswith("/edit") else client.post
    assert method(path).status_code == 404


def test_an_ordinary_id_still_routes(app, people):
    client = app.test_client()
    login(client, "admin")
    assert client.get(f"/admin/users/{people['member'].id}/edit").status_code == 200


@pytest.mark.parametrize(
    "path", ["/review?campaign=%00", "/campaigns?x%00=1", "/campaigns/%00", "/quizzes/bank?lang=%00en"]
)
def test_a_nul_character_is_a_bad_request_on_every_database(app, people, path):
    client = app.test_client()
    login(client, "admin")
    assert client.get(path).status_code == 400


def test_a_nul_character_in_a_form_is_a_bad_request(app, people):
    client = app.test_client()
    login(client, "admin")
    assert client.post("/admin/users", data={"q": "a\x00b"}).status_code == 400
