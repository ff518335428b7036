"""action plans: a province's or a ward's plan and its targets, each read from a campaign's aggregates
(points, outcomes, outcomes per adult), from a course's completions (members trained, their share of its
audience) or entered by hand with its evidence.

Revision ID: e3c4d5e6f7a8
Revises: e1a2b3c4d5e6
Create Date: 2026-12-03 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e3c4d5e6f7a8"
down_revision = "e1a2b3c4d5e6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "action_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_action_plan_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_action_plan_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_plan")),
    )
    with op.batch_alter_table("action_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_plan_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "plan_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("unit_label", sa.String(length=40), nullable=False),
        sa.Column("target_value", sa.Double(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("is_key", sa.Boolean(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("metric", "manual", name="source", native_enum=False, create_constraint=True, length=10),
            nullable=False,
        ),
        sa.Column(
            "metric",
            sa.Enum(
                "points",
                "outcomes",
                "outcome_share",
                "trained",
                "trained_share",
                name="metric",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("activity_type_id", sa.Integer(), nullable=True),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("manual_value", sa.Double(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("evidence_url", sa.String(length=500), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_type_id"], ["activity_type.id"], name=op.f("fk_plan_target_activity_type_id_activity_type")
        ),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_plan_target_campaign_id_campaign")),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"], name=op.f("fk_plan_target_course_id_course")),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["user_account.id"], name=op.f("fk_plan_target_entered_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["action_plan.id"], name=op.f("fk_plan_target_plan_id_action_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_target")),
    )
    with op.batch_alter_table("plan_target", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_target_plan_id"), ["plan_id"], unique=False)


def downgrade():
    with op.batch_alter_table("plan_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_target_plan_id"))

    op.drop_table("plan_target")
    with op.batch_alter_table("action_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_plan_unit_id"))

    op.drop_table("action_plan")
