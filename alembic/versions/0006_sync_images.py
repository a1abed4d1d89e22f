"""what the sync last saw of each Evotor product image

Revision ID: 0006_sync_images
Revises: 0005_sync_runs (the coordinator re-chains)
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0006_sync_images'
down_revision: str | None = '0005_sync_runs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sync_images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('product_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.String(length=160), nullable=True),
    sa.Column('image_key', sa.String(length=64), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'],
                            name=op.f('fk_sync_images_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_images')),
    sa.UniqueConstraint('connection_id', 'store_id', 'product_id', name=op.f('uq_sync_images_connection_id'))
    )


def downgrade() -> None:
    op.drop_table('sync_images')
