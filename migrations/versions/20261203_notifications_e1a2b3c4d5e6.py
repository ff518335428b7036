"""notifications: decisions, reminders and digests beside the campaign and badge notices, worded when
shown. A notification now names its subject ("contribution:12", "campaign:3:2026-11-06") and keeps its
parameters (names, a reason); it is once per user, kind and subject instead of per campaign, and waits
in an e-mail outbox (emailed_at). Existing rows take their campaign as subject, so each stays unique.
Two tables: the address a person wants notifications e-mailed to, and the scheduled sendings done.

Revision ID: e1a2b3c4d5e6
Revises: d4e5f6a7b809
Create Date: 2026-12-03 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e1a2b3c4d5e6"
down_revision = "d4e5f6a7b809"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=80), server_default="", nullable=False))
        batch_op.add_column(sa.Column("params", sa.JSON(), server_default="{}", nullable=False))
        batch_op.add_column(sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE notification SET subject = 'campaign:' || CAST(campaign_id AS VARCHAR) WHERE campaign_id IS NOT NULL"
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notification_user_id", type_="unique")
        batch_op.create_unique_constraint("uq_notification_user_id", ["user_id", "kind", "subject"])
        batch_op.create_index("ix_notification_outbox", ["emailed_at", "created_at"], unique=False)

    op.create_table(
        "notification_address",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_notification_address_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_address")),
    )
    op.create_table(
        "notification_run",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notification_run")),
    )


def downgrade():
    op.drop_table("notification_run")
    op.drop_table("notification_address")
    # Notices of the new kinds have no campaign to be unique by: they go with the columns that said what.
    op.execute(
        "DELETE FROM notification WHERE campaign_id IS NULL OR subject != 'campaign:' || CAST(campaign_id AS VARCHAR)"
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_outbox")
        batch_op.drop_constraint("uq_notification_user_id", type_="unique")
        batch_op.create_unique_constraint("uq_notification_user_id", ["user_id", "kind", "campaign_id"])
        batch_op.drop_column("emailed_at")
        batch_op.drop_column("params")
        batch_op.drop_column("subject")
