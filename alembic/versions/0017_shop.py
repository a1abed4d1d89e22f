"""the VK shop options: stock, albums from Evotor groups, the hand-edit policy, buyers' orders

Revision ID: 0017_shop
Revises: 0014_history
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0017_shop'
down_revision: str | None = '0016_rate_buckets'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sync_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_stock', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('album_mode', sa.String(length=16), server_default='off', nullable=False))
        batch_op.add_column(sa.Column('hand_edits', sa.String(length=16), server_default='overwrite',
                                      nullable=False))
    op.create_table('sync_albums',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('source_group_id', sa.String(length=64), nullable=False),
    sa.Column('album_id', sa.BigInteger(), nullable=True),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('created', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sync_albums_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_albums')),
    sa.UniqueConstraint('user_id', 'store_id', 'group_id', 'source_group_id',
                        name=op.f('uq_sync_albums_user_id'))
    )
    op.create_table('shop_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('buyer_id', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('total_kopecks', sa.BigInteger(), nullable=True),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_shop_orders_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_orders')),
    sa.UniqueConstraint('user_id', 'group_id', 'order_id', name=op.f('uq_shop_orders_user_id'))
    )
    op.create_table('shop_order_polls',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('problem', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_shop_order_polls_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_shop_order_polls'))
    )


def downgrade() -> None:
    op.drop_table('shop_order_polls')
    op.drop_table('shop_orders')
    op.drop_table('sync_albums')
    with op.batch_alter_table('sync_configs', schema=None) as batch_op:
        batch_op.drop_column('hand_edits')
        batch_op.drop_column('album_mode')
        batch_op.drop_column('send_stock')
