"""hot read indexes: a leader's latest decisions (the review page), a member's latest work in a campaign
(the campaign page) and a campaign's latest badges (the TV ticker) read down an index instead of sorting
every approved contribution, every contribution of the campaign or every badge. The member's and the
badge index lead with the column of the index they replace.

Revision ID: d4e5f6a7b809
Revises: c3d4e5f6a708
Create Date: 2026-12-03 09:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "d4e5f6a7b809"
down_revision = "c3d4e5f6a708"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_contribution_decided", "contribution", ["decided_by_id", "decided_at"])
    op.create_index("ix_contribution_member_latest", "contribution", ["member_id", "campaign_id", "occurred_on", "id"])
    op.drop_index("ix_contribution_member_id", table_name="contribution")
    op.create_index("ix_badge_award_campaign_latest", "badge_award", ["campaign_id", "awarded_at", "id"])
    op.drop_index("ix_badge_award_campaign_id", table_name="badge_award")


def downgrade():
    op.create_index("ix_badge_award_campaign_id", "badge_award", ["campaign_id"])
    op.drop_index("ix_badge_award_campaign_latest", table_name="badge_award")
    op.create_index("ix_contribution_member_id", "contribution", ["member_id"])
    op.drop_index("ix_contribution_member_latest", table_name="contribution")
    op.drop_index("ix_contribution_decided", table_name="contribution")
