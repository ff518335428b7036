"""Who may use which route and manage which unit: every route declares it, one place decides."""

from collections.abc import Callable
from typing import TypeVar

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from domain.ranks import ROLES, outranks
from domain.ranks import assignable_roles as assignable_roles  # where the features look for it
from models import Unit, User, db
from models.units import WARD_KINDS

Found = TypeVar("Found")

PUBLIC = "public"
SIGNED_IN = "signed_in"
# The view function's attribute that holds its declaration (a function takes any attribute; its type
# says nothing of them, hence setattr and getattr).
ACCESS_ATTRIBUTE = "access"


def public(view: Callable) -> Callable:
    """Declare a route open to anyone, signed in or not."""
    setattr(view, ACCESS_ATTRIBUTE, PUBLIC)
    return view


def signed_in(view: Callable) -> Callable:
    """Declare a route open to any signed-in, active user."""
    setattr(view, ACCESS_ATTRIBUTE, SIGNED_IN)
    return view


def roles(*allowed: str) -> Callable[[Callable], Callable]:
    """Declare a route open only to signed-in users with one of these roles."""
    unknown = set(allowed) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def declare(view: Callable) -> Callable:
        setattr(view, ACCESS_ATTRIBUTE, frozenset(allowed))
        return view

    return declare


# Routes a user who must change a one-time password may still reach.
_PASSWORD_CHANGE_ALLOWED = {"accounts.change_password", "accounts.logout", "static", "web.healthz"}


def enforce_route_access():
    """before_request: refuse undeclared routes, send strangers to login, check roles."""
    if request.endpoint is None:
        return None  # 404 and 405 are raised by routing itself
    if request.endpoint == "static":
        # Loading the user would touch the session: a cookie and `Vary: Cookie` on files every visitor shares.
        return None
    view = current_app.view_functions[request.endpoint]
    access = getattr(view, ACCESS_ATTRIBUTE, None)
    if access is None:
        abort(403)  # deny by default: a route nobody declared is a route nobody reviewed
    if (
        current_user.is_authenticated
        and current_user.must_change_password
        and request.endpoint not in _PASSWORD_CHANGE_ALLOWED
    ):
        return redirect(url_for("accounts.change_password"))
    if access == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
    if access != SIGNED_IN and current_user.role not in access:
        abort(403)
    return None


def ward_of(unit: Unit | None) -> Unit | None:
    """The ward or commune a unit lies in (itself if it is one)."""
    if unit is None:
        return None
    if unit.kind in WARD_KINDS:
        return unit
    return db.session.scalars(select(Unit).where(Unit.id.in_(unit.ancestor_ids), Unit.kind.in_(WARD_KINDS))).first()


def managed_root(user: User) -> Unit | None:
    """The top of the subtree a user manages; None for admins (everything) and members."""
    if user.role == "ward_leader":
        return ward_of(user.home_unit)
    if user.role == "team_leader":
        return user.team or user.youth_union
    return None


def may_manage_unit(user: User, unit: Unit) -> bool:
    """Admin: every unit; ward leader: own ward and below; team leader: own team and below."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.role == "admin":
        return True
    if user.role not in ("ward_leader", "team_leader"):
        return False
    root = managed_root(user)
    return root is not None and root.id in unit.ancestor_ids


def may_manage_user(actor: User, user: User) -> bool:
    """Ward leaders and admins manage people by home unit; a team leader manages the team's members."""
    if actor.role == "team_leader" and actor.is_active:
        root = managed_root(actor)
        return root is not None and root.id in (user.team_id, user.youth_union_id)
    return may_manage_unit(actor, user.home_unit)


def may_manage_account(actor: User, user: User) -> bool:
    """Edit, reset, lock, erase or change the role of an account: the province admin acts on anyone,
    others need a strictly higher rank and the account inside their scope."""
    if not actor.is_authenticated or not actor.is_active:
        return False
    return outranks(actor.role, user.role) and may_manage_user(actor, user)


def managed_members_clause(actor: User):
    """A SQL condition on User selecting the people this actor manages (same rule as may_manage_user)."""
    if actor.role == "team_leader":
        root = managed_root(actor)
        if root is None:
            return User.id.is_(None)
        return or_(User.team_id == root.id, User.youth_union_id == root.id)
    return User.home_unit_id.in_(select(Unit.id).where(managed_units_clause(actor)))


def managed_units_clause(user: User):
    """A SQL condition on Unit selecting what this user may manage."""
    if user.role == "admin":
        return Unit.id.isnot(None)
    root = managed_root(user)
    if root is None:
        return Unit.id.is_(None)
    return or_(Unit.id == root.id, Unit.path.like(f"{root.path}%"))


def permitted(found: Found | None, may: Callable[[User, Found], bool]) -> Found:
    """What a route acts on, looked up by the route: 404 when there is no such thing, 403 when the
    signed-in user may not act on it (the object-level check that follows every route's role check)."""
    if found is None:
        abort(404)
    if not may(current_user, found):
        abort(403)
    return found


def members_under_clause(unit: Unit):
    """A SQL condition on User: the person lives in the unit's subtree, or belongs to a team or youth union
    inside it (the rule of campaigns.services.in_scope, for a campaign's scope)."""
    subtree = select(Unit.id).where(Unit.path.like(f"{unit.path}%"))
    return or_(User.home_unit_id.in_(subtree), User.team_id.in_(subtree), User.youth_union_id.in_(subtree))
