"""Who may act on whom by rank (DESIGN §9): province admin > ward leader > team leader > member."""

from domain.enums import Role

ROLES = tuple(Role)  # highest rank first
# Keyed by str: a Role equals its stored string, so a plain role from a form or a row finds its rank.
RANKS: dict[str, int] = {Role.ADMIN: 3, Role.WARD_LEADER: 2, Role.TEAM_LEADER: 1, Role.MEMBER: 0}


def outranks(actor_role: str, target_role: str) -> bool:
    """An action on an account needs a strictly higher rank; only the province admin acts on equals.
    An unknown actor role ranks lowest, an unknown target role highest."""
    if actor_role == Role.ADMIN:
        return True
    return RANKS.get(actor_role, 0) > RANKS.get(target_role, RANKS[Role.ADMIN])


def assignable_roles(actor_role: str) -> tuple[str, ...]:
    """The roles this actor may give: all for the province admin, otherwise only lower ones."""
    if actor_role == Role.ADMIN:
        return ROLES
    return tuple(role for role in ROLES if RANKS[role] < RANKS.get(actor_role, 0))
