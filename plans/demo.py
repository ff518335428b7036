"""The demo's province action plan, after Dong Nai's Plan 469-KH/TU as its steering committee reported
on it (seed article 003): 26 of 43 targets completed or exceeded, 6 of 8 key targets. Two key targets
read the demo's digital-signature campaign live; the others carry hand-entered figures with evidence."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from core.clock import local_date
from models import ActionPlan, Campaign, Unit, User, db
from plans.services import PlanFields, TargetFields, enter_figure, save_plan, save_target

DEMO_PLAN_TITLE = "Kế hoạch 469-KH/TU thực hiện Nghị quyết 57-NQ/TW"
DEMO_CAMPAIGN = "chu-ky-so-dong-nai"
EVIDENCE = "Báo cáo của Cơ quan thường trực Ban Chỉ đạo phát triển KHCN, ĐMST và CĐS tỉnh"
TOTAL_TARGETS = 43
DONE_TARGETS = 26


@dataclass(frozen=True)
class DemoTarget:
    title: str
    unit_label: str
    value: float
    reached: float
    key: bool = False


NAMED = (
    DemoTarget(
        "Trung tâm phục vụ hành chính công cấp tỉnh có hệ thống tra cứu, xếp hàng, hiển thị", "trung tâm", 1, 1, True
    ),
    DemoTarget("Trung tâm phục vụ hành chính công cấp xã có hệ thống tra cứu, xếp hàng, hiển thị", "%", 100, 100, True),
    DemoTarget("Xã, phường đạt đủ 16 tiêu chí hạ tầng phục vụ người dân", "xã, phường", 95, 95, True),
    DemoTarget("Thủ tục hành chính có quy trình nội bộ và quy trình điện tử", "thủ tục", 2135, 2135, True),
    DemoTarget("Cán bộ, công chức, viên chức được tập huấn ứng dụng AI", "người", 25_000, 29_500, True),
    DemoTarget("Nền tảng Bình dân học vụ số hoạt động", "nền tảng", 1, 1, True),
    DemoTarget("Nâng cấp hội nghị truyền hình tại UBND tỉnh", "hệ thống", 1, 1),
    DemoTarget("Đảng uỷ xã, phường có hệ thống hội nghị truyền hình", "%", 100, 100),
    DemoTarget("Hội thảo về khoa học, công nghệ, đổi mới sáng tạo và chuyển đổi số", "hội thảo", 6, 7),
    DemoTarget("Cơ quan báo chí địa phương có chuyên mục khoa học, công nghệ, chuyển đổi số", "%", 100, 100),
    DemoTarget("Bệnh viện công lập triển khai bệnh án điện tử", "%", 100, 45),
    DemoTarget("Thủ tục hành chính giải quyết không phụ thuộc địa giới hành chính", "%", 100, 30),
    DemoTarget("Nâng cấp Trung tâm điều hành thông minh", "%", 100, 40),
    DemoTarget("Phủ sóng 5G tại trung tâm các xã, phường", "%", 100, 35),
)


def _targets() -> list[DemoTarget]:
    """The named targets, then numbered ones, so that exactly DONE_TARGETS of the hand-entered are met."""
    done = sum(target.reached >= target.value for target in NAMED)
    missing = TOTAL_TARGETS - 2 - len(NAMED)
    numbered = [
        DemoTarget(f"Chỉ tiêu {len(NAMED) + 3 + n} của Kế hoạch", "%", 100, 100 if n < DONE_TARGETS - done else 50)
        for n in range(missing)
    ]
    return [*NAMED, *numbered]


def seed_demo_plan(at: datetime) -> None:
    """Add the province's demo plan unless it exists, started 110 days before `at`."""
    if db.session.scalar(select(ActionPlan.id).where(ActionPlan.title == DEMO_PLAN_TITLE)) is not None:
        return
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    province = db.session.execute(select(Unit).where(Unit.code == "DN")).scalar_one()
    starts_on = local_date(at) - timedelta(days=110)
    plan = save_plan(admin, PlanFields(DEMO_PLAN_TITLE, "Nghị quyết 57-NQ/TW", province, starts_on), at)
    deadline = date(starts_on.year + 1, 12, 31)
    campaign = db.session.execute(select(Campaign).where(Campaign.slug == DEMO_CAMPAIGN)).scalar_one_or_none()
    if campaign is not None and campaign.headline_activity is not None:
        signatures = campaign.headline_activity.id
        for title, source, value in (
            ("Người trưởng thành có chữ ký số cá nhân", f"outcome_share:{signatures}", 60.0),
            ("Điểm thi đua của chiến dịch chữ ký số", f"points:{campaign.id}", 5_000_000.0),
        ):
            save_target(
                admin,
                plan,
                TargetFields(title, "%" if "share" in source else "điểm", value, deadline, True, source),
                at,
            )
    for demo in _targets():
        target = save_target(
            admin, plan, TargetFields(demo.title, demo.unit_label, demo.value, deadline, demo.key, "manual"), at
        )
        enter_figure(admin, target, demo.reached, EVIDENCE, "", at)
    db.session.flush()
