"""live quiz: sessions a host paces on an event screen, their players and answers; ledger cause live_quiz

Revision ID: e4d5e6f7a8b9
Revises: e3c4d5e6f7a8
Create Date: 2026-12-03 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e4d5e6f7a8b9"
down_revision = "e3c4d5e6f7a8"
branch_labels = None
depends_on = None

# The ledger's causes before and after this revision, copied so a later change to domain/enums.py
# never changes what this migration does.
CAUSES_BEFORE = ("contribution", "quiz_attempt", "completion", "correction")
CAUSES_AFTER = ("contribution", "quiz_attempt", "live_quiz", "completion", "correction")
PHASES = ("lobby", "question", "answers", "standings", "ended")


def _cause_check(causes):
    values = ", ".join(f"'{value}'" for value in causes)
    # SQLite cannot change a table's CHECK: batch mode rebuilds the table (copy, drop, rename).
    with op.batch_alter_table("ledger_entry") as batch_op:
        batch_op.drop_constraint(op.f("ck_ledger_entry_cause_type"), type_="check")
        batch_op.create_check_constraint(op.f("ck_ledger_entry_cause_type"), f"cause_type IN ({values})")


def upgrade():
    op.create_table(
        "live_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("screen_id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("hall_quarter_id", sa.Integer(), nullable=True),
        sa.Column("join_code", sa.String(length=6), nullable=True),
        sa.Column(
            "phase",
            sa.Enum(*PHASES, name="phase", native_enum=False, create_constraint=True, length=12),
            nullable=False,
        ),
        sa.Column("question_ids", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("seconds_per_question", sa.Integer(), nullable=False),
        sa.Column("speed_bonus", sa.Boolean(), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("question_opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], name=op.f("fk_live_session_campaign_id_campaign")),
        sa.ForeignKeyConstraint(["hall_quarter_id"], ["unit.id"], name=op.f("fk_live_session_hall_quarter_id_unit")),
        sa.ForeignKeyConstraint(["host_id"], ["user_account.id"], name=op.f("fk_live_session_host_id_user_account")),
        sa.ForeignKeyConstraint(["screen_id"], ["screen_link.id"], name=op.f("fk_live_session_screen_id_screen_link")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_session")),
        sa.UniqueConstraint("join_code", name=op.f("uq_live_session_join_code")),
    )
    with op.batch_alter_table("live_session") as batch_op:
        batch_op.create_index(batch_op.f("ix_live_session_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index("ix_live_session_screen_latest", ["screen_id", "id"], unique=False)

    op.create_table(
        "live_player",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("quarter_id", sa.Integer(), nullable=False),
        sa.Column("device_hash", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=40), nullable=False),
        sa.Column("name_consent", sa.Boolean(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["quarter_id"], ["unit.id"], name=op.f("fk_live_player_quarter_id_unit")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["live_session.id"], name=op.f("fk_live_player_session_id_live_session")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_player")),
        sa.UniqueConstraint("session_id", "device_hash", name=op.f("uq_live_player_session_id")),
    )

    op.create_table(
        "live_answer",
        sa.Column("player_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("choice_id", sa.Integer(), nullable=False),
        sa.Column("is_correct", sa.Boolean(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["choice_id"], ["choice.id"], name=op.f("fk_live_answer_choice_id_choice")),
        sa.ForeignKeyConstraint(["player_id"], ["live_player.id"], name=op.f("fk_live_answer_player_id_live_player")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["live_session.id"], name=op.f("fk_live_answer_session_id_live_session")
        ),
        sa.PrimaryKeyConstraint("player_id", "position", name=op.f("pk_live_answer")),
    )
    with op.batch_alter_table("live_answer") as batch_op:
        batch_op.create_index("ix_live_answer_session_position", ["session_id", "position"], unique=False)

    _cause_check(CAUSES_AFTER)


def downgrade():
    # Deleting those ledger rows would leave the boards' aggregates counting points with no cause.
    credited = op.get_bind().execute(sa.text("SELECT count(*) FROM ledger_entry WHERE cause_type = 'live_quiz'"))
    if credited.scalar():
        raise RuntimeError("Cannot downgrade: live quiz sessions have credited points (ledger cause live_quiz).")
    _cause_check(CAUSES_BEFORE)
    op.drop_table("live_answer")
    op.drop_table("live_player")
    op.drop_table("live_session")
