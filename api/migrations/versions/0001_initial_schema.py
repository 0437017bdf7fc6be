"""Initial schema: the tables of api/datasets/tables.py, exactly as SQLModel.metadata.create_all built them.

Revision ID: 0001
Revises: (none)
Created: 2026-11-26 01:12:32.900296
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "country",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("aliases", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index(op.f("ix_country_name"), "country", ["name"], unique=False)
    op.create_table(
        "dataset",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("unit_label", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("descriptor", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("release_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("retrieved", sa.Date(), nullable=True),
        sa.Column("published", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("loaded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dataset_id", "content_hash", name="uq_release_content"),
        sa.UniqueConstraint("dataset_id", "release_id", name="uq_release_id"),
    )
    op.create_index(op.f("ix_release_dataset_id"), "release", ["dataset_id"], unique=False)
    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("publisher", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("retrieved", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_source_dataset_id"), "source", ["dataset_id"], unique=False)
    op.create_table(
        "observation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("release_pk", sa.Integer(), nullable=False),
        sa.Column("country_code", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("flag", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("source_release", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["country_code"],
            ["country.code"],
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
        ),
        sa.ForeignKeyConstraint(
            ["release_pk"],
            ["release.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("release_pk", "country_code", "year", name="uq_observation"),
    )
    op.create_index("ix_observation_release_year", "observation", ["release_pk", "year"], unique=False)
    op.create_table(
        "policyevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_pk", sa.Integer(), nullable=False),
        sa.Column("date", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("date_precision", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("regime", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("verified", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["release_pk"],
            ["release.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_policyevent_release_pk"), "policyevent", ["release_pk"], unique=False)
    op.create_table(
        "record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_pk", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_pk"],
            ["release.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("release_pk", "row_number", name="uq_record"),
    )
    op.create_index(op.f("ix_record_release_pk"), "record", ["release_pk"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_record_release_pk"), table_name="record")
    op.drop_table("record")
    op.drop_index(op.f("ix_policyevent_release_pk"), table_name="policyevent")
    op.drop_table("policyevent")
    op.drop_index("ix_observation_release_year", table_name="observation")
    op.drop_table("observation")
    op.drop_index(op.f("ix_source_dataset_id"), table_name="source")
    op.drop_table("source")
    op.drop_index(op.f("ix_release_dataset_id"), table_name="release")
    op.drop_table("release")
    op.drop_table("dataset")
    op.drop_index(op.f("ix_country_name"), table_name="country")
    op.drop_table("country")
