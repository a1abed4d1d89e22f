"""refresh claims: a token refresh is claimed in the database, never held under a lock

Revision ID: 0002_reliability
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0002_reliability'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refresh_claim', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('refresh_claim_expires_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('refresh_claim_expires_at')
        batch_op.drop_column('refresh_claim')
