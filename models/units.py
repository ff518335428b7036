"""The organisation tree: province, wards and communes, quarters, teams, youth unions, agencies."""

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db

# Which kinds may sit directly under which: keeps the tree one a ward leader recognises.
PARENT_KINDS = {
    "province": (),
    "ward": ("province",),
    "commune": ("province",),
    "quarter": ("ward", "commune"),
    "youth_union": ("province", "ward", "commune", "agency"),
    "team": ("province", "ward", "commune", "quarter"),
    "agency": ("province", "ward", "commune"),
}
WARD_KINDS = ("ward", "commune")
# Adult population makes sense for places; member count for groups of people.
POPULATION_KINDS = ("province", "ward", "commune", "quarter")


class Unit(db.Model):
    # varchar_pattern_ops lets PostgreSQL use the index for "path LIKE '/1/7/%'" in any collation.
    __table_args__ = (Index("ix_unit_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(16), index=True)
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
