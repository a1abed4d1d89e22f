"""journal of typed events, notification channels and their outbox

Revision ID: 0009_journal_notify
Revises: 0008_catalog_bounds
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0009_journal_notify'
down_revision: str | None = '0008_catalog_bounds'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('journal_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('actor_label', sa.String(length=320), nullable=False),
    sa.Column('service', sa.String(length=32), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_journal_events_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_events'))
    )
    op.create_index('ix_journal_events_user_id_at', 'journal_events', ['user_id', 'at'])
    op.create_index('ix_journal_events_connection_id_at', 'journal_events', ['connection_id', 'at'])
    op.create_table('notify_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=255), nullable=False),
    sa.Column('target_sealed', sa.Text(), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('remind_hourly', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notify_channels_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_channels'))
    )
    op.create_index(op.f('ix_notify_channels_user_id'), 'notify_channels', ['user_id'])
    op.create_table('notify_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('notice', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link_path', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=128), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sending_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['notify_channels.id'],
                            name=op.f('fk_notify_outbox_channel_id_notify_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['journal_events.id'],
                            name=op.f('fk_notify_outbox_event_id_journal_events'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_outbox'))
    )
    op.create_index('ix_notify_outbox_state_next_attempt_at', 'notify_outbox', ['state', 'next_attempt_at'])
    op.create_index('ix_notify_outbox_channel_id_connection_id', 'notify_outbox', ['channel_id', 'connection_id'])


def downgrade() -> None:
    op.drop_table('notify_outbox')
    op.drop_table('notify_channels')
    op.drop_table('journal_events')
