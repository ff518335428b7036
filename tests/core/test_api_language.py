"""The JSON API answers in the language its client asks for in Accept-Language; pages stay Vietnamese
unless the visitor picks English, whatever the phone's settings."""

import pytest


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "level must be one of"),
        ("vi-VN,vi;q=0.9,en;q=0.5", "level phải là một trong"),
        ("", "level phải"),
    ],
)
def test_api_errors_follow_accept_language(client, make_campaign, header, expected):
    campaign = make_campaign()
    headers = {"Accept-Language": header} if header else {}
    response = client.get(f"/api/v1/campaigns/{campaign.slug}/leaderboard?level=street", headers=headers)
    assert response.status_code == 400
    assert expected in response.get_json()["message"]


def test_an_explicit_choice_wins_over_the_header(client, make_campaign):
    campaign = make_campaign()
    url = f"/api/v1/campaigns/{campaign.slug}/leaderboard?level=street&lang=vi"
    response = client.get(url, headers={"Accept-Language": "en"})
    assert "level phải là một trong" in response.get_json()["message"]


def test_pages_do_not_follow_the_phones_language(client):
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="vi">' in page.get_data(as_text=True)
