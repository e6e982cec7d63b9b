"""The initial study schema: study, trial, reader, assignment, answer.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("seed", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "trial",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("study_id", sa.Integer, sa.ForeignKey("study.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(500), nullable=False),
        sa.Column("record_path", sa.Text, nullable=False),
        sa.Column("lead", sa.String(40), nullable=False),
        sa.Column("subset", sa.String(100), nullable=False),
        sa.Column("variant", sa.String(40), nullable=False),
        sa.Column("pair", sa.String(600), nullable=False),
        sa.Column("truth", sa.JSON, nullable=False),
        sa.Column("panels", sa.JSON, nullable=False),
        sa.Column("fs", sa.Float, nullable=False),
        sa.Column("signal", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("study_id", "number"),
    )
    op.create_table(
        "reader",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("study_id", sa.Integer, sa.ForeignKey("study.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(300), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("study_id", "code"),
    )
    op.create_table(
        "assignment",
        sa.Column("reader_id", sa.Integer, sa.ForeignKey("reader.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("trial_id", sa.Integer, sa.ForeignKey("trial.id", ondelete="CASCADE"), nullable=False),
        sa.UniqueConstraint("reader_id", "trial_id"),
    )
    op.create_table(
        "answer",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reader_id", sa.Integer, sa.ForeignKey("reader.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("trial_id", sa.Integer, sa.ForeignKey("trial.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("answer", sa.JSON, nullable=False),
        sa.Column("confidence", sa.Integer, nullable=True),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("shown_at", sa.DateTime, nullable=False),
        sa.Column("answered_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("reader_id", "trial_id"),
    )


def downgrade() -> None:
    for table in ("answer", "assignment", "reader", "trial", "study"):
        op.drop_table(table)
