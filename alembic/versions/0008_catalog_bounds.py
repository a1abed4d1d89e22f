"""what a catalog refresh left out or changed, and why (issue 15)

Revision ID: 0008_catalog_bounds
Revises: 0007_work (the coordinator re-chains)
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0008_catalog_bounds'
down_revision: str | None = '0007_work'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('catalog_refresh_jobs') as batch:
        batch.add_column(sa.Column('items_skipped', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('problems', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('catalog_refresh_jobs') as batch:
        batch.drop_column('problems')
        batch.drop_column('items_skipped')
