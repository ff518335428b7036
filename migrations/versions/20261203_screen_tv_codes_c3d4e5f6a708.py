"""screen tv codes: a short, expiring, single-use code a leader asks for, typed at /tv to open the
screen on a TV without its secret link.

Revision ID: c3d4e5f6a708
Revises: b0a4d5e6f007
Create Date: 2026-12-03 08:05:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3d4e5f6a708'
down_revision = 'b0a4d5e6f007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('screen_link', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tv_code', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('tv_code_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_screen_link_tv_code'), ['tv_code'])


def downgrade():
    with op.batch_alter_table('screen_link', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_screen_link_tv_code'), type_='unique')
        batch_op.drop_column('tv_code_expires_at')
        batch_op.drop_column('tv_code')
