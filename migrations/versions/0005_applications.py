"""applications: county teams' innovation applications, their files, review trail and notifications

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 12:24:51.259920

A deliberate branch beside 0004: the app upgrades to all heads.
"""
from alembic import op
import sqlalchemy as sa

import portal.dbtypes


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('domain', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('web_url', sa.String(length=500), nullable=False),
    sa.Column('mini_program', sa.String(length=200), nullable=False),
    sa.Column('zlb_entry', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('is_exemplary', sa.Boolean(), nullable=False),
    sa.Column('form_token', sa.String(length=64), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', portal.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('submitted_at', portal.dbtypes.UTCDateTime(), nullable=True),
    sa.Column('approved_at', portal.dbtypes.UTCDateTime(), nullable=True),
    sa.CheckConstraint("NOT is_exemplary OR status = 'approved'", name=op.f('ck_applications_exemplary_is_approved')),
    sa.CheckConstraint("quarter LIKE '____Q_'", name=op.f('ck_applications_quarter_format')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'approved', 'returned')", name=op.f('ck_applications_status')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_applications_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_applications_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications')),
    sa.UniqueConstraint('form_token', name=op.f('uq_applications_form_token'))
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index('ix_applications_region_quarter', ['region_id', 'quarter'], unique=False)
        batch_op.create_index('ix_applications_status_quarter', ['status', 'quarter'], unique=False)

    op.create_table('application_datasets',
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_application_datasets_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_application_datasets_dataset_id_datasets')),
    sa.PrimaryKeyConstraint('application_id', 'dataset_id', name=op.f('pk_application_datasets'))
    )
    with op.batch_alter_table('application_datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_datasets_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('application_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('storage_key', sa.String(length=1000), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('thumbnail_key', sa.String(length=1000), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', portal.dbtypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('screenshot', 'pdf')", name=op.f('ck_application_files_kind')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_application_files_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_application_files_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application_files'))
    )
    with op.batch_alter_table('application_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_files_application_id'), ['application_id'], unique=False)

    op.create_table('application_transitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=10), nullable=True),
    sa.Column('to_status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', portal.dbtypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_application_transitions_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_application_transitions_application_id_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application_transitions'))
    )
    with op.batch_alter_table('application_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_transitions_application_id'), ['application_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', portal.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('read_at', portal.dbtypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_notifications_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_application_id'), ['application_id'], unique=False)
        batch_op.create_index('ix_notifications_user_read', ['user_id', 'read_at'], unique=False)


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_read')
        batch_op.drop_index(batch_op.f('ix_notifications_application_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('application_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_transitions_application_id'))

    op.drop_table('application_transitions')
    with op.batch_alter_table('application_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_files_application_id'))

    op.drop_table('application_files')
    with op.batch_alter_table('application_datasets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_datasets_dataset_id'))

    op.drop_table('application_datasets')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_status_quarter')
        batch_op.drop_index('ix_applications_region_quarter')

    op.drop_table('applications')
