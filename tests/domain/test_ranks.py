"""Who may act on whom by rank, for every pair of roles (DESIGN §9)."""

import pytest

from domain.enums import Role
from domain.ranks import ROLES, assignable_roles, outranks

# (actor, target) pairs where the actor may act: strictly higher rank, and the admin on equals.
MAY_ACT = {
    ("admin", "admin"),
    ("admin", "ward_leader"),
    ("admin", "team_leader"),
    ("admin", "member"),
    ("ward_leader", "team_leader"),
    ("ward_leader", "member"),
    ("team_leader", "member"),
}


def test_the_order_of_ranks():
    assert ROLES == ("admin", "ward_leader", "team_leader", "member") == tuple(Role)


@pytest.mark.parametrize("target", ROLES)
@pytest.mark.parametrize("actor", ROLES)
def test_every_pair_of_roles(actor, target):
    assert outranks(actor, target) is ((actor, target) in MAY_ACT)


@pytest.mark.parametrize("actor", ["ward_leader", "team_leader", "member", "resident"])
def test_an_unknown_role_is_out_of_reach_of_all_but_the_admin(actor):
    assert not outranks(actor, "resident")


def test_the_admin_acts_on_an_unknown_role():
    assert outranks("admin", "resident")


@pytest.mark.parametrize("target", ROLES)
def test_an_unknown_actor_acts_on_nobody(target):
    assert not outranks("resident", target)


@pytest.mark.parametrize(
    ("actor", "roles"),
    [
        ("admin", ("admin", "ward_leader", "team_leader", "member")),
        ("ward_leader", ("team_leader", "member")),
        ("team_leader", ("member",)),
        ("member", ()),
        ("resident", ()),
    ],
)
def test_assignable_roles_are_those_below(actor, roles):
    assert assignable_roles(actor) == roles


@pytest.mark.parametrize("actor", ROLES)
def test_one_may_give_exactly_the_roles_one_outranks_except_admin_equals(actor):
    assert set(assignable_roles(actor)) == {target for target in ROLES if outranks(actor, target)}
