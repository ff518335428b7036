from flask_babel import lazy_gettext as _l
from wtforms import DateField, FloatField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.forms import Form


class CourseForm(Form):
    code = StringField(_l("Mã khoá học"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Tên khoá học"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Tên tiếng Anh (không bắt buộc)"), validators=[Length(max=200)])
    provider = StringField(_l("Đơn vị đào tạo"), validators=[Length(max=160)])
    hours = FloatField(_l("Số giờ"), validators=[InputRequired(), NumberRange(min=0, max=1000)])
    points = IntegerField(_l("Điểm khi hoàn thành"), validators=[InputRequired(), NumberRange(min=0, max=1000)])
    tags = StringField(_l("Nhãn"), validators=[Length(max=200)])
    audience = SelectField(
        _l("Đối tượng"),
        choices=[SelectChoice("all", _l("Mọi thành viên")), SelectChoice("cadres", _l("Cán bộ, công chức"))],
    )
    target_percent = IntegerField(
        _l("Chỉ tiêu (% đối tượng)"), validators=[InputRequired(), NumberRange(min=1, max=100)]
    )


class CompletionForm(Form):
    course = SelectField(_l("Khoá học"), choices=[], validators=[DataRequired()])
    completed_on = DateField(_l("Ngày hoàn thành"), validators=[Optional()])
    certificate_code = StringField(_l("Mã chứng chỉ"), validators=[Length(max=80)])


class RecordForm(CompletionForm):
    username = StringField(_l("Tên đăng nhập của thành viên"), validators=[DataRequired(), Length(max=64)])
