"""Settings of the API process, read once from ``TIVCAST_*`` environment variables."""

import ipaddress
import json
from functools import lru_cache
from typing import Annotated, Any, Self

import limits
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
    ready_timeout: float = Field(
        default=1.0, gt=0, le=30, description="Seconds each /readyz check (database, Redis, workers) may take."
    )
    access_log: bool = Field(default=True, description="Log one JSON line per request (probes and scrapes excepted).")
    # Security (api/operations/security.py).
    admin_api_key: SecretStr | None = Field(
        default=None, description="Key of the /v1/admin routes (at least 16 characters); unset: they answer 404."
    )
    rate_limit: str | None = Field(
        default="30/minute",
        description="POST /v1/forecasts and admin calls per client, e.g. 30/minute; empty: no limit.",
    )
    rate_limit_storage_url: str | None = Field(
        default=None,
        description="Redis URL of the shared rate-limit counters; default: TIVCAST_CACHE_REDIS_URL, "
        "else TIVCAST_REDIS_URL, else memory.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxies (IPs or CIDRs) whose X-Forwarded-For names the client; empty: the peer address counts.",
    )
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="Largest request body (413 above it).")
    max_upload_bytes: int = Field(default=20 << 20, ge=1024, description="Largest admin upload (413 above it).")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser; empty: no CORS headers."
    )

    @field_validator("admin_api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("admin_api_key")
    @classmethod
    def _strong_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 16:
            raise ValueError("TIVCAST_ADMIN_API_KEY must have at least 16 characters (e.g. `openssl rand -hex 32`)")
        return value

    @model_validator(mode="after")
    def _page_sizes_agree(self) -> Self:
        if self.page_size_default > self.page_size_max:  # else a request without limit= is refused for it
            raise ValueError(f"TIVCAST_PAGE_SIZE_DEFAULT ({self.page_size_default}) must be at most "
                             f"TIVCAST_PAGE_SIZE_MAX ({self.page_size_max})")
        return self

    @field_validator("rate_limit")
    @classmethod
    def _known_rate(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        limits.parse(value)  # ValueError naming the notation when it is not e.g. "30/minute"
        return value.strip()

    @field_validator("trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _comma_or_json_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [p.strip() for p in text.split(",") if p.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for proxy in value:
            if proxy != "*":
                ipaddress.ip_network(proxy)  # ValueError naming a bad address (or a network with host bits)
        return value

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
