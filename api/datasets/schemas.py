"""Response schemas: what clients see, documented in OpenAPI."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

TIV_NOTE = (
    "A SIPRI trend-indicator value (TIV) measures the volume of transfers of major conventional arms, "
    "priced by a common unit of military capability; it is not the financial value of the deals and "
    "cannot be compared with money. SIPRI revises past years at every annual release, so figures from "
    "different releases must not be mixed without saying so."
)


class Coverage(BaseModel):
    countries: list[str] = Field(description="Country codes with at least one value")
    start: int | None = Field(description="First year with data")
    end: int | None = Field(description="Last year with data")


class ReleasePublic(BaseModel):
    release_id: str = Field(examples=["sipri-at-2025"])
    content_hash: str = Field(description="sha256 of the release's canonical rows; the dataset version")
    row_count: int
    retrieved: date | None
    published: str | None
    origin: str = Field(description="'shipped' (curated data in the package) or the ingested file name")
    loaded_at: str
    current_since: str = Field(
        description="When this release last became the served one: its load, or a later load of the same content "
        "(a rollback); the newest is current. Last-Modified of its data answers"
    )
    current: bool = Field(
        description="True for the release served by default: the newest load, or an older release whose content "
        "was loaded again since (a rollback)"
    )


class ReleaseListPublic(BaseModel):
    dataset: str
    data: list[ReleasePublic]
    count: int


class SourcePublic(BaseModel):
    title: str
    path: str | None = None
    publisher: str | None = None
    version: str | None = None
    retrieved: str | None = None
    note: str | None = None


class DatasetPublic(BaseModel):
    id: str = Field(examples=["arms-exports"])
    kind: str = Field(description="series (country-year values), table, events or regimes")
    title: str
    description: str = Field(
        description="The shipped release's description; for a release loaded by an operator, that release's own "
        "(its id, published date, file and coverage), never the shipped release's facts"
    )
    unit: str | None
    unit_label: str | None
    measure: str | None = Field(description="What the numbers measure, in plain language")
    version: str = Field(description="Content hash of the current release")
    release: ReleasePublic
    coverage: Coverage | None
    citation: str | None = Field(description="The credit line the publisher requires")
    terms: str | None = Field(description="Terms of use of the source data")
    gaps: list[str] = Field(default_factory=list, description="Known gaps, stated plainly; never filled in")
    caveats: list[str] = Field(default_factory=list)
    sources: list[SourcePublic]
    links: dict[str, str]


class DatasetListPublic(BaseModel):
    data: list[DatasetPublic]
    count: int


class ObservationPublic(BaseModel):
    country: str = Field(examples=["JPN"])
    country_name: str = Field(examples=["Japan"])
    year: int = Field(examples=[2024])
    value: float = Field(examples=[21])
    flag: str | None = Field(
        description="e.g. lt_0.5m (SIPRI '0': between 0 and 0.5 million TIV), sum_of_listed_suppliers",
        examples=[None],
    )
    source_release: str | None = Field(
        description="The source's data release this value comes from", examples=["sipri-at-2025"]
    )


class ObservationListPublic(BaseModel):
    dataset: str
    release: str
    version: str
    unit: str | None
    data: list[ObservationPublic]
    count: int = Field(description="Total number of matching observations over all pages")
    limit: int
    next_cursor: str | None
    links: dict[str, str]


Cell = str | int | float | bool | None


class FieldPublic(BaseModel):
    """A column of a table dataset (its Frictionless Table Schema field)."""

    name: str = Field(examples=["year_of_order"])
    type: str = Field(examples=["integer"], description="string, integer, number or boolean")
    description: str | None = None


class RecordListPublic(BaseModel):
    dataset: str
    release: str
    version: str
    fields: list[FieldPublic] = Field(description="The columns, in order, with their types")
    data: list[dict[str, Cell]] = Field(
        description="One object per row, keyed by field name; values typed as ``fields`` says (null: empty)"
    )
    count: int


class CountryPublic(BaseModel):
    code: str = Field(examples=["JPN"], description="ISO 3166-1 alpha-3; X** codes are SIPRI entities without one")
    name: str = Field(examples=["Japan"])
    entity_type: str = Field(examples=["state"])
    aliases: list[str]


class CountryListPublic(BaseModel):
    data: list[CountryPublic]
    count: int


class SharePublic(BaseModel):
    country: str = Field(examples=["JPN"])
    period: str = Field(examples=["2024"], description="A year, or a five-year period such as 2020-2024")
    start: int
    end: int
    tiv: float = Field(description="The country's exports in million TIV (sum over the period)")
    world_tiv: float = Field(description="The denominator in million TIV")
    share: float = Field(description="Percent of world arms exports", examples=[0.073])
    world_basis: str = Field(
        description="sipri_world_total, or sum_of_listed_suppliers (2024: SIPRI published no world total; "
        "the sum of the suppliers it lists is a lower bound), or mixed for a period spanning both"
    )
    years_with_data: int = Field(description="Years in the period with a recorded value for the country")
    flag: str | None = Field(
        default=None,
        examples=["lt_0.5m"],
        description="Empty, or `;`-separated flags: the country's own (lt_0.5m: SIPRI printed 0, deliveries under "
        "0.5 million TIV, not zero), or absent_read_as_zero: SIPRI left the cell empty (no deliveries identified) "
        "after the country's first reported year, so tiv and share are 0 though no value is recorded; a period "
        "carries the flags of its years (absent_read_as_zero when one had no value)",
    )
    source_releases: list[str]


class ShareOmittedPublic(BaseModel):
    """A year or window the request covers that has no share, because the country's value is unknown there."""

    country: str = Field(examples=["BLR"])
    period: str = Field(examples=["2020-2024"])
    start: int
    end: int
    unknown_years: list[int] = Field(
        examples=[[2024]],
        description="The years of the period whose denominator is the sum of the suppliers SIPRI lists "
        "(sum_of_listed_suppliers) and that do not include the country: its value there is unknown, not zero",
    )
    reason: str


class ShareListPublic(BaseModel):
    dataset: str
    release: str
    version: str
    window: int
    measure: str
    data: list[SharePublic]
    count: int
    omitted: list[ShareOmittedPublic] = Field(
        default_factory=list,
        description="Periods asked for that have no row, and why: a year (or a five-year window holding a year) "
        "whose denominator is the sum of the listed suppliers (2024) for a country not among them. Such a value "
        "is unknown, and a window total would count it as zero, so neither is served. Empty when nothing was left "
        "out; CSV says the same in a `note` column on its first row.",
    )


class PolicyEventPublic(BaseModel):
    date: str = Field(examples=["2014-04-01"])
    date_precision: str = Field(examples=["day"])
    category: str = Field(examples=["policy"])
    title: str
    regime: str | None = Field(
        description="The export regime this event opens, if any", examples=["transfer_principles_2014"]
    )
    verified: str
    sources: list[str]
    note: str | None


class PolicyEventListPublic(BaseModel):
    dataset: str
    release: str
    version: str
    data: list[PolicyEventPublic]
    count: int


class ProblemError(BaseModel):
    """One thing wrong with a request: what is wrong, and where (a parameter or body field, or a file's line
    and column; a stored-data problem also names its dataset, country and year)."""

    model_config = ConfigDict(extra="allow")
    message: str = Field(examples=["unknown country 'XYZ'"])
    field: str | None = Field(default=None, examples=["country"], description="The parameter or body field")
    line: int | None = Field(default=None, description="The line of an uploaded file")
    column: str | None = Field(default=None, description="The column (its name) of an uploaded file")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details: every error body has this shape."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(examples=["/problems/not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["country 'XYZ' does not exist"])
    instance: str | None = None
    errors: list[ProblemError] | None = None


class IngestPublic(BaseModel):
    """The outcome of an upload: the release it created, or the identical one already stored."""

    dataset: str = Field(examples=["arms-exports"])
    release_id: str = Field(examples=["sipri-2025-03-10"])
    content_hash: str = Field(description="sha256 of the canonical rows; the dataset version")
    row_count: int
    created: bool = Field(description="False when the same content was already stored (no rows were written)")
    current: bool = Field(
        description="True: this release is now the one served by default. Content already stored becomes current "
        "again when it was not (a rollback; see replaced)"
    )
    replaced: str | None = Field(
        default=None, description="The release that was current before, when this upload changed it; else null"
    )
    links: dict[str, str]


class WarmPublic(BaseModel):
    published: int = Field(description="Forecasts in the warm set; the service computes the missing ones")
    countries: list[str]


class PurgePublic(BaseModel):
    purged: list[str] = Field(description="The in-process caches emptied")
    results_dropped: int = Field(description="Forecast results dropped from this process's memory")
    note: str
