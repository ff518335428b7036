from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class ImportForm(FlaskForm):
    file = FileField(_l("Tệp CSV"), validators=[FileRequired(_l("Hãy chọn một tệp CSV."))])
