"""enum checks: the database refuses values outside each closed set

Revision ID: f0e0a0000002
Revises: e0c0a0000001
Create Date: 2026-12-02 18:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f0e0a0000002'
down_revision = 'e0c0a0000001'
branch_labels = None
depends_on = None

# The values of domain/enums.py as of this revision, copied so that a later change to an enum
# never changes what this migration does. A CHECK is named ck_<table>_<column>, as the models name it.
ALLOWED = {
    'user_account': {'role': ('admin', 'ward_leader', 'team_leader', 'member')},
    'unit': {'kind': ('province', 'ward', 'commune', 'quarter', 'youth_union', 'team', 'agency')},
    'activity_type': {'cap_window': ('day', 'week', 'campaign'), 'target_kind': ('absolute', 'share')},
    'contribution': {'status': ('pending', 'approved', 'rejected')},
    'ledger_entry': {'cause_type': ('contribution', 'quiz_attempt', 'completion', 'correction')},
    'course': {'audience': ('all', 'cadres')},
    'completion': {
        'source': ('self', 'leader', 'import', 'quiz'),
        'status': ('pending', 'verified', 'rejected'),
    },
    'badge_award': {
        'kind': ('first_contribution', 'helped_10', 'helped_50', 'paperless_streak_7', 'perfect_quiz', 'top_three'),
    },
}


def _values_outside_their_sets():
    """One line per column holding values outside its set: table, column and the distinct values."""
    bind = op.get_bind()
    lines = []
    for table, columns in ALLOWED.items():
        for column, allowed in columns.items():
            stored = sa.column(column)
            query = (
                sa.select(stored)
                .distinct()
                .select_from(sa.table(table, stored))
                .where(stored.is_not(None), stored.not_in(allowed))
                .order_by(stored)
            )
            found = bind.execute(query).scalars().all()
            if found:
                lines.append(
                    f"  {table}.{column}: {', '.join(map(repr, found))} (allowed: {', '.join(allowed)})"
                )
    return lines


def upgrade():
    # Refuse before changing anything: a CHECK added over bad rows would fail on PostgreSQL with a
    # message naming only the constraint, and on SQLite the copy into the rebuilt table would.
    problems = _values_outside_their_sets()
    if problems:
        raise RuntimeError(
            "Cannot add the enum CHECK constraints: these columns hold values outside their closed "
            "sets (domain/enums.py). Correct or delete those rows, then run the upgrade again.\n"
            + "\n".join(problems)
        )
    for table, columns in ALLOWED.items():
        # SQLite cannot add a constraint to a table: batch mode rebuilds it (copy, drop, rename).
        with op.batch_alter_table(table) as batch_op:
            for column, allowed in columns.items():
                values = ', '.join(f"'{value}'" for value in allowed)
                batch_op.create_check_constraint(op.f(f'ck_{table}_{column}'), f'{column} IN ({values})')


def downgrade():
    for table, columns in ALLOWED.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
