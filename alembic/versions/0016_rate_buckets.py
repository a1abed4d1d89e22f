"""rate buckets: VK's per-token limit shared by every process

Revision ID: 0016_rate_buckets
Revises: 0014_history
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0016_rate_buckets'
down_revision: str | None = '0015_schedule'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rate_buckets',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('slot_at', sa.Float(), nullable=False),
    sa.Column('clock_at', sa.Float(), nullable=False),
    sa.Column('next_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_buckets'))
    )


def downgrade() -> None:
    op.drop_table('rate_buckets')
