from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from core.forms import Form


class TvCodeForm(Form):
    code = StringField(_l("Mã màn hình"), validators=[DataRequired(), Length(max=32)])
