"""Accounts: signing in, passwords, one-time passwords, creating and importing people."""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from audit.services import entry as audit_entry
from audit.services import record, record_many
from core.access import assignable_roles, may_manage_unit
from core.clock import now
from core.csv_import import RowError, read_csv
from core.labels import ROLE_LABELS
from core.privacy import is_valid_phone, keyed_hash, normalise_phone
from domain.enums import Role
from models import BadgeAward, Campaign, Completion, Contribution, MemberScore, Unit, User, db
from models.accounts import new_session_nonce
from models.notifications import NotificationAddress
from scoring import bump_versions_scoped_at

MIN_PASSWORD_LENGTH = 8
# zxcvbn's score 3 means at least 10^8 guesses: out of reach of throttled sign-in and costly offline.
MIN_PASSWORD_SCORE = 3
ONE_TIME_PASSWORD_LIFETIME = timedelta(hours=24)
# Rows inserted per flush by the member import; the write transaction holds no password hashing.
IMPORT_BATCH = 500
# One import is one all-or-nothing write transaction of ~0.7 ms a row here: 1,000 rows keep other
# writers' wait under a second (and the hashing, done before it, under two minutes).
MAX_IMPORTED_MEMBERS = 1000
USERNAME_PATTERN = re.compile(r"[a-z0-9._-]{3,64}")
# Letters and digits that cannot be confused on a phone screen or a printed sheet.
_OTP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@cache
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    return frozenset(line.strip().lower() for line in path.read_text().splitlines() if line.strip())


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(8))


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


def _is_common(estimate: dict) -> bool:
    """The whole password is one entry of zxcvbn's list of 30,000 leaked passwords (or a l33t/reversed form)."""
    sequence = estimate["sequence"]
    return len(sequence) == 1 and sequence[0].get("dictionary_name") == "passwords"


def password_problem(password: str, username: str = "") -> str | None:
    """Why this password is not acceptable, in the user's language, or None (zxcvbn estimates guessability)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Mật khẩu phải có ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH)
    lowered = password.lower()
    name = normalise_username(username)
    # zxcvbn refuses more than 72 characters (its cost grows with length); those decide anyway.
    estimate = zxcvbn(password[:72], user_inputs=[name] if name else [])
    if lowered in _common_passwords() or _is_common(estimate):
        return _("Mật khẩu này quá phổ biến và dễ đoán. Hãy chọn mật khẩu khác.")
    if name and name in lowered:
        return _("Mật khẩu không được chứa tên đăng nhập.")
    if estimate["score"] < MIN_PASSWORD_SCORE:
        return _(
            "Mật khẩu quá dễ đoán (tên, ngày sinh, dãy số hay các phím liền nhau). Hãy dùng một câu ngắn gồm vài từ mà chỉ bạn biết."  # noqa: E501 (one translatable sentence)
        )
    return None


def end_all_sessions(user: User) -> None:
    """Every browser signed in as this user is signed out at its next request."""
    user.session_nonce = new_session_nonce()


def hash_password(password: str) -> str:
    """One hash by PASSWORD_HASH_METHOD (scrypt, ~0.1 s here): keep many out of write transactions."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def set_password(user: User, password: str) -> None:
    """Set a password the user chose; callers check password_problem first."""
    user.password_hash = hash_password(password)
    if user.must_change_password:
        user.one_time_password_expires_at = None
    user.must_change_password = False
    end_all_sessions(user)


def set_name_consent(user: User, agreed: bool, at: datetime) -> None:
    """Record the member's answer and when it was given; either answer can be changed later."""
    user.public_name_consent = agreed
    user.public_name_consent_at = at


def set_language(user: User, language: str) -> None:
    """Saved on the account so a member's other phones open in it too."""
    user.language = language


def one_time_credentials(count: int) -> list[tuple[str, str]]:
    """`count` new one-time passwords with their hashes. CPU only: call it with no transaction open."""
    passwords = ["".join(secrets.choice(_OTP_ALPHABET) for _ in range(10)) for _ in range(count)]
    return [(password, hash_password(password)) for password in passwords]


def _give_one_time_password(user: User, hashed: str, at: datetime) -> None:
    user.password_hash = hashed
    user.must_change_password = True
    user.one_time_password_expires_at = at + ONE_TIME_PASSWORD_LIFETIME
    end_all_sessions(user)


def issue_one_time_password(user: User) -> str:
    """Give the user a new one-time password, valid 24 hours, that must be changed at next sign-in."""
    [(password, hashed)] = one_time_credentials(1)
    _give_one_time_password(user, hashed, now())
    return password


def one_time_password_expired(user: User, at: datetime) -> bool:
    """A one-time password not changed within 24 hours no longer opens the account."""
    if not user.must_change_password:
        return False
    expires_at = user.one_time_password_expires_at
    return expires_at is not None and expires_at <= at


def deactivate_user(user: User) -> None:
    user.active = False
    end_all_sessions(user)


def username_taken(username: str, exclude_id: int | None = None) -> bool:
    query = select(func.count()).select_from(User).where(User.username == normalise_username(username))
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    return db.session.execute(query).scalar_one() > 0


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


def _name_problems(fields: UserFields, user: User | None, taken: set[str] | None) -> list[str]:
    """A well-formed username nobody else has, and a display name."""
    problems = []
    username = normalise_username(fields.username)
    if not USERNAME_PATTERN.fullmatch(username):
        problems.append(_("Tên đăng nhập gồm 3–64 chữ cái không dấu, số, dấu chấm, gạch dưới hoặc gạch ngang."))
    elif username in taken if taken is not None else username_taken(username, user.id if user else None):
        problems.append(_("Tên đăng nhập %(username)s đã được dùng.", username=username))
    if not fields.display_name.strip() or len(fields.display_name) > 120:
        problems.append(_("Họ tên là bắt buộc (tối đa 120 ký tự)."))
    return problems


def _role_problems(actor: User, role: str) -> list[str]:
    """A known role, lower than the actor's own (the province admin gives any)."""
    if role not in ROLE_LABELS:
        return [_("Vai trò không hợp lệ: %(role)s.", role=role)]
    if role not in assignable_roles(actor.role):
        return [_("Bạn chỉ có thể cấp vai trò thấp hơn vai trò của mình.")]
    return []


def _unit_kind_problems(fields: UserFields) -> list[str]:
    """A home unit that is not a team, a team and a youth union of their kinds, and one for a team leader."""
    problems = []
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
    return problems


def _scope_problems(actor: User, fields: UserFields) -> list[str]:
    """Every unit named must be one the actor manages."""
    return [
        _("Bạn không quản lý đơn vị %(code)s.", code=unit.code)
        for unit in (fields.home_unit, fields.team, fields.youth_union)
        if unit is not None and not may_manage_unit(actor, unit)
    ]


def user_problems(
    actor: User, fields: UserFields, user: User | None = None, taken: set[str] | None = None
) -> list[str]:
    """Every reason these fields cannot be saved (as a new account, or onto `user`); `taken` is the
    usernames in use when the caller looked them up in bulk (an import), saving a query per row."""
    problems = _name_problems(fields, user, taken)
    problems += _role_problems(actor, fields.role)
    problems += _unit_kind_problems(fields)
    problems += _scope_problems(actor, fields)
    if fields.phone and not is_valid_phone(fields.phone):
        problems.append(_("Số điện thoại không hợp lệ."))
    return problems


def _apply(user: User, fields: UserFields) -> None:
    user.username = normalise_username(fields.username)
    user.display_name = fields.display_name.strip()
    user.role = Role(fields.role)  # user_problems has checked it is one
    if fields.home_unit is None:  # user_problems refuses it; callers check those first
        raise ValueError("an account needs a home unit")
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


def _places(user: User) -> set[int]:
    """Every unit whose boards may list this person: their units and those units' ancestors."""
    return {unit_id for unit in (user.home_unit, user.team, user.youth_union) if unit for unit_id in unit.ancestor_ids}


def update_user(user: User, fields: UserFields) -> None:
    """Save edited account fields; a changed role ends the user's sessions, a move refreshes boards."""
    role_changed = user.role != fields.role
    places_before = _places(user)
    _apply(user, fields)
    if role_changed:
        end_all_sessions(user)
    places_after = _places(user)
    if places_after != places_before:
        # Member boards show a person's home unit and filter by place: cached ones must be rebuilt.
        bump_versions_scoped_at(places_before | places_after)


# --- actions on accounts, each recorded in the audit log in the caller's transaction ------------


def _unit_id(unit: Unit | None) -> int | None:
    return unit.id if unit is not None else None


def _account_facts(user: User) -> dict:
    """What the log keeps about an account: ids and flags, never a name, phone hash or password."""
    return {
        "role": user.role,
        "home_unit_id": _unit_id(user.home_unit),
        "team_id": _unit_id(user.team),
        "youth_union_id": _unit_id(user.youth_union),
        "is_cadre": user.is_cadre,
        "active": user.active,
    }


def _new_account_facts(user: User) -> dict:
    return _account_facts(user) | {"must_change_password": True}


def add_user(actor: User, fields: UserFields) -> tuple[User, str]:
    """Create an account for `actor` (checked with user_problems) and log it."""
    user, password = create_user(fields)
    record(actor, "user.create", user, user.home_unit, after=_new_account_facts(user))
    return user, password


def change_user(actor: User, user: User, fields: UserFields) -> None:
    """Save an edit and log it: the role change on its own entry, every other change on another."""
    before = _account_facts(user)
    personal_before = (user.username, user.display_name, user.phone_hash)
    update_user(user, fields)
    after = _account_facts(user)
    if before["role"] != after["role"]:
        record(
            actor,
            "user.role_change",
            user,
            user.home_unit,
            before={"role": before["role"]},
            after={"role": after["role"]},
        )
    changed = [key for key in before if key != "role" and before[key] != after[key]]
    # Names and phone numbers never enter the log: only the fact that they changed.
    personal = [
        key
        for key, old, new in zip(
            ("username", "display_name", "phone"),
            personal_before,
            (user.username, user.display_name, user.phone_hash),
            strict=True,
        )
        if old != new
    ]
    if changed or personal:
        record(
            actor,
            "user.update",
            user,
            user.home_unit,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed} | {f"{key}_changed": True for key in personal},
        )


def reset_user_password(actor: User, user: User) -> str:
    """A new one-time password for someone the actor manages; returns it to be handed over once."""
    before = {"must_change_password": user.must_change_password}
    password = issue_one_time_password(user)
    record(actor, "user.password_reset", user, user.home_unit, before=before, after={"must_change_password": True})
    return password


def set_account_active(actor: User, user: User, active: bool) -> bool:
    """Lock (ending every session) or unlock an account; False when it already was so."""
    if user.active == active:
        return False
    if active:
        user.active = True
    else:
        deactivate_user(user)
    action = "user.unlock" if active else "user.lock"
    record(actor, action, user, user.home_unit, before={"active": not active}, after={"active": active})
    return True


def erase_account(actor: User, user: User) -> list[str]:
    """Erase a person's personal data on request (see erase_personal_data) and log it; returns the
    evidence photos to delete once the caller has committed."""
    before = {"active": user.active, "erased": False}
    photos = erase_personal_data(user)
    record(actor, "user.erase", user, user.home_unit, before=before, after={"active": False, "erased": True})
    return photos


def record_personal_data_export(user: User) -> None:
    """Every export is audited (DESIGN §9): the member downloaded their own data."""
    record(user, "export", user, user.home_unit, after={"what": "personal_data", "format": "json"})


MEMBER_COLUMNS = ("username", "display_name", "home_quarter")
MEMBER_OPTIONAL_COLUMNS = ("team", "youth_union", "phone")


def _plan_member_import(actor: User, data: bytes) -> tuple[list[UserFields], list[RowError]]:
    """Every row of a member CSV checked: the accounts to create, or every problem found."""
    rows, errors = read_csv(data, MEMBER_COLUMNS, MEMBER_OPTIONAL_COLUMNS)
    if errors:
        return [], errors
    if len(rows) > MAX_IMPORTED_MEMBERS:
        message = _("Mỗi lần nhập tối đa %(n)d thành viên. Hãy chia tệp thành nhiều phần.", n=MAX_IMPORTED_MEMBERS)
        return [], [RowError(0, message)]
    units = _units_by_code(
        {row.get(column, "").upper() for _line, row in rows for column in ("home_quarter", "team", "youth_union")}
    )
    taken = set(
        db.session.scalars(
            select(User.username).where(User.username.in_({normalise_username(row["username"]) for _line, row in rows}))
        )
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
        problems += [p for p in user_problems(actor, fields, taken=taken) if p not in problems]
        errors.extend(RowError(line, problem) for problem in problems)
        plans.append(fields)
    if errors:
        return [], errors
    return plans, []


def check_member_import(actor: User, data: bytes) -> tuple[int, list[RowError]]:
    """How many members a CSV would create, or why it cannot be imported; writes nothing."""
    plans, errors = _plan_member_import(actor, data)
    return len(plans), errors


def import_members(
    actor: User, data: bytes, credentials: list[tuple[str, str]], at: datetime
) -> tuple[list[tuple[User, str]], list[RowError]]:
    """Create the members of a CSV, all or none, with passwords hashed beforehand by one_time_credentials.
    The file is checked again: the database may have changed while the hashes were computed."""
    plans, errors = _plan_member_import(actor, data)
    if errors:
        return [], errors
    if len(credentials) != len(plans):
        raise ValueError("one credential per imported member")
    accounts: list[tuple[User, str]] = []
    for start in range(0, len(plans), IMPORT_BATCH):
        batch = []
        for fields, (password, hashed) in zip(
            plans[start : start + IMPORT_BATCH], credentials[start : start + IMPORT_BATCH], strict=True
        ):
            user = User()
            _apply(user, fields)
            _give_one_time_password(user, hashed, at)
            batch.append((user, password))
        db.session.add_all([user for user, _password in batch])
        db.session.flush()
        # One INSERT for the batch's entries: the write lock is held while they are written.
        record_many(
            [
                audit_entry(actor, "user.import", user, user.home_unit, after=_new_account_facts(user), at=at)
                for user, _password in batch
            ]
        )
        accounts += batch
    return accounts, []


def _units_by_code(codes: set[str]) -> dict[str, Unit]:
    codes.discard("")
    return {unit.code: unit for unit in db.session.scalars(select(Unit).where(Unit.code.in_(codes)))}


def erase_personal_data(user: User) -> list[str]:
    """Delete a person's personal data on request while their past work keeps counting for their
    units: name, login, phone hash, consent, notes, photos and certificate codes go; points stay
    attached to an anonymous, locked account.

    Returns the names of the evidence photos no row names any longer, for the caller to delete after
    its commit (campaigns.photos.discard_photo): the store may be slow or down, and the write lock
    must not wait on it. One it cannot delete, or a caller that fails first, leaves the file to
    campaigns.photos.delete_unused_photos; a commit that fails leaves the rows naming them."""
    user.username = f"da-xoa-{user.id}"
    user.display_name = f"Đã xoá #{user.id}"  # stored, not shown as interface text
    user.password_hash = hash_password(secrets.token_hex(16))
    user.phone_hash = None
    user.public_name_consent = None
    user.public_name_consent_at = None
    if user.must_change_password:
        user.one_time_password_expires_at = None
    db.session.execute(delete(NotificationAddress).where(NotificationAddress.user_id == user.id))
    deactivate_user(user)
    photos = []
    for contribution in db.session.scalars(select(Contribution).where(Contribution.member_id == user.id)):
        if contribution.photo_name:
            photos.append(contribution.photo_name)
        contribution.photo_name = None
        contribution.note = ""
    for completion in db.session.scalars(select(Completion).where(Completion.member_id == user.id)):
        completion.certificate_code = ""
    return photos


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
            "notification_email": db.session.scalar(
                select(NotificationAddress.address).where(NotificationAddress.user_id == user.id)
            ),
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
