"""Accounts: signing in, passwords, one-time passwords, creating and importing people."""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from campaigns.photos import delete_photo
from core.access import may_manage_unit
from core.csv_import import RowError, read_csv
from core.privacy import is_valid_phone, keyed_hash, normalise_phone
from models import BadgeAward, Campaign, Completion, Contribution, MemberScore, Unit, User, db
from models.accounts import ROLE_LABELS, new_session_nonce

MIN_PASSWORD_LENGTH = 8
USERNAME_PATTERN = re.compile(r"[a-z0-9._-]{3,64}")
# Letters and digits that cannot be confused on a phone screen or a printed sheet.
_OTP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@cache
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    return frozenset(line.strip().lower() for line in path.read_text().splitlines() if line.strip())


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(8))


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == normalise_username(username)))


def load_user_from_session(session_id: str) -> User | None:
    """Flask-Login loader: the id must carry the current nonce and the account must be active."""
    user_id, _sep, nonce = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or not secrets.compare_digest(user.session_nonce, nonce):
        return None
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    user = find_user(username)
    if user is None:
        check_password_hash(_dummy_hash(), password)  # same cost whether or not the name exists
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def password_problem(password: str, username: str = "") -> str | None:
    """Why this password is not acceptable, in the user's language, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Mật khẩu phải có ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH)
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(lowered)) <= 2:
        return _("Mật khẩu này quá phổ biến và dễ đoán. Hãy chọn mật khẩu khác.")
    if username and normalise_username(username) in lowered:
        return _("Mật khẩu không được chứa tên đăng nhập.")
    return None


def end_all_sessions(user: User) -> None:
    """Every browser signed in as this user is signed out at its next request."""
    user.session_nonce = new_session_nonce()


def set_password(user: User, password: str) -> None:
    """Set a password the user chose; callers check password_problem first."""
    user.password_hash = generate_password_hash(password)
    user.must_change_password = False
    end_all_sessions(user)


def set_name_consent(user: User, agreed: bool, at: datetime) -> None:
    """Record the member's answer and when it was given; either answer can be changed later."""
    user.public_name_consent = agreed
    user.public_name_consent_at = at


def issue_one_time_password(user: User) -> str:
    """Give the user a new one-time password that must be changed at next sign-in."""
    password = "".join(secrets.choice(_OTP_ALPHABET) for _ in range(10))
    user.password_hash = generate_password_hash(password)
    user.must_change_password = True
    end_all_sessions(user)
    return password


def deactivate_user(user: User) -> None:
    user.active = False
    end_all_sessions(user)


def username_taken(username: str, exclude_id: int | None = None) -> bool:
    query = select(func.count()).select_from(User).where(User.username == normalise_username(username))
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    return db.session.scalar(query) > 0


@dataclass
class UserFields:
    username: str
    display_name: str
    role: str
    home_unit: Unit | None
    team: Unit | None = None
    youth_union: Unit | None = None
    is_cadre: bool = False
    phone: str = ""


def user_problems(actor: User, fields: UserFields, user: User | None = None) -> list[str]:
    """Every reason these fields cannot be saved (as a new account, or onto `user`)."""
    problems = []
    username = normalise_username(fields.username)
    if not USERNAME_PATTERN.fullmatch(username):
        problems.append(_("Tên đăng nhập gồm 3–64 chữ cái không dấu, số, dấu chấm, gạch dưới hoặc gạch ngang."))
    elif username_taken(username, exclude_id=user.id if user else None):
        problems.append(_("Tên đăng nhập %(username)s đã được dùng.", username=username))
    if not fields.display_name.strip() or len(fields.display_name) > 120:
        problems.append(_("Họ tên là bắt buộc (tối đa 120 ký tự)."))
    if fields.role not in ROLE_LABELS:
        problems.append(_("Vai trò không hợp lệ: %(role)s.", role=fields.role))
    elif fields.role == "admin" and actor.role != "admin":
        problems.append(_("Chỉ quản trị tỉnh được cấp vai trò quản trị."))
    if fields.home_unit is None:
        problems.append(_("Đơn vị cơ sở là bắt buộc."))
    elif fields.home_unit.kind in ("team", "youth_union"):
        problems.append(_("Đơn vị cơ sở phải là khu phố, phường/xã, cơ quan hoặc tỉnh, không phải tổ hay chi đoàn."))
    for unit, kind, message in (
        (fields.team, "team", _("Tổ phải là một tổ công nghệ số.")),
        (fields.youth_union, "youth_union", _("Chi đoàn phải là một chi đoàn.")),
    ):
        if unit is not None and unit.kind != kind:
            problems.append(message)
    if fields.role == "team_leader" and fields.team is None and fields.youth_union is None:
        problems.append(_("Tổ trưởng phải thuộc một tổ hoặc chi đoàn."))
    for unit in (fields.home_unit, fields.team, fields.youth_union):
        if unit is not None and not may_manage_unit(actor, unit):
            problems.append(_("Bạn không quản lý đơn vị %(code)s.", code=unit.code))
    if fields.phone and not is_valid_phone(fields.phone):
        problems.append(_("Số điện thoại không hợp lệ."))
    return problems


def _apply(user: User, fields: UserFields) -> None:
    user.username = normalise_username(fields.username)
    user.display_name = fields.display_name.strip()
    user.role = fields.role
    user.home_unit = fields.home_unit
    user.team = fields.team
    user.youth_union = fields.youth_union
    user.is_cadre = fields.is_cadre
    if fields.phone:
        user.phone_hash = keyed_hash(normalise_phone(fields.phone))


def create_user(fields: UserFields) -> tuple[User, str]:
    """Create an account with a one-time password; returns the user and that password."""
    user = User(password_hash="")
    _apply(user, fields)
    db.session.add(user)
    password = issue_one_time_password(user)
    db.session.flush()
    return user, password


def update_user(user: User, fields: UserFields) -> None:
    """Save edited account fields; a changed role ends the user's sessions."""
    role_changed = user.role != fields.role
    _apply(user, fields)
    if role_changed:
        end_all_sessions(user)


MEMBER_COLUMNS = ("username", "display_name", "home_quarter")
MEMBER_OPTIONAL_COLUMNS = ("team", "youth_union", "phone")


def import_members(actor: User, data: bytes) -> tuple[list[tuple[User, str]], list[RowError]]:
    """Create members from a CSV with one-time passwords; any bad row means nobody is created."""
    rows, errors = read_csv(data, MEMBER_COLUMNS, MEMBER_OPTIONAL_COLUMNS)
    if errors:
        return [], errors
    units = _units_by_code(
        {row.get(column, "").upper() for _line, row in rows for column in ("home_quarter", "team", "youth_union")}
    )
    seen: set[str] = set()
    plans = []
    for line, row in rows:
        problems = []
        looked_up = {}
        for column in ("home_quarter", "team", "youth_union"):
            code = row.get(column, "").upper()
            looked_up[column] = units.get(code)
            if code and code not in units:
                problems.append(_("Không tìm thấy đơn vị %(code)s.", code=code))
        fields = UserFields(
            username=row["username"],
            display_name=row["display_name"],
            role="member",
            home_unit=looked_up["home_quarter"],
            team=looked_up["team"],
            youth_union=looked_up["youth_union"],
            phone=row.get("phone", ""),
        )
        if fields.home_unit is not None and fields.home_unit.kind != "quarter":
            problems.append(_("%(code)s không phải là khu phố / ấp.", code=fields.home_unit.code))
        username = normalise_username(fields.username)
        if username in seen:
            problems.append(_("Tên đăng nhập %(username)s xuất hiện hai lần trong tệp.", username=username))
        seen.add(username)
        problems += [p for p in user_problems(actor, fields) if p not in problems]
        errors.extend(RowError(line, problem) for problem in problems)
        plans.append(fields)
    if errors:
        return [], errors
    return [create_user(fields) for fields in plans], []


def _units_by_code(codes: set[str]) -> dict[str, Unit]:
    codes.discard("")
    return {unit.code: unit for unit in db.session.scalars(select(Unit).where(Unit.code.in_(codes)))}


def erase_personal_data(user: User) -> None:
    """Delete a person's personal data on request while their past work keeps counting for their
    units: name, login, phone hash, consent, notes, photos and certificate codes go; points stay
    attached to an anonymous, locked account."""
    user.username = f"da-xoa-{user.id}"
    user.display_name = f"Đã xoá #{user.id}"  # stored, not shown as interface text
    user.password_hash = generate_password_hash(secrets.token_hex(16))
    user.phone_hash = None
    user.public_name_consent = None
    user.public_name_consent_at = None
    deactivate_user(user)
    for contribution in db.session.scalars(select(Contribution).where(Contribution.member_id == user.id)):
        if contribution.photo_name:
            delete_photo(contribution.photo_name)
        contribution.photo_name = None
        contribution.note = ""
    for completion in db.session.scalars(select(Completion).where(Completion.member_id == user.id)):
        completion.certificate_code = ""


def _unit_ref(unit: Unit | None) -> dict | None:
    return {"code": unit.code, "name": unit.name} if unit is not None else None


def personal_data(user: User) -> dict:
    """Everything stored about a member, for the copy the law lets them ask for (DESIGN §7).

    Residents they helped appear only as the last three digits kept on record; their own phone
    number is not stored, only a keyed hash that cannot be turned back into it.
    """
    contributions = db.session.scalars(
        select(Contribution).where(Contribution.member_id == user.id).order_by(Contribution.id)
    )
    completions = db.session.scalars(select(Completion).where(Completion.member_id == user.id).order_by(Completion.id))
    badges = db.session.scalars(select(BadgeAward).where(BadgeAward.member_id == user.id).order_by(BadgeAward.id))
    scores = db.session.execute(
        select(Campaign.slug, MemberScore.points)
        .join(Campaign, Campaign.id == MemberScore.campaign_id)
        .where(MemberScore.member_id == user.id)
    )
    return {
        "account": {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role,
            "home_unit": _unit_ref(user.home_unit),
            "team": _unit_ref(user.team),
            "youth_union": _unit_ref(user.youth_union),
            "is_cadre": user.is_cadre,
            "active": user.active,
            "created_at": user.created_at.isoformat(),
            "phone_hash_on_file": user.phone_hash is not None,
            "public_name_consent": user.public_name_consent,
            "public_name_consent_at": user.public_name_consent_at.isoformat() if user.public_name_consent_at else None,
        },
        "contributions": [
            {
                "campaign": item.campaign.slug,
                "activity": item.activity_type.name,
                "quantity": item.quantity,
                "points": item.points,
                "occurred_on": item.occurred_on.isoformat(),
                "beneficiary_last3": item.beneficiary_last3,
                "beneficiary_consent": item.beneficiary_consent,
                "note": item.note,
                "has_photo": item.photo_name is not None,
                "status": item.status,
                "reason": item.reason,
                "created_at": item.created_at.isoformat(),
            }
            for item in contributions
        ],
        "training": [
            {
                "course": item.course.name,
                "completed_on": item.completed_on.isoformat(),
                "certificate_code": item.certificate_code,
                "source": item.source,
                "status": item.status,
            }
            for item in completions
        ],
        "points": [{"campaign": slug, "points": points} for slug, points in scores],
        "badges": [
            {"campaign": award.campaign.slug, "kind": award.kind, "awarded_at": award.awarded_at.isoformat()}
            for award in badges
        ],
    }
