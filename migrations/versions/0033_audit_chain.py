"""audit_chain: the audit chain's head in a one-row table; no unique prev_hash, no actor_id index (issue 15)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade():
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    # the head starts where the log stands: its last row, or the genesis of an empty log
    last = "(SELECT {} FROM audit_events ORDER BY id DESC LIMIT 1)"
    op.execute(
        sa.text(
            f"INSERT INTO audit_chain (id, prev_hash, hash) "
            f"VALUES (1, COALESCE({last.format('prev_hash')}, :g), COALESCE({last.format('hash')}, :g))"
        ).bindparams(g=GENESIS)
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_actor_id"))
        batch_op.drop_constraint(batch_op.f("uq_audit_events_prev_hash"), type_="unique")


def downgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_prev_hash"), ["prev_hash"])
        batch_op.create_index(batch_op.f("ix_audit_events_actor_id"), ["actor_id"], unique=False)
    op.drop_table("audit_chain")
