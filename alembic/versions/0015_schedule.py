"""sync schedule: the interval or daily time of each user's sync, and its next run

Revision ID: 0015_schedule
Revises: 0014_history
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0015_schedule'
down_revision: str | None = '0014_history'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sync_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule_mode', sa.String(length=8), server_default='every', nullable=False))
        batch_op.add_column(sa.Column('schedule_minutes', sa.Integer(), server_default=sa.text('60'),
                                      nullable=False))
        batch_op.add_column(sa.Column('schedule_at', sa.String(length=5), server_default='03:00', nullable=False))
        batch_op.add_column(sa.Column('schedule_tz', sa.String(length=64), server_default='Europe/Moscow',
                                      nullable=False))
        batch_op.add_column(sa.Column('schedule_next_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_sync_configs_schedule_next_at'), ['schedule_next_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sync_configs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_configs_schedule_next_at'))
        batch_op.drop_column('schedule_next_at')
        batch_op.drop_column('schedule_tz')
        batch_op.drop_column('schedule_at')
        batch_op.drop_column('schedule_minutes')
        batch_op.drop_column('schedule_mode')
