"""modifications as VK variants: the option, the properties and variants used, the item groups

Revision ID: 0018_variants
Revises: 0017_shop
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0018_variants'
down_revision: str | None = '0017_shop'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sync_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variants', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('sync_variants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('property', sa.String(length=60), nullable=False),
    sa.Column('variant', sa.String(length=60), nullable=False),
    sa.Column('target_id', sa.BigInteger(), nullable=True),
    sa.Column('created', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sync_variants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_variants')),
    sa.UniqueConstraint('user_id', 'group_id', 'property', 'variant', name=op.f('uq_sync_variants_user_id'))
    )
    op.create_table('sync_item_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('source_group_id', sa.String(length=64), nullable=False),
    sa.Column('item_group_id', sa.BigInteger(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sync_item_groups_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_item_groups')),
    sa.UniqueConstraint('user_id', 'store_id', 'group_id', 'source_group_id',
                        name=op.f('uq_sync_item_groups_user_id'))
    )


def downgrade() -> None:
    op.drop_table('sync_item_groups')
    op.drop_table('sync_variants')
    with op.batch_alter_table('sync_configs', schema=None) as batch_op:
        batch_op.drop_column('variants')
