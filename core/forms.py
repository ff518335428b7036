"""The base form: WTForms' own messages ("This field is required.") in the user's language.

WTForms ships no Vietnamese catalogue, so its built-in messages are translated here.
"""

from flask import flash, g
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from flask_wtf.file import FileField, FileRequired
from wtforms import Field
from wtforms.csrf.core import CSRF
from wtforms.validators import ValidationError

from core.i18n import current_language
from domain.refusals import Refused
from models import db

WTFORMS_VI = {
    "This field is required.": "Trường này là bắt buộc.",
    "Not a valid integer value.": "Hãy nhập một số nguyên.",
    "Not a valid float value.": "Hãy nhập một số.",
    "Not a valid decimal value.": "Hãy nhập một số.",
    "Not a valid date value.": "Ngày không hợp lệ.",
    "Not a valid datetime value.": "Thời điểm không hợp lệ.",
    "Not a valid choice.": "Lựa chọn không hợp lệ.",
    "'%(value)s' is not a valid choice for this field.": "'%(value)s' không phải lựa chọn hợp lệ.",
    "Number must be at least %(min)s.": "Số phải từ %(min)s trở lên.",
    "Number must be at most %(max)s.": "Số phải nhỏ hơn hoặc bằng %(max)s.",
    "Number must be between %(min)s and %(max)s.": "Số phải từ %(min)s đến %(max)s.",
    "Field must be at least %(min)d character long.": "Cần ít nhất %(min)d ký tự.",
    "Field must be at least %(min)d characters long.": "Cần ít nhất %(min)d ký tự.",
    "Field cannot be longer than %(max)d character.": "Không được dài quá %(max)d ký tự.",
    "Field cannot be longer than %(max)d characters.": "Không được dài quá %(max)d ký tự.",
    "Field must be between %(min)d and %(max)d characters long.": "Cần từ %(min)d đến %(max)d ký tự.",
    "Invalid input.": "Dữ liệu không hợp lệ.",
}


class WtformsMessages:
    """The translations object WTForms asks for its built-in messages."""

    def gettext(self, string: str) -> str:
        return WTFORMS_VI.get(string, string) if current_language() == "vi" else string

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


CSRF_MESSAGE = _l("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Hãy tải lại trang và gửi lại.")


def members_csrf_token() -> str:
    """A signed-in member's CSRF token; nothing for a visitor, whose session then stays empty. Her forms
    are guarded by where the request comes from (web/forgery.py)."""
    return generate_csrf() if current_user.is_authenticated else ""


class MembersToken(CSRF):
    """Every form's `csrf_token` field. The token is checked before any view, for every request, by
    web/forgery.py; a form only makes sure that check ran for a member."""

    def generate_csrf_token(self, csrf_token_field: Field) -> str:
        return members_csrf_token()

    def validate_csrf_token(self, form: FlaskForm, field: Field) -> None:
        if current_user.is_authenticated and not g.get("csrf_valid", False):
            raise ValidationError(CSRF_MESSAGE)


class Form(FlaskForm):
    class Meta:
        csrf_class = MembersToken

        def get_translations(self, form):
            return WtformsMessages()


def attach_refusal(form: FlaskForm, refusal: Refused) -> list[str]:
    """Put each message the rules tied to a field on that field (shown beside it, linked from the error
    summary); the messages tied to no field of this form, for the summary alone."""
    attached = []
    for name, messages in refusal.fields.items():
        if name in form:
            form[name].errors = [*form[name].errors, *messages]
            attached += messages
    return [message for message in refusal.messages if message not in attached]


def flash_refusal(refusal: Refused) -> None:
    """A change the rules refused: nothing of it is kept, and each reason shows on the next page."""
    db.session.rollback()
    for message in refusal.messages:
        flash(message, "error")


class ImportForm(Form):
    file = FileField(_l("Tệp CSV"), validators=[FileRequired(_l("Hãy chọn một tệp CSV."))])


def plausible_year(form: FlaskForm, field: Field) -> None:
    """A date or moment in 2000–2099 (campaigns, plans, targets): anything else is a slip, year 1
    overflows on conversion to UTC, and a spreadsheet cannot show it."""
    if field.data is not None and not 2000 <= field.data.year <= 2099:
        raise ValidationError(_l("Năm phải từ 2000 đến 2099."))
