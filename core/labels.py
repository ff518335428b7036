"""The words people read for roles and unit kinds; the models keep only the values."""

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "admin": _l("Quản trị tỉnh"),
    "ward_leader": _l("Lãnh đạo phường/xã"),
    "team_leader": _l("Tổ trưởng"),
    "member": _l("Thành viên"),
}

KIND_LABELS = {
    "province": _l("Tỉnh"),
    "ward": _l("Phường"),
    "commune": _l("Xã"),
    "quarter": _l("Khu phố / ấp"),
    "youth_union": _l("Chi đoàn"),
    "team": _l("Tổ công nghệ số"),
    "agency": _l("Cơ quan"),
}
