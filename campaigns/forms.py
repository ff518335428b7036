from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from campaigns.presets import PRESETS
from campaigns.services import CAP_WINDOW_LABELS, RANKABLE_KINDS
from core.forms import Form, plausible_year
from core.labels import KIND_LABELS
from domain.enums import CapWindow
from models import ActivityType

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CampaignForm(Form):
    template = SelectField(
        _l("Mẫu"), choices=[SelectChoice(key, preset.label) for key, preset in PRESETS.items()], default="custom"
    )
    title = StringField(_l("Tên chiến dịch"), validators=[DataRequired(), Length(max=160)])
    description = TextAreaField(_l("Mô tả"), validators=[Length(max=4000)])
    scope_code = SelectField(_l("Phạm vi"), choices=[])
    ranked_kinds = CheckboxesField(
        _l("Các cấp được xếp hạng"), choices=[SelectChoice(kind, KIND_LABELS[kind]) for kind in RANKABLE_KINDS]
    )
    starts_at = DateTimeLocalField(_l("Bắt đầu"), format=DATETIME_FORMAT, validators=[InputRequired(), plausible_year])
    ends_at = DateTimeLocalField(_l("Kết thúc"), format=DATETIME_FORMAT, validators=[InputRequired(), plausible_year])


class CampaignEditForm(Form):
    title = StringField(_l("Tên chiến dịch"), validators=[DataRequired(), Length(max=160)])
    description = TextAreaField(_l("Mô tả"), validators=[Length(max=4000)])
    starts_at = DateTimeLocalField(_l("Bắt đầu"), format=DATETIME_FORMAT, validators=[InputRequired(), plausible_year])
    ends_at = DateTimeLocalField(_l("Kết thúc"), format=DATETIME_FORMAT, validators=[InputRequired(), plausible_year])
    end_now = BooleanField(_l("Kết thúc ngay bây giờ (kết quả được chốt)"))


class ExtendForm(Form):
    ends_at = DateTimeLocalField(
        _l("Kết thúc mới"), format=DATETIME_FORMAT, validators=[InputRequired(), plausible_year]
    )


class ActivityForm(Form):
    name = StringField(_l("Tên hoạt động"), validators=[DataRequired(), Length(max=160)])
    points = IntegerField(_l("Điểm mỗi đơn vị"), validators=[InputRequired(), NumberRange(min=0, max=1000)])
    unit_label = StringField(_l("Đơn vị tính (người, hồ sơ, buổi…)"), validators=[Length(max=40)])
    name_en = StringField(_l("Tên tiếng Anh (không bắt buộc)"), validators=[Length(max=160)])
    unit_label_en = StringField(_l("Đơn vị tính bằng tiếng Anh (không bắt buộc)"), validators=[Length(max=40)])
    needs_evidence = BooleanField(_l("Cần ảnh minh chứng"))
    needs_verification = BooleanField(_l("Cần tổ trưởng hoặc lãnh đạo duyệt"), default=True)
    cap_per_member = IntegerField(_l("Giới hạn mỗi người"), validators=[Optional(), NumberRange(min=1, max=1000)])
    cap_window = SelectField(
        _l("Trong khoảng"), choices=[SelectChoice(key, label) for key, label in CAP_WINDOW_LABELS.items()]
    )
    once_per_beneficiary = BooleanField(_l("Mỗi người được hỗ trợ chỉ tính một lần (nhập số điện thoại/CCCD)"))
    target_kind = SelectField(
        _l("Chỉ tiêu cho mỗi đơn vị"),
        choices=[
            SelectChoice("", _l("Không có")),
            SelectChoice("absolute", _l("Số lượng cố định")),
            SelectChoice("share", _l("Tỷ lệ % người trưởng thành")),
        ],
    )
    target_value = IntegerField(_l("Giá trị chỉ tiêu"), validators=[Optional(), NumberRange(min=1, max=10_000_000)])
    is_headline = BooleanField(_l("Là chỉ tiêu chính của chiến dịch"))


class LogForm(Form):
    activity_type = SelectField(_l("Hoạt động"), choices=[], validators=[DataRequired()])
    quantity = IntegerField(_l("Số lượng"), validators=[Optional()], default=1)
    beneficiaries = TextAreaField(
        _l("Số điện thoại hoặc CCCD của người được hỗ trợ (mỗi dòng một người)"), validators=[Length(max=4000)]
    )
    beneficiary_quarter = SelectField(_l("Khu phố của người được hỗ trợ"), choices=[])
    occurred_on = DateField(_l("Ngày thực hiện"), validators=[Optional()])
    note = TextAreaField(_l("Ghi chú"), validators=[Length(max=1000)])
    photo = FileField(_l("Ảnh minh chứng"))
    # A signed reference to the photo an earlier, refused submission stored (campaigns.photos.keep_photo).
    kept_photo = HiddenField(validators=[Length(max=1000)])
    idempotency_key = HiddenField()
    consent = BooleanField(_l("Người được hỗ trợ đã đồng ý cho ghi nhận (số chỉ được lưu dạng mã hoá, không hiển thị)"))

    @staticmethod
    def fields_for(activity: ActivityType) -> frozenset[str]:
        """The fields a member fills in for this activity. The others go as hidden values the rules
        accept (a quantity of 1, today, the member's quarter) or not at all, and the server checks
        whatever is posted the same way, shown or not."""
        shown = set()
        reviewed = activity.needs_verification or activity.needs_evidence
        if activity.once_per_beneficiary:
            shown |= {"beneficiaries", "consent"}
        elif activity.cap_per_member != 1:  # under a cap of one, 1 is the only quantity accepted
            shown.add("quantity")
        if reviewed or activity.once_per_beneficiary or activity.counts_outcomes:
            shown.add("beneficiary_quarter")
        if reviewed:  # approved at once, a note or a photo would be read by no one who decides
            shown |= {"note", "photo"}
        # One a day, approved at once: a check-in, which says "I am here today".
        if reviewed or activity.cap_per_member != 1 or activity.cap_window != CapWindow.DAY:
            shown.add("occurred_on")
        return frozenset(shown)


class DecisionForm(Form):
    reason = StringField(_l("Lý do"), validators=[Length(max=1000)])


class CorrectionForm(Form):
    quantity = IntegerField(_l("Số lượng đúng"), validators=[InputRequired(), NumberRange(min=1, max=1000)])
    reason = StringField(_l("Lý do điều chỉnh"), validators=[DataRequired(), Length(max=1000)])
