"""the VK shop options: send the Evotor quantity as VK's stock

Revision ID: 0017_shop
Revises: 0014_history
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0017_shop'
down_revision: str | None = '0014_history'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sync_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_stock', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('sync_configs', schema=None) as batch_op:
        batch_op.drop_column('send_stock')
