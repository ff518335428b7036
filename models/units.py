"""The organisation tree: province, wards and communes, quarters, teams, youth unions, agencies."""

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.enums import UnitKind
from models import Model, enum_type

# Which kinds may sit directly under which: keeps the tree one a ward leader recognises.
PARENT_KINDS: dict[str, tuple[UnitKind, ...]] = {
    UnitKind.PROVINCE: (),
    UnitKind.WARD: (UnitKind.PROVINCE,),
    UnitKind.COMMUNE: (UnitKind.PROVINCE,),
    UnitKind.QUARTER: (UnitKind.WARD, UnitKind.COMMUNE),
    UnitKind.YOUTH_UNION: (UnitKind.PROVINCE, UnitKind.WARD, UnitKind.COMMUNE, UnitKind.AGENCY),
    UnitKind.TEAM: (UnitKind.PROVINCE, UnitKind.WARD, UnitKind.COMMUNE, UnitKind.QUARTER),
    UnitKind.AGENCY: (UnitKind.PROVINCE, UnitKind.WARD, UnitKind.COMMUNE),
}
WARD_KINDS = (UnitKind.WARD, UnitKind.COMMUNE)
# Adult population makes sense for places; member count for groups of people.
POPULATION_KINDS = (UnitKind.PROVINCE, UnitKind.WARD, UnitKind.COMMUNE, UnitKind.QUARTER)


class Unit(Model):
    # varchar_pattern_ops lets PostgreSQL use the index for "path LIKE '/1/7/%'" in any collation.
    __table_args__ = (Index("ix_unit_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[UnitKind] = mapped_column(enum_type(UnitKind, "kind", 16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # Materialised path of ids, "/1/7/42/": ancestors without recursion, subtrees with LIKE.
    path: Mapped[str] = mapped_column(String(255), default="")
    adult_population: Mapped[int | None]
    member_count: Mapped[int | None]

    parent: Mapped["Unit | None"] = relationship(remote_side=[id])

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to this unit, itself included."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"
