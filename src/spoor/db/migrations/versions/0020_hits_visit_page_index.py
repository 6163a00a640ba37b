"""hits: index (visit_id, start of path) instead of (visit_id)

The rollups ask with every batch whether a visit viewed a page before; on (visit_id)
alone that read all of a long visit's hits each time.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_hits_visit_id_page", "hits", ["visit_id", sa.text("substr(path, 1, 100)")])
    op.drop_index("ix_hits_visit_id", table_name="hits")


def downgrade() -> None:
    op.create_index("ix_hits_visit_id", "hits", ["visit_id"])
    op.drop_index("ix_hits_visit_id_page", table_name="hits")
