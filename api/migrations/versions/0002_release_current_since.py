"""Release.current_since: when a release last became the current one, so that loading an older release's content
again makes it current (a rollback) and moves Last-Modified forward.

Existing releases keep NULL: the catalogue ranks NULL after every stamped release and then by id, which is
exactly the order ("newest id is current") these databases were served in before. A downgrade drops the
column: a rolled-back release is then no longer current (the newest id is again).

Revision ID: 0002
Revises: 0001
Created: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database built by create_all (before migrations) and adopted at the baseline may already have the column.
    if "current_since" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("release")}:
        return
    with op.batch_alter_table("release") as batch:
        batch.add_column(sa.Column("current_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("release") as batch:
        batch.drop_column("current_since")
