"""Campaign templates: the drives from the Dong Nai articles, with activity types ready to use."""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class ActivityPreset:
    name: str
    points: int
    unit_label: str
    needs_evidence: bool = False
    needs_verification: bool = True
    cap_per_member: int | None = None
    cap_window: str = "day"
    once_per_beneficiary: bool = False
    target_kind: str | None = None
    target_value: int | None = None
    is_headline: bool = False


@dataclass(frozen=True)
class CampaignPreset:
    label: str
    title: str
    description: str
    days: int
    ranked_kinds: tuple[str, ...]
    activities: tuple[ActivityPreset, ...] = field(default_factory=tuple)


PRESETS = {
    "paperless_week": CampaignPreset(
        label=_l("Ngày / tuần làm việc không giấy"),
        title=_l("Tuần làm việc không giấy"),
        description=_l(
            "Mỗi ngày làm việc, cơ quan và khu phố xử lý hồ sơ hoàn toàn trên môi trường số. "
            "Mỗi thành viên điểm danh một lần mỗi ngày; chuỗi ngày liên tiếp được ghi nhận."
        ),
        days=30,
        ranked_kinds=("ward", "quarter", "agency"),
        activities=(
            ActivityPreset(
                _l("Ngày không giấy (điểm danh)"),
                10,
                _l("ngày"),
                needs_verification=False,
                cap_per_member=1,
                cap_window="day",
            ),
            ActivityPreset(_l("Hồ sơ xử lý trực tuyến"), 2, _l("hồ sơ"), cap_per_member=50, cap_window="day"),
        ),
    ),
    "digital_signature": CampaignPreset(
        label=_l("Chiến dịch chữ ký số cá nhân"),
        title=_l("Chiến dịch chữ ký số cá nhân"),
        description=_l(
            "Đi từng ngõ, gõ từng nhà: hỗ trợ người dân cài đặt chữ ký số cá nhân. "
            "Mục tiêu: 60% người trưởng thành trong mỗi khu phố có chữ ký số."
        ),
        days=78,
        ranked_kinds=("ward", "quarter", "team", "youth_union"),
        activities=(
            ActivityPreset(
                _l("Hỗ trợ người dân cài chữ ký số"),
                5,
                _l("người"),
                cap_per_member=20,
                once_per_beneficiary=True,
                target_kind="share",
                target_value=60,
                is_headline=True,
            ),
            ActivityPreset(
                _l("Buổi hướng dẫn tại nhà văn hoá"),
                10,
                _l("buổi"),
                needs_evidence=True,
                cap_per_member=2,
                cap_window="day",
            ),
        ),
    ),
    "vneid": CampaignPreset(
        label=_l("Kích hoạt VNeID"),
        title=_l("Kích hoạt tài khoản định danh điện tử VNeID"),
        description=_l("Hướng dẫn người dân kích hoạt tài khoản VNeID mức 2 và sử dụng dịch vụ công trực tuyến."),
        days=60,
        ranked_kinds=("ward", "quarter", "team"),
        activities=(
            ActivityPreset(
                _l("Hỗ trợ kích hoạt VNeID mức 2"),
                3,
                _l("người"),
                cap_per_member=30,
                once_per_beneficiary=True,
                target_kind="share",
                target_value=80,
                is_headline=True,
            ),
            ActivityPreset(_l("Hướng dẫn nộp hồ sơ dịch vụ công trực tuyến"), 2, _l("hồ sơ"), cap_per_member=20),
        ),
    ),
    "cashless": CampaignPreset(
        label=_l("Thanh toán không dùng tiền mặt"),
        title=_l("Chợ và khu phố thanh toán không dùng tiền mặt"),
        description=_l("Hướng dẫn người dân và tiểu thương thanh toán bằng mã QR an toàn, nhận biết lừa đảo."),
        days=45,
        ranked_kinds=("ward", "quarter", "youth_union"),
        activities=(
            ActivityPreset(
                _l("Hướng dẫn người dân thanh toán số"), 2, _l("người"), cap_per_member=30, once_per_beneficiary=True
            ),
            ActivityPreset(
                _l("Điểm bán hàng nhận thanh toán QR"),
                5,
                _l("cửa hàng"),
                needs_evidence=True,
                cap_per_member=10,
                target_kind="absolute",
                target_value=50,
                is_headline=True,
            ),
        ),
    ),
    "digital_literacy": CampaignPreset(
        label=_l("Phổ cập kỹ năng số"),
        title=_l("Phổ cập kỹ năng số và AI cho cán bộ, người dân"),
        description=_l("Điểm từ các khoá học hoàn thành và các buổi tập huấn kỹ năng số tại cơ sở."),
        days=90,
        ranked_kinds=("ward", "quarter", "team", "youth_union"),
        activities=(
            ActivityPreset(
                _l("Tổ chức buổi tập huấn kỹ năng số"),
                10,
                _l("buổi"),
                needs_evidence=True,
                cap_per_member=1,
                cap_window="day",
            ),
        ),
    ),
    "custom": CampaignPreset(
        label=_l("Tự thiết kế"), title="", description="", days=30, ranked_kinds=("ward", "quarter")
    ),
}
