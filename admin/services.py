"""The unit tree: creating, editing and importing units, within what the actor manages."""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from audit.services import record
from core.access import may_manage_unit
from core.csv_import import RowError, parse_count, read_csv
from core.labels import KIND_LABELS
from domain.enums import UnitKind
from models import Unit, User, db
from models.units import PARENT_KINDS, POPULATION_KINDS
from scoring import bump_versions_scoped_at, restate_units

UNIT_COLUMNS = ("code", "name", "kind", "parent_code")
UNIT_OPTIONAL_COLUMNS = ("adult_population", "member_count")


@dataclass
class UnitFields:
    code: str
    name: str
    kind: str
    parent: Unit | None
    adult_population: int | None = None
    member_count: int | None = None


def find_unit(code: str) -> Unit | None:
    return db.session.scalar(select(Unit).where(Unit.code == code.strip().upper()))


def unit_problems(actor: User, fields: UnitFields, unit: Unit | None = None) -> list[str]:
    """Every reason these fields cannot be saved (as a new unit, or onto `unit`)."""
    problems = []
    if not fields.code or len(fields.code) > 40 or not fields.code.replace("-", "").replace("_", "").isalnum():
        problems.append(_("Mã đơn vị chỉ gồm chữ, số, gạch ngang; tối đa 40 ký tự."))
    elif find_unit(fields.code) not in (None, unit):
        problems.append(_("Mã đơn vị %(code)s đã tồn tại.", code=fields.code))
    if not fields.name or len(fields.name) > 160:
        problems.append(_("Tên đơn vị là bắt buộc (tối đa 160 ký tự)."))
    if fields.kind not in KIND_LABELS:
        problems.append(_("Loại đơn vị không hợp lệ: %(kind)s.", kind=fields.kind))
        return problems
    allowed_parents = PARENT_KINDS[fields.kind]
    if fields.parent is None:
        if allowed_parents:
            problems.append(_("%(kind)s phải có đơn vị cấp trên.", kind=KIND_LABELS[fields.kind]))
        elif actor.role != "admin":
            problems.append(_("Chỉ quản trị tỉnh được tạo đơn vị cấp tỉnh."))
    else:
        if fields.parent.kind not in allowed_parents:
            problems.append(
                _(
                    "%(kind)s không thể trực thuộc %(parent)s.",
                    kind=KIND_LABELS[fields.kind],
                    parent=KIND_LABELS[fields.parent.kind],
                )
            )
        if unit is not None and unit.id in fields.parent.ancestor_ids:
            problems.append(_("Không thể đặt đơn vị làm cấp dưới của chính nó."))
        if not may_manage_unit(actor, fields.parent):
            problems.append(_("Bạn không quản lý đơn vị cấp trên %(code)s.", code=fields.parent.code))
    if fields.adult_population is not None and fields.kind not in POPULATION_KINDS:
        problems.append(_("Chỉ tỉnh, phường/xã và khu phố có dân số trưởng thành."))
    if fields.member_count is not None and fields.kind in POPULATION_KINDS:
        problems.append(_("Chỉ tổ, chi đoàn và cơ quan có số thành viên."))
    return problems


def _path_under(parent: Unit | None, unit_id: int) -> str:
    return f"{parent.path if parent else '/'}{unit_id}/"


def create_unit(fields: UnitFields) -> Unit:
    """Insert a unit and give it its place in the tree; callers check unit_problems first."""
    unit = Unit(
        code=fields.code.upper(),
        name=fields.name,
        kind=fields.kind,
        parent=fields.parent,
        adult_population=fields.adult_population,
        member_count=fields.member_count,
    )
    db.session.add(unit)
    db.session.flush()
    unit.path = _path_under(fields.parent, unit.id)
    return unit


def update_unit(unit: Unit, fields: UnitFields) -> None:
    """Save edited fields; moving a unit moves its whole subtree with it."""
    old_path = unit.path
    unit.code = fields.code.upper()
    unit.name = fields.name
    unit.kind = UnitKind(fields.kind)  # unit_problems has checked it is one
    unit.parent = fields.parent
    unit.adult_population = fields.adult_population
    unit.member_count = fields.member_count
    new_path = _path_under(fields.parent, unit.id)
    if new_path != old_path:
        db.session.execute(
            update(Unit)
            .where(Unit.path.like(f"{old_path}%"))
            .values(path=new_path + func.substr(Unit.path, len(old_path) + 1))
            .execution_options(synchronize_session=False)
        )
        db.session.expire_all()


def _unit_facts(unit: Unit) -> dict:
    """What the log keeps about a unit: its code, kind, place in the tree and sizes."""
    return {
        "code": unit.code,
        "kind": unit.kind,
        "parent_id": unit.parent.id if unit.parent is not None else None,
        "adult_population": unit.adult_population,
        "member_count": unit.member_count,
    }


def add_unit(actor: User, fields: UnitFields) -> Unit:
    """Create a unit for `actor` (checked with unit_problems) and log it."""
    unit = create_unit(fields)
    bump_versions_scoped_at(unit.ancestor_ids)  # a new unit joins its campaigns' boards
    record(actor, "unit.create", unit, unit, after=_unit_facts(unit))
    return unit


def change_unit(actor: User, unit: Unit, fields: UnitFields) -> None:
    """Save an edited unit and log what changed (a new name is logged as changed, not spelled out)."""
    before, old_name, old_ancestors = _unit_facts(unit), unit.name, unit.ancestor_ids
    update_unit(unit, fields)
    restate_units([unit.id])  # its kind and sizes are copied into the rows boards rank it by
    # Population, name or place: boards show all three, where the unit was and where it is now.
    bump_versions_scoped_at([*old_ancestors, *unit.ancestor_ids])
    after = _unit_facts(unit)
    changed = [key for key in before if before[key] != after[key]]
    if changed or unit.name != old_name:
        record(
            actor,
            "unit.update",
            unit,
            unit,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed} | ({"name_changed": True} if unit.name != old_name else {}),
        )


def import_units(actor: User, data: bytes) -> tuple[int, list[RowError]]:
    """Create units from a CSV; any bad row means nothing is created and every bad row is listed.

    A parent may be an existing unit or one defined on an earlier line of the same file.
    """
    rows, errors = read_csv(data, UNIT_COLUMNS, UNIT_OPTIONAL_COLUMNS)
    if errors:
        return 0, errors
    # Unsaved stand-ins let later rows name an earlier row as parent; a stand-in's path is its
    # parent's chain, which is all the scope check needs.
    stand_ins: dict[str, Unit] = {}
    plans: list[UnitFields] = []
    for line, row in rows:
        code = row["code"].upper()
        parent_code = row["parent_code"].upper()
        parent = stand_ins.get(parent_code) or (find_unit(parent_code) if parent_code else None)
        problems = []
        if code in stand_ins:
            problems.append(_("Mã %(code)s xuất hiện hai lần trong tệp.", code=code))
        try:
            adult_population = parse_count(row.get("adult_population", ""))
            member_count = parse_count(row.get("member_count", ""))
        except ValueError as bad:
            problems.append(_("Số không hợp lệ: %(value)s.", value=str(bad)))
            adult_population = member_count = None
        fields = UnitFields(code, row["name"], row["kind"].lower(), parent, adult_population, member_count)
        if parent_code and parent is None:
            problems.append(
                _("Không tìm thấy đơn vị cấp trên %(code)s (phải có sẵn hoặc ở dòng trước).", code=parent_code)
            )
        else:
            problems += unit_problems(actor, fields)
        if problems:
            errors.extend(RowError(line, problem) for problem in problems)
            continue
        stand_ins[code] = Unit(code=code, kind=fields.kind, path=parent.path if parent else "/")
        plans.append(fields)
    if errors:
        return 0, errors
    created: dict[str, Unit] = {}
    for fields in plans:
        if fields.parent is not None and fields.parent.id is None:
            fields.parent = created[fields.parent.code]
        created[fields.code] = unit = create_unit(fields)
        record(actor, "unit.import", unit, unit, after=_unit_facts(unit))
    bump_versions_scoped_at({unit_id for unit in created.values() for unit_id in unit.ancestor_ids})
    return len(created), []
