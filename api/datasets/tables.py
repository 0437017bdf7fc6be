"""Database tables (SQLModel). Response shapes live in ``schemas.py``.

A *release* is one immutable load of a dataset: SIPRI revises its whole database
every spring, so each load is kept, hashed and addressable. The *current* release, served
by default, is the one made current last (``current_since``): a new load, or an older
release whose content is loaded again (a rollback).
"""

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Country(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=3, description="ISO 3166-1 alpha-3 or X** user code")
    name: str = Field(index=True)
    entity_type: str
    aliases: str = Field(default="", description="|-separated other names used in source files")


class Dataset(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(description="series | table | events | regimes")
    title: str
    description: str = Field(sa_column=Column(Text, nullable=False))
    unit: str | None = None
    unit_label: str | None = None
    descriptor: str = Field(
        sa_column=Column(Text, nullable=False),
        description="The dataset's Frictionless resource descriptor, as JSON",
    )


class Source(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    dataset_id: str = Field(foreign_key="dataset.id", index=True)
    title: str
    path: str | None = None
    publisher: str | None = None
    version: str | None = None
    retrieved: str | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))


class Release(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("dataset_id", "release_id", name="uq_release_id"),
        UniqueConstraint("dataset_id", "content_hash", name="uq_release_content"),
    )
    id: int | None = Field(default=None, primary_key=True)
    dataset_id: str = Field(foreign_key="dataset.id", index=True)
    release_id: str = Field(max_length=64)
    content_hash: str = Field(max_length=64, description="sha256 of the canonical rows")
    row_count: int
    retrieved: date | None = None
    published: str | None = None
    origin: str = Field(description="'shipped' or the ingested file name")
    note: str | None = Field(default=None, sa_column=Column(Text))
    loaded_at: datetime
    current_since: datetime | None = Field(
        default=None,
        description="When the release last became the current one: at its load, and again when its content is "
        "loaded again while another release is current (a rollback). None: stored before this column existed "
        "(such releases rank by id, after every release with a value)",
    )

    @property
    def modified(self) -> datetime:
        """``Last-Modified`` of answers from this release: when it last became current, so that a rollback to it
        moves the date forward (an If-Modified-Since from the release it replaced must not get a 304)."""
        return self.current_since or self.loaded_at


class Observation(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("release_pk", "country_code", "year", name="uq_observation"),
        Index("ix_observation_release_year", "release_pk", "year"),
    )
    id: int | None = Field(default=None, primary_key=True)
    dataset_id: str = Field(foreign_key="dataset.id")
    release_pk: int = Field(foreign_key="release.id")
    country_code: str = Field(foreign_key="country.code", max_length=3)
    year: int
    value: float
    flag: str | None = None
    source_release: str | None = None


class Record(SQLModel, table=True):
    """One row of a table dataset (deals, plan figures, regimes), kept as JSON."""

    __table_args__ = (UniqueConstraint("release_pk", "row_number", name="uq_record"),)
    id: int | None = Field(default=None, primary_key=True)
    release_pk: int = Field(foreign_key="release.id", index=True)
    row_number: int
    data: str = Field(sa_column=Column(Text, nullable=False))


class PolicyEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    release_pk: int = Field(foreign_key="release.id", index=True)
    date: str = Field(description="ISO date; YYYY-MM when only the month is known")
    date_precision: str
    category: str
    title: str = Field(sa_column=Column(Text, nullable=False))
    regime: str | None = None
    verified: str
    sources: str = Field(sa_column=Column(Text, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text))
