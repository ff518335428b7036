from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, FloatField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.forms import Form, plausible_year


class PlanForm(Form):
    title = StringField(_l("Tên kế hoạch"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Mô tả"), validators=[Length(max=4000)])
    unit = SelectField(_l("Đơn vị"), choices=[], validators=[DataRequired()])
    # Years as campaigns allow them: year 1 or 9999 is a slip, and a workbook's year-1 date Excel cannot show.
    starts_on = DateField(_l("Ngày bắt đầu"), validators=[InputRequired(), plausible_year])


class TargetForm(Form):
    title = StringField(_l("Chỉ tiêu"), validators=[DataRequired(), Length(max=300)])
    unit_label = StringField(_l("Đơn vị tính"), validators=[Length(max=40)])
    target_value = FloatField(_l("Giá trị chỉ tiêu"), validators=[InputRequired(), NumberRange(min=0)])
    deadline = DateField(_l("Hạn hoàn thành"), validators=[InputRequired(), plausible_year])
    is_key = BooleanField(_l("Chỉ tiêu trọng tâm"))
    source = SelectField(_l("Nguồn số liệu"), choices=[], validators=[DataRequired()])


class FigureForm(Form):
    value = FloatField(_l("Số liệu đạt được"), validators=[InputRequired(), NumberRange(min=0)])
    evidence = TextAreaField(_l("Minh chứng"), validators=[Optional(), Length(max=4000)])
    evidence_url = StringField(_l("Đường dẫn tới minh chứng"), validators=[Optional(), Length(max=500)])
