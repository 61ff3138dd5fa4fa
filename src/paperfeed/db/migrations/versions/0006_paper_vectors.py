"""paper_vectors + embed_claims: vectors live in the database; workers share the embedding

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_vectors",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.BigInteger(), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("paper_seq", sa.BigInteger(), nullable=False),
        sa.Column("vector_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "model"),
    )
    with op.batch_alter_table("paper_vectors") as batch:
        batch.create_index("ix_paper_vectors_model_seq", ["model", "vector_seq"], unique=False)
    op.create_table(
        "embed_claims",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "model"),
    )
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
    op.bulk_insert(counters, [{"name": "vector_change", "value": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name = 'vector_change'")
    op.drop_table("embed_claims")
    with op.batch_alter_table("paper_vectors") as batch:
        batch.drop_index("ix_paper_vectors_model_seq")
    op.drop_table("paper_vectors")
