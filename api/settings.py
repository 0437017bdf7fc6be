"""Settings of the API process, read once from ``TIVCAST_*`` environment variables."""

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Typed settings; bad values fail at start-up, not on the first request."""

    model_config = SettingsConfigDict(env_prefix="TIVCAST_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///tivcast.db",
        description="SQLAlchemy URL. Default: a SQLite file in the working directory.",
    )
    redis_url: str | None = Field(default=None, description="Redis URL; unset means embedded mode (no services).")
    warm_on_start: bool = Field(
        default=True, description="Compute the built-in scenarios of the watched countries at start-up."
    )
    warm_check_seconds: float = Field(
        default=30, gt=0, description="How often the API checks for a new data version to warm the cache for."
    )
    seed_on_start: bool = Field(default=True, description="Load the shipped datasets on start-up.")
    page_size_default: int = Field(default=100, ge=1, le=10_000)
    page_size_max: int = Field(default=1000, ge=1, le=10_000)
    cache_max_age: int = Field(
        default=300, ge=0, description="Seconds a client may reuse a data response (Cache-Control)."
    )
    body_cache_entries: int = Field(
        default=1024, ge=0, description="Serialised data responses kept in memory (0 disables the cache)."
    )
    version_ttl: float = Field(
        default=2.0,
        ge=0,
        description="Seconds the process trusts its cached view of the newest releases before re-checking.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("TIVCAST_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``)."""
    return Settings()
