"""Extension grants, trust marks, their per-owner version counter and the permission audit, moved here from
permissions.db (issue 15).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "extension_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("extension", sa.String(length=200), nullable=False),
        sa.Column("permission", sa.String(length=2000), nullable=False),
        sa.Column("granted_at", sa.Double(), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("budget_calls", sa.Integer(), nullable=True),
        sa.Column("budget_tokens", sa.Integer(), nullable=True),
        sa.Column("budget_cost", sa.Double(), nullable=True),
        sa.Column("identity", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_id", "extension", "permission", name="uq_extension_grants"),
    )
    op.create_table(
        "extension_trust",
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("extension", sa.String(length=200), nullable=False),
        sa.Column("trusted_at", sa.Double(), nullable=False),
        sa.Column("trusted_by", sa.String(length=200), nullable=False),
        sa.Column("identity", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("owner_id", "extension"),
    )
    op.create_table(
        "permission_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("extension", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("permission", sa.String(length=2000), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("rule", sa.String(length=2000), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("permission_audit", schema=None) as batch_op:
        batch_op.create_index("ix_permission_audit_decision", ["owner_id", "decision", "id"], unique=False)
        batch_op.create_index("ix_permission_audit_extension", ["owner_id", "extension", "id"], unique=False)
        batch_op.create_index("ix_permission_audit_owner", ["owner_id", "id"], unique=False)
        batch_op.create_index("ix_permission_audit_run", ["owner_id", "run_id", "id"], unique=False)

    op.create_table(
        "permission_versions",
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("owner_id"),
    )


def downgrade() -> None:
    op.drop_table("permission_versions")
    with op.batch_alter_table("permission_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_permission_audit_run")
        batch_op.drop_index("ix_permission_audit_owner")
        batch_op.drop_index("ix_permission_audit_extension")
        batch_op.drop_index("ix_permission_audit_decision")

    op.drop_table("permission_audit")
    op.drop_table("extension_trust")
    op.drop_table("extension_grants")
