"""Demo data drawn from the Dong Nai articles: wards, quarters, teams, youth unions and people.

Everything is generated from a fixed random seed and inserted only when missing, so running the
seed twice adds nothing and a small demo can later grow into the province-scale one.
"""

import random
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from accounts.services import hash_password
from core.clock import now
from core.text import ascii_slug
from models import Unit, User, db

DEMO_PASSWORD = "thidua-demo"
PROVINCE = ("DN", "Tỉnh Đồng Nai", 3_200_000)
# (kind, name, quarters): the six localities named in the articles. Binh Loc has 11 quarters,
# Cap Rang among them, each with its community digital technology team, plus one ward-level team.
NAMED_WARDS = [
    ("ward", "Bình Lộc", 11),
    ("ward", "Tam Phước", 9),
    ("commune", "Đại Phước", 8),
    ("commune", "Đông Tâm", 7),
    ("ward", "Minh Hưng", 8),
    ("commune", "Xuân Hòa", 7),
]
# 95 localities, ~1,000 quarters, ~2,000 teams, ~13,000 members, as in the articles; national is ten times that.
PROVINCE_LOCALITIES = 95
PLACE_WORDS = [
    "An",
    "Bình",
    "Phú",
    "Long",
    "Tân",
    "Hòa",
    "Thạnh",
    "Hưng",
    "Phước",
    "Thuận",
    "Lộc",
    "Xuân",
    "Vĩnh",
    "Nhơn",
    "Trị",
    "Định",
    "Quang",
    "Thành",
    "Hiệp",
    "Sơn",
]
# Two different words from 45 give 1,980 names: enough for the 950 localities of the national scale.
MORE_PLACE_WORDS = [
    "Mỹ",
    "Đông",
    "Tây",
    "Nam",
    "Bắc",
    "Trung",
    "Tiến",
    "Thắng",
    "Lợi",
    "Đức",
    "Hải",
    "Hà",
    "Lâm",
    "Thọ",
    "Khánh",
    "Thái",
    "Cường",
    "Nghĩa",
    "Tín",
    "Hiếu",
    "Phong",
    "Điền",
    "Yên",
    "Hội",
    "Ninh",
]
FAMILY_NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE_NAMES = ["Văn", "Thị", "Minh", "Ngọc", "Thanh", "Hữu", "Đức", "Thu", "Hoàng", "Quốc", "Bảo", "Kim"]
GIVEN_NAMES = [
    "An",
    "Bình",
    "Châu",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Ngân",
    "Nhân",
    "Phúc",
    "Phương",
    "Quân",
    "Quang",
    "Sơn",
    "Tâm",
    "Thảo",
    "Thắng",
    "Trang",
    "Trung",
    "Tuấn",
    "Vy",
    "Yến",
]


@dataclass
class UnitSpec:
    code: str
    name: str
    kind: str
    parent_code: str | None
    adult_population: int | None = None
    member_count: int | None = None


@dataclass
class UserSpec:
    username: str
    display_name: str
    role: str
    home_code: str
    team_code: str | None = None
    youth_union_code: str | None = None
    is_cadre: bool = False
    public_name_consent: bool | None = None


# Demo members answered the name question in varied ways (None: not asked yet), so public boards
# show a realistic mix of names and initials.
DEMO_NAME_ANSWERS = (True, None, True, False, None)


def slug(name: str) -> str:
    """'Bình Lộc' -> 'binhloc'."""
    return ascii_slug(name, separator="")


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY_NAMES)} {rng.choice(MIDDLE_NAMES)} {rng.choice(GIVEN_NAMES)}"


def _generated_wards(count: int, words: list[str], taken: set[str], seed: str) -> list[tuple[str, str, int]]:
    """`count` localities named from two place words, none sharing a slug with `taken` (which grows)."""
    rng = random.Random(seed)
    wards: list[tuple[str, str, int]] = []
    while len(wards) < count:
        first, second = rng.choice(words), rng.choice(words)
        name = f"{first} {second}"
        if first == second or slug(name) in taken:
            continue
        taken.add(slug(name))
        wards.append((rng.choice(("ward", "commune")), name, rng.randint(7, 14)))
    return wards


def demo_wards(scale: str) -> list[tuple[str, str, int]]:
    """The localities of a scale: each scale keeps the smaller one's and adds its own after them."""
    wards = list(NAMED_WARDS)
    taken = {slug(name) for _kind, name, _q in wards}
    if scale in ("province", "national"):
        wards += _generated_wards(PROVINCE_LOCALITIES - len(wards), PLACE_WORDS, taken, "generated wards")
    if scale == "national":
        # Ten times the province's units under the same root, so the province-wide campaign ranks them all.
        words = PLACE_WORDS + MORE_PLACE_WORDS
        wards += _generated_wards(10 * PROVINCE_LOCALITIES - len(wards), words, taken, "national wards")
    return wards


def build_demo(scale: str) -> tuple[list[UnitSpec], list[UserSpec]]:
    """The units (parents first) and people of the demo at this scale."""
    units = [UnitSpec(PROVINCE[0], PROVINCE[1], "province", None, adult_population=PROVINCE[2])]
    users = [UserSpec("admin", "Quản trị Sở KH&CN", "admin", PROVINCE[0], is_cadre=True)]
    for ward_kind, ward_name, quarter_count in demo_wards(scale):
        named = (ward_kind, ward_name, quarter_count) in NAMED_WARDS
        # One generator per ward: a ward looks the same at every scale, so scales can be mixed.
        rng = random.Random(f"ward {ward_name}")
        teams_per_quarter = (1, 1) if named else (1, 3)
        member_number = 0
        ward_slug = slug(ward_name)
        ward_code = f"DN-{ward_slug.upper()}"
        prefix = "Phường" if ward_kind == "ward" else "Xã"
        ward = UnitSpec(ward_code, f"{prefix} {ward_name}", ward_kind, PROVINCE[0])
        ward.adult_population = 0  # its quarters' adults, added below
        units.append(ward)
        youth_union = UnitSpec(
            f"{ward_code}-DTN", f"Đoàn Thanh niên {prefix.lower()} {ward_name}", "youth_union", ward_code
        )
        agency = UnitSpec(
            f"{ward_code}-UBND",
            f"UBND {prefix.lower()} {ward_name}",
            "agency",
            ward_code,
            member_count=rng.randint(35, 60),
        )
        ward_team = UnitSpec(
            f"{ward_code}-TCNS", f"Tổ CNS {prefix.lower()} {ward_name}", "team", ward_code, member_count=14
        )
        units += [youth_union, agency, ward_team]
        users.append(UserSpec(f"{ward_slug}.leader", _person(rng), "ward_leader", ward_code, is_cadre=True))
        quarter_names = [f"Khu phố {n}" for n in range(1, quarter_count + 1)]
        if ward_name == "Bình Lộc":
            quarter_names[0] = "Khu phố Cáp Rang"
        teams: list[tuple[UnitSpec, str]] = [(ward_team, ward_code)]
        quarters: list[str] = []
        for number, quarter_name in enumerate(quarter_names, start=1):
            quarter_code = f"{ward_code}-{'CAPRANG' if 'Cáp Rang' in quarter_name else f'KP{number:02d}'}"
            adults = rng.randint(900, 3600)
            ward.adult_population += adults
            units.append(UnitSpec(quarter_code, quarter_name, "quarter", ward_code, adult_population=adults))
            quarters.append(quarter_code)
            for team_number in range(1, rng.randint(*teams_per_quarter) + 1):
                suffix = "" if team_number == 1 else f" {team_number}"
                team = UnitSpec(
                    f"{quarter_code}-T{team_number}",
                    f"Tổ CNS {quarter_name.lower()}{suffix}",
                    "team",
                    quarter_code,
                    member_count=5 if named else rng.randint(4, 8),
                )
                units.append(team)
                teams.append((team, quarter_code))
        youth_union.member_count = 0
        for team, quarter_code in teams:
            for seat in range(team.member_count or 0):
                member_number += 1
                home = quarter_code if quarter_code != ward_code else rng.choice(quarters)
                in_youth_union = rng.random() < 0.4
                youth_union.member_count += in_youth_union
                username = f"{ward_slug}.tv{member_number:03d}"
                role = "team_leader" if seat == 0 else "member"
                consent = DEMO_NAME_ANSWERS[member_number % len(DEMO_NAME_ANSWERS)]
                if home.endswith("CAPRANG") and team.code.endswith("CAPRANG-T1") and seat < 2:
                    username = ("caprang.leader", "caprang.member")[seat]
                    in_youth_union = True
                    consent = None  # the demo member is asked on first sign-in
                users.append(
                    UserSpec(
                        username,
                        _person(rng),
                        role,
                        home,
                        team.code,
                        youth_union.code if in_youth_union else None,
                        public_name_consent=consent,
                    )
                )
    return units, users


DEMO_LOGINS = (
    ("admin", "province admin (Dong Nai)"),
    ("binhloc.leader", "ward leader, Binh Loc ward"),
    ("caprang.leader", "team leader, Cap Rang quarter's digital technology team"),
    ("caprang.member", "member, Cap Rang quarter"),
)


def seed_demo_data(scale: str) -> tuple[int, int]:
    """Insert the missing demo units and users; returns how many of each were added."""
    unit_specs, user_specs = build_demo(scale)
    known = {code: (unit_id, path) for unit_id, code, path in db.session.execute(select(Unit.id, Unit.code, Unit.path))}
    new_units = [spec for spec in unit_specs if spec.code not in known]
    # Parents come before children in the spec list, so one pass per depth resolves every parent.
    depth = {spec.code: 0 for spec in unit_specs if spec.parent_code is None}
    for spec in unit_specs:
        if spec.parent_code is not None:
            depth[spec.code] = depth[spec.parent_code] + 1
    for level in sorted({depth[spec.code] for spec in new_units}):
        batch = [spec for spec in new_units if depth[spec.code] == level]
        rows = db.session.execute(
            insert(Unit).returning(Unit.id, Unit.code),
            [
                {
                    "code": spec.code,
                    "name": spec.name,
                    "kind": spec.kind,
                    "parent_id": known[spec.parent_code][0] if spec.parent_code else None,
                    "path": "",
                    "adult_population": spec.adult_population,
                    "member_count": spec.member_count,
                }
                for spec in batch
            ],
        ).all()
        parents = {spec.code: spec.parent_code for spec in batch}
        paths = []
        for unit_id, code in rows:
            parent_code = parents[code]
            parent_path = known[parent_code][1] if parent_code else "/"
            known[code] = (unit_id, f"{parent_path}{unit_id}/")
            paths.append({"id": unit_id, "path": known[code][1]})
        db.session.execute(update(Unit), paths)
    existing_users = set(db.session.scalars(select(User.username)))
    seeded_at = now()
    # One shared hash: hashing 13,000 passwords one by one would take twenty minutes.
    shared_hash = hash_password(DEMO_PASSWORD)
    new_users = [
        {
            "username": spec.username,
            "display_name": spec.display_name,
            "password_hash": shared_hash,
            "role": spec.role,
            "home_unit_id": known[spec.home_code][0],
            "team_id": known[spec.team_code][0] if spec.team_code else None,
            "youth_union_id": known[spec.youth_union_code][0] if spec.youth_union_code else None,
            "is_cadre": spec.is_cadre,
            "public_name_consent": spec.public_name_consent,
            "public_name_consent_at": seeded_at if spec.public_name_consent is not None else None,
        }
        for spec in user_specs
        if spec.username not in existing_users
    ]
    if new_users:
        db.session.execute(insert(User), new_users)
    return len(new_units), len(new_users)
