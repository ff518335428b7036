"""The words people read for roles and unit kinds; the models keep only the values."""

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from domain.enums import Role, UnitKind

# Keyed by str so that a plain string looks a label up as well as a member does.
ROLE_LABELS: dict[str, LazyString] = {
    Role.ADMIN: _l("Quản trị tỉnh"),
    Role.WARD_LEADER: _l("Lãnh đạo phường/xã"),
    Role.TEAM_LEADER: _l("Tổ trưởng"),
    Role.MEMBER: _l("Thành viên"),
}

KIND_LABELS: dict[str, LazyString] = {
    UnitKind.PROVINCE: _l("Tỉnh"),
    UnitKind.WARD: _l("Phường"),
    UnitKind.COMMUNE: _l("Xã"),
    UnitKind.QUARTER: _l("Khu phố / ấp"),
    UnitKind.YOUTH_UNION: _l("Chi đoàn"),
    UnitKind.TEAM: _l("Tổ công nghệ số"),
    UnitKind.AGENCY: _l("Cơ quan"),
}
