from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError

from accounts.services import password_problem
from core.forms import Form
from leaderboards.services import public_name


class LoginForm(Form):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(max=256)])


class ChangePasswordForm(Form):
    current_password = PasswordField(_l("Mật khẩu hiện tại"), validators=[DataRequired()])
    new_password = PasswordField(_l("Mật khẩu mới"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("Nhập lại mật khẩu mới"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("Hai mật khẩu không khớp."))],
    )

    def __init__(self, username: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._username = username

    def validate_new_password(self, field):
        problem = password_problem(field.data or "", self._username)
        if problem:
            raise ValidationError(problem)


class NameConsentForm(Form):
    choice = RadioField(
        _l("Tên của bạn trên bảng xếp hạng công khai và màn hình sự kiện"),
        validators=[InputRequired(message=_l("Hãy chọn một trong hai cách hiển thị."))],
    )

    def __init__(self, user, *args, **kwargs):
        """Each choice shows exactly what the public would see."""
        super().__init__(*args, **kwargs)
        self.choice.choices = [
            ("yes", _("Hiện họ tên: %(name)s", name=public_name(user, shown=True))),
            ("no", _("Chỉ hiện chữ cái đầu: %(name)s", name=public_name(user, shown=False))),
        ]
