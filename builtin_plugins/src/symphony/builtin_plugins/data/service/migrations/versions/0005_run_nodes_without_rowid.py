"""run_nodes as its primary key's b-tree on SQLite (WITHOUT ROWID): a checkpoint's commit writes one page, not two.

The table is rebuilt with its rows (batch mode: a new table, the rows copied, the old one dropped, the new one
renamed), in the upgrade's one transaction. PostgreSQL has no rowid: nothing changes there.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _rebuild(*, rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("run_nodes", recreate="always", table_kwargs={"sqlite_with_rowid": rowid}):
        pass


def upgrade() -> None:
    _rebuild(rowid=False)


def downgrade() -> None:
    _rebuild(rowid=True)
