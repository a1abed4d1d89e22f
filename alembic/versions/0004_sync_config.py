"""sync configuration: one row per user

Revision ID: 0004_sync_config
Revises: 0003_catalog
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0004_sync_config'
down_revision: str | None = '0003_catalog'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sync_configs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('evotor_store_id', sa.String(length=64), nullable=False),
    sa.Column('evotor_store_name', sa.String(length=255), nullable=False),
    sa.Column('vk_group_id', sa.Integer(), nullable=True),
    sa.Column('vk_group_name', sa.String(length=255), nullable=False),
    sa.Column('vk_group_goods_enabled', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('vk_category_id', sa.Integer(), nullable=True),
    sa.Column('vk_category_name', sa.String(length=255), nullable=False),
    sa.Column('on_removed', sa.String(length=16), nullable=False),
    sa.Column('on_not_for_sale', sa.String(length=16), nullable=False),
    sa.Column('on_zero_price', sa.String(length=16), nullable=False),
    sa.Column('price_multiplier', sa.String(length=16), nullable=False),
    sa.Column('description_template', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.String(length=320), nullable=False),
    sa.Column('confirmed_snapshot', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sync_configs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_configs')),
    sa.UniqueConstraint('user_id', name=op.f('uq_sync_configs_user_id'))
    )


def downgrade() -> None:
    op.drop_table('sync_configs')
