"""Security settings fail at start-up when they are wrong, not on the first request."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.settings import Settings


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"admin_api_key": "letmein"}, "at least 16 characters"),
        ({"rate_limit": "30 per fortnight"}, "rate_limit"),
        ({"trusted_proxies": ["10.0.0.1/8"]}, "host bits"),
        ({"trusted_proxies": ["proxy.internal"]}, "trusted_proxies"),
        ({"max_body_bytes": 10}, "max_body_bytes"),
        ({"page_size_max": 50}, r"TIVCAST_PAGE_SIZE_DEFAULT \(100\) must be at most TIVCAST_PAGE_SIZE_MAX \(50\)"),
    ],
    ids=["weak key", "unknown rate", "network with host bits", "host name", "tiny body limit",
         "default page above the maximum"],
)
def test_a_wrong_value_is_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**options)  # type: ignore[arg-type]


def test_empty_environment_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIVCAST_ADMIN_API_KEY", "")
    monkeypatch.setenv("TIVCAST_RATE_LIMIT", "")
    monkeypatch.setenv("TIVCAST_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
    settings = Settings()
    assert settings.admin_api_key is None and settings.rate_limit is None
    assert settings.trusted_proxies == ["10.0.0.0/8", "127.0.0.1"]


def test_the_key_never_shows_in_a_repr_or_a_dump() -> None:
    settings = Settings(admin_api_key="s3cret-s3cret-s3cret")
    assert "s3cret" not in repr(settings) and "s3cret" not in settings.model_dump_json()
