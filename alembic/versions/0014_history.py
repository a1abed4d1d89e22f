"""health history: hourly and daily rollups of the check records

Revision ID: 0014_history
Revises: 0009_journal_notify
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0014_history'
down_revision: str | None = '0009_journal_notify'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('check_rollups',
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('bucket_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checks', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('worst_status', sa.String(length=16), nullable=False),
    sa.Column('p50_ms', sa.Integer(), nullable=True),
    sa.Column('p95_ms', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'],
                            name=op.f('fk_check_rollups_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connection_id', 'period', 'bucket_start', name=op.f('pk_check_rollups'))
    )
    with op.batch_alter_table('check_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_check_rollups_period_bucket_start', ['period', 'bucket_start'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('check_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_check_rollups_period_bucket_start')
    op.drop_table('check_rollups')
