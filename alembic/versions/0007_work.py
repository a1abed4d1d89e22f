"""one active sync run per user, guaranteed by a partial unique index

Revision ID: 0007_work
Revises: 0006_sync_images (the coordinator re-chains)
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0007_work'
down_revision: str | None = '0006_sync_images'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "state IN ('requested', 'running')"


def upgrade() -> None:
    # Runs left active twice for one user (the defect this index closes): keep the newest, close the rest.
    op.execute(sa.text(
        "UPDATE sync_runs SET state = 'failed', finished_at = CURRENT_TIMESTAMP, "
        "stop_reason = 'Прервано: закрыт при обновлении базы (второй активный запуск)' "
        f"WHERE {ACTIVE} AND id NOT IN (SELECT max(id) FROM sync_runs WHERE {ACTIVE} GROUP BY user_id)"))
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index('uq_sync_runs_active', ['user_id'], unique=True,
                              sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))


def downgrade() -> None:
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_sync_runs_active', sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
