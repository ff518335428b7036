import pytest

from core.access import PUBLIC, may_manage_unit
from tests.conftest import login


def test_every_route_declares_who_may_use_it(app):
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "access", None) is None
    ]
    assert undeclared == []


def _protected_get_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and app.view_functions[rule.endpoint].access != PUBLIC
    ]


def test_strangers_are_sent_to_login_from_every_protected_page(app, client):
    rules = _protected_get_rules(app)
    assert rules, "expected protected pages"
    for rule in rules:
        response = client.get(rule.rule)
        assert response.status_code == 302, rule.rule
        assert response.headers["Location"].startswith("/login?next="), rule.rule


def test_members_are_refused_admin_pages(app, client, people):
    login(client, "member")
    admin_rules = [rule for rule in _protected_get_rules(app) if rule.rule.startswith("/admin")]
    assert admin_rules
    for rule in admin_rules:
        assert client.get(rule.rule).status_code == 403, rule.rule


def test_undeclared_route_is_refused(app, client):
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    assert client.get("/forgotten").status_code == 403


@pytest.mark.parametrize(
    "who, unit, allowed",
    [
        ("admin", "W2", True),
        ("leader1", "W1", True),
        ("leader1", "Q1", True),
        ("leader1", "T1", True),
        ("leader1", "W2", False),
        ("leader1", "Q2", False),
        ("leader1", "DN", False),
        ("teamlead", "T1", True),
        ("teamlead", "Q1", False),
        ("member", "Q1", False),
    ],
)
def test_who_may_manage_which_unit(people, tree, who, unit, allowed):
    assert may_manage_unit(people[who], tree[unit]) is allowed


def test_deactivated_user_cannot_manage_anything(people, tree):
    people["admin"].active = False
    assert not may_manage_unit(people["admin"], tree["W1"])
