from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from core.access import assignable_roles
from core.forms import Form
from core.labels import KIND_LABELS, ROLE_LABELS


class UnitForm(Form):
    code = StringField(_l("Mã đơn vị"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Tên đơn vị"), validators=[DataRequired(), Length(max=160)])
    kind = SelectField(_l("Loại"), choices=[SelectChoice(kind, label) for kind, label in KIND_LABELS.items()])
    parent_code = StringField(_l("Mã đơn vị cấp trên"), validators=[Length(max=40)])
    adult_population = IntegerField(
        _l("Dân số trưởng thành"), validators=[Optional(), NumberRange(min=0, max=50_000_000)]
    )
    member_count = IntegerField(_l("Số thành viên"), validators=[Optional(), NumberRange(min=0, max=1_000_000)])


class UserForm(Form):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Họ tên"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Vai trò"), choices=[SelectChoice(role, label) for role, label in ROLE_LABELS.items()])
    home_unit_code = StringField(_l("Mã đơn vị cơ sở (khu phố, phường/xã)"), validators=[DataRequired()])
    team_code = StringField(_l("Mã tổ công nghệ số"), validators=[Length(max=40)])
    youth_union_code = StringField(_l("Mã chi đoàn"), validators=[Length(max=40)])
    is_cadre = BooleanField(_l("Là cán bộ, công chức"))
    phone = StringField(_l("Số điện thoại (không bắt buộc)"), validators=[Length(max=20)])

    def limit_roles(self, actor_role: str) -> None:
        """Offer only the roles this actor may give (lower than their own, except for the admin)."""
        allowed = assignable_roles(actor_role)
        self.role.choices = [choice for choice in self.role.choices if choice.value in allowed]
