"""catalog: stores, snapshots, groups, products, refresh jobs, rules

Revision ID: 0003_catalog
Revises: 0002_reliability
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0003_catalog'
down_revision: str | None = '0002_reliability'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('catalog_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('target_name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_catalog_rules_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_rules')),
    sa.UniqueConstraint('user_id', 'store_id', 'target_kind', 'target_id', name='uq_catalog_rules_target')
    )
    op.create_table('catalog_refresh_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('requested_by_user_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('worker', sa.String(length=128), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('pages_read', sa.Integer(), nullable=False),
    sa.Column('items_read', sa.Integer(), nullable=False),
    sa.Column('current_store_id', sa.String(length=64), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('error_code', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_catalog_refresh_jobs_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['users.id'], name=op.f('fk_catalog_refresh_jobs_requested_by_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_refresh_jobs'))
    )
    with op.batch_alter_table('catalog_refresh_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_refresh_jobs_connection_id_requested_at', ['connection_id', 'requested_at'], unique=False)
        batch_op.create_index('uq_catalog_refresh_jobs_active', ['connection_id'], unique=True, sqlite_where=sa.text('finished_at IS NULL'), postgresql_where=sa.text('finished_at IS NULL'))

    op.create_table('catalog_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('group_count', sa.Integer(), nullable=False),
    sa.Column('product_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_catalog_snapshots_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_snapshots'))
    )
    with op.batch_alter_table('catalog_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_snapshots_connection_id_store_id', ['connection_id', 'store_id'], unique=False)

    op.create_table('catalog_stores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('listed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_catalog_stores_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_stores')),
    sa.UniqueConstraint('connection_id', 'store_id', name='uq_catalog_stores_connection_store')
    )
    op.create_table('catalog_groups',
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('parent_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('is_modification_group', sa.Boolean(), nullable=False),
    sa.Column('attributes', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('barcodes', sa.JSON(none_as_null=True), nullable=True),
    sa.ForeignKeyConstraint(['snapshot_id'], ['catalog_snapshots.id'], name=op.f('fk_catalog_groups_snapshot_id_catalog_snapshots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('snapshot_id', 'id', name=op.f('pk_catalog_groups'))
    )
    op.create_table('catalog_products',
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('article', sa.String(length=64), nullable=True),
    sa.Column('barcodes', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('price', sa.BigInteger(), nullable=True),
    sa.Column('cost_price', sa.BigInteger(), nullable=True),
    sa.Column('quantity', sa.BigInteger(), nullable=True),
    sa.Column('measure', sa.String(length=64), nullable=True),
    sa.Column('type', sa.String(length=64), nullable=True),
    sa.Column('allow_to_sell', sa.Boolean(), nullable=True),
    sa.Column('tax', sa.String(length=64), nullable=True),
    sa.Column('attributes_choices', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['snapshot_id'], ['catalog_snapshots.id'], name=op.f('fk_catalog_products_snapshot_id_catalog_snapshots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('snapshot_id', 'id', name=op.f('pk_catalog_products'))
    )


def downgrade() -> None:
    op.drop_table('catalog_products')
    op.drop_table('catalog_groups')
    op.drop_table('catalog_stores')
    with op.batch_alter_table('catalog_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_catalog_snapshots_connection_id_store_id')

    op.drop_table('catalog_snapshots')
    with op.batch_alter_table('catalog_refresh_jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_catalog_refresh_jobs_active', sqlite_where=sa.text('finished_at IS NULL'), postgresql_where=sa.text('finished_at IS NULL'))
        batch_op.drop_index('ix_catalog_refresh_jobs_connection_id_requested_at')

    op.drop_table('catalog_refresh_jobs')
    op.drop_table('catalog_rules')
