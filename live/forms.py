from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from core.forms import Form
from live.services import MAX_QUESTIONS, MAX_SECONDS, MIN_QUESTIONS, MIN_SECONDS, NAME_LENGTH


class SessionForm(Form):
    screen = SelectField(_l("Màn hình sự kiện"), choices=[])
    question_count = IntegerField(
        _l("Số câu hỏi"), default=5, validators=[InputRequired(), NumberRange(MIN_QUESTIONS, MAX_QUESTIONS)]
    )
    seconds_per_question = IntegerField(
        _l("Thời gian mỗi câu (giây)"), default=30, validators=[InputRequired(), NumberRange(MIN_SECONDS, MAX_SECONDS)]
    )
    tags = StringField(_l("Chỉ lấy câu hỏi có nhãn (để trống: tất cả)"), validators=[Length(max=200)])
    hall_quarter = SelectField(_l("Khu phố của hội trường (đặt sẵn khi quét mã QR)"), choices=[])
    speed_bonus = BooleanField(_l("Cộng 1 điểm cho câu đúng trả lời nhanh (trong một phần ba thời gian)"))


class PlayerForm(Form):
    quarter = SelectField(_l("Khu phố / ấp của bạn"), choices=[])
    name = StringField(_l("Tên hiển thị (không bắt buộc)"), validators=[Length(max=NAME_LENGTH)])
    consent = BooleanField(_l("Cho phép hiện tên này trên màn hình hội trường"))


class StepForm(Form):
    """A host's button: the CSRF token and the version of the session the host saw."""
