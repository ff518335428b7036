import pytest

from core.access import PUBLIC, assignable_roles, may_manage_account, may_manage_unit
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


@pytest.mark.parametrize(
    "who, whom, allowed",
    [
        ("admin", "admin", True),  # only the province admin acts on equals
        ("admin", "leader2", True),
        ("leader1", "teamlead", True),
        ("leader1", "member", True),
        ("leader1", "member2", False),  # another ward
        ("leader1", "leader2", False),
        ("leader1", "admin", False),
        ("teamlead", "member", True),
        ("teamlead", "member2", False),
        ("teamlead", "leader1", False),
        ("member", "member2", False),
    ],
)
def test_who_may_manage_which_account(people, who, whom, allowed):
    assert may_manage_account(people[who], people[whom]) is allowed


def test_an_admin_living_in_a_ward_is_out_of_the_ward_leaders_reach(people, tree, make_user):
    boss = make_user("boss", "admin", tree["Q1"])
    peer = make_user("peer", "ward_leader", tree["Q1"])
    assert not may_manage_account(people["leader1"], boss)
    assert not may_manage_account(people["leader1"], peer)
    assert may_manage_account(people["admin"], boss)


@pytest.mark.parametrize(
    "role, roles",
    [
        ("admin", ("admin", "ward_leader", "team_leader", "member")),
        ("ward_leader", ("team_leader", "member")),
        ("team_leader", ("member",)),
        ("member", ()),
    ],
)
def test_nobody_gives_a_role_equal_to_or_above_their_own_but_the_admin(role, roles):
    assert assignable_roles(role) == roles
