from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateTimeLocalField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from core.forms import Form

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class QuizForm(Form):
    title = StringField(_l("Tên bài kiểm tra"), validators=[DataRequired(), Length(max=160)])
    scope_code = SelectField(_l("Phạm vi"), choices=[])
    campaign = SelectField(_l("Tính điểm cho chiến dịch"), choices=[])
    question_count = IntegerField(_l("Số câu hỏi"), default=5, validators=[InputRequired(), NumberRange(1, 20)])
    tags = StringField(_l("Chỉ lấy câu hỏi có nhãn (để trống: tất cả)"), validators=[Length(max=200)])
    time_limit_seconds = IntegerField(
        _l("Thời gian làm bài (giây)"), default=180, validators=[InputRequired(), NumberRange(30, 3600)]
    )
    points_per_correct = IntegerField(
        _l("Điểm mỗi câu đúng"), default=2, validators=[InputRequired(), NumberRange(0, 100)]
    )
    opens_at = DateTimeLocalField(_l("Mở lúc"), format=DATETIME_FORMAT, validators=[InputRequired()])
    closes_at = DateTimeLocalField(_l("Đóng lúc"), format=DATETIME_FORMAT, validators=[InputRequired()])


class JoinForm(Form):
    quarter = SelectField(_l("Khu phố / ấp của bạn"), choices=[])
    name = StringField(_l("Tên của bạn"), validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Số điện thoại (không bắt buộc)"), validators=[Length(max=20)])
    consent = BooleanField(
        _l(
            "Tôi đồng ý để ThiĐua dùng tên và số điện thoại (lưu dạng mã hoá) chỉ để tính một lượt làm bài "
            "cho khu phố. Kết quả chỉ công bố tổng theo khu phố."
        )
    )
    # The event screen's code, signed with the moment this server saw it valid (see quizzes.services).
    event = HiddenField()


class ActionForm(Form):
    """A button that changes something (erase my answers, export the bank): only the CSRF token."""


class BankImportForm(Form):
    file = FileField(_l("Tệp JSON"), validators=[FileRequired(_l("Hãy chọn một tệp JSON."))])
