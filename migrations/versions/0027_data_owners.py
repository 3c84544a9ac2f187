"""data_owners: data owners bound to departments (issue 15 item 3)

The role `data_owner` (数源部门) joins the users' role constraint, and department_owners binds each data owner
to the departments (CKAN organizations) whose access requests, error reports and data requests they answer.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 07:45:00

"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

ROLES_BEFORE = "role IN ('admin', 'county_member', 'judge', 'developer')"
ROLES_AFTER = "role IN ('admin', 'data_owner', 'county_member', 'judge', 'developer')"


def upgrade():
    _replace_role_check(ROLES_AFTER)
    op.create_table(
        "department_owners",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_department_owners_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_department_owners_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "department_id", name=op.f("pk_department_owners")),
    )
    with op.batch_alter_table("department_owners", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_department_owners_department_id"), ["department_id"], unique=False
        )


def downgrade():
    op.drop_table("department_owners")
    op.execute("UPDATE users SET role = 'developer' WHERE role = 'data_owner'")
    _replace_role_check(ROLES_BEFORE)


def _replace_role_check(condition: str) -> None:
    """Swap the users' role constraint for one with `condition`.

    PostgreSQL alters the constraint in place. SQLite cannot alter a constraint, and rebuilding the users
    table (Alembic's batch mode) would drop it first: with foreign keys on, that deletes every row that
    cascades from a user. A CHECK's text is all that changes, so the table's stored SQL is edited instead,
    the procedure SQLite's documentation gives for such changes (https://sqlite.org/lang_altertable.html).
    """
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_users_role"), "users", type_="check")
        op.create_check_constraint(op.f("ck_users_role"), "users", condition)
        return
    old = ROLES_BEFORE if condition == ROLES_AFTER else ROLES_AFTER
    bind = op.get_bind()
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'"
    ).scalar()
    if old not in sql:
        raise RuntimeError(f"the users table's role constraint is not {old!r}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'users'",
        (sql.replace(old, condition),),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
