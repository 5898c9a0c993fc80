"""campaigns: campaigns, targeted contacts, attempts, pacers

Revision ID: 0006_campaigns
Revises: 0003_consent
Create Date: 2026-11-25 11:24:34.732943
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0006_campaigns'
down_revision: str | None = '0003_consent'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('campaign_pacers',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('next_us', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_campaign_pacers'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('offer_id', sa.String(length=64), nullable=True),
    sa.Column('flow', sa.String(length=64), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('reason', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('caller_id', sa.String(length=32), nullable=True),
    sa.Column('callback_number', sa.String(length=32), nullable=True),
    sa.Column('calling_days', sa.JSON(), nullable=False),
    sa.Column('calling_start', sa.String(length=5), nullable=False),
    sa.Column('calling_end', sa.String(length=5), nullable=False),
    sa.Column('cps', sa.Float(), nullable=False),
    sa.Column('max_concurrent', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('retry_busy_minutes', sa.Integer(), nullable=False),
    sa.Column('retry_no_answer_minutes', sa.Integer(), nullable=False),
    sa.Column('machine_policy', sa.String(length=16), nullable=False),
    sa.Column('amd_async', sa.Boolean(), nullable=False),
    sa.Column('ring_timeout', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('claim_seq', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('name', name=op.f('uq_campaigns_name'))
    )
    op.create_table('campaign_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('e164', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('next_attempt_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts_made', sa.Integer(), nullable=False),
    sa.Column('disposition', sa.String(length=32), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_contacts_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_campaign_contacts_contact_id_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_contacts')),
    sa.UniqueConstraint('campaign_id', 'contact_id', name=op.f('uq_campaign_contacts_campaign_id_contact_id'))
    )
    with op.batch_alter_table('campaign_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_contacts_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_contacts_e164'), ['e164'], unique=False)
        batch_op.create_index('ix_campaign_contacts_queue', ['campaign_id', 'status', 'next_attempt_at'], unique=False)

    op.create_table('campaign_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('campaign_contact_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('e164', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('rule_id', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('consent_attempt_id', sa.Integer(), nullable=True),
    sa.Column('call_sid', sa.String(length=64), nullable=True),
    sa.Column('disposition', sa.String(length=32), nullable=True),
    sa.Column('answered_by', sa.String(length=32), nullable=True),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('worker', sa.String(length=64), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dialled_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opener_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_contact_id'], ['campaign_contacts.id'], name=op.f('fk_campaign_attempts_campaign_contact_id_campaign_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_attempts_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decision_id'], ['consent_decisions.id'], name=op.f('fk_campaign_attempts_decision_id_consent_decisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_attempts')),
    sa.UniqueConstraint('call_sid', name=op.f('uq_campaign_attempts_call_sid'))
    )
    with op.batch_alter_table('campaign_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_attempts_campaign_contact_id'), ['campaign_contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_attempts_campaign_id'), ['campaign_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('campaign_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_attempts_campaign_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_attempts_campaign_contact_id'))

    op.drop_table('campaign_attempts')
    with op.batch_alter_table('campaign_contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_contacts_queue')
        batch_op.drop_index(batch_op.f('ix_campaign_contacts_e164'))
        batch_op.drop_index(batch_op.f('ix_campaign_contacts_contact_id'))

    op.drop_table('campaign_contacts')
    op.drop_table('campaigns')
    op.drop_table('campaign_pacers')
