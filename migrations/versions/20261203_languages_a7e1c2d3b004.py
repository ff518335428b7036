"""languages: a member's chosen language on the account; English names of activities and courses;
contributions found by their photo's name

Revision ID: a7e1c2d3b004
Revises: f1a5e0c0d003
Create Date: 2026-12-03 07:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7e1c2d3b004'
down_revision = 'f1a5e0c0d003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        # None until the member picks one: the site's default (Vietnamese) applies.
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    with op.batch_alter_table('activity_type', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_en', sa.String(length=160), server_default='', nullable=False))
        batch_op.add_column(sa.Column('unit_label_en', sa.String(length=40), server_default='', nullable=False))
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_en', sa.String(length=200), server_default='', nullable=False))
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contribution_photo_name'), ['photo_name'], unique=False)


def downgrade():
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contribution_photo_name'))
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_column('name_en')
    with op.batch_alter_table('activity_type', schema=None) as batch_op:
        batch_op.drop_column('unit_label_en')
        batch_op.drop_column('name_en')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('language')
