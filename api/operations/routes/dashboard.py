"""The built-in dashboard: ``GET /`` serves the page, ``/dashboard/...`` its assets (shipped in ``api/dashboard``).

The page names each asset with its content hash (``/dashboard/app.js?v=<hash>``), so an asset requested
with the current hash is cached for a year (``immutable``) and a new release of the package is picked up
at once; the page itself revalidates on every load (``no-cache`` + ``ETag``). Everything is read once,
at import, from the installed package: nothing is fetched from elsewhere at run time.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import APIRouter, Request, Response

from api.errors import NotFound
from api.web.cache import matches

router = APIRouter(include_in_schema=False)

ASSET_ROOT = "/dashboard/"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# The page loads scripts, styles and data from this origin only; no inline script or style attribute.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_./-]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    digest: str  # first 16 hex digits of the SHA-256 of the body

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'


def _asset(body: bytes, suffix: str) -> Asset:
    return Asset(body, MEDIA_TYPES[suffix], hashlib.sha256(body).hexdigest()[:16])


def _walk(folder: Traversable, prefix: str = "") -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    for item in folder.iterdir():
        name = f"{prefix}{item.name}"
        if item.is_dir():
            found.update(_walk(item, f"{name}/"))
        else:
            suffix = "." + item.name.rsplit(".", 1)[-1] if "." in item.name else ""
            if suffix in MEDIA_TYPES and name != "index.html":
                found[name] = _asset(item.read_bytes(), suffix)
    return found


def load_dashboard() -> tuple[Asset, dict[str, Asset]]:
    """The page (with each ``{{ asset }}`` replaced by its hashed URL) and the assets by relative path."""
    folder = resources.files("api").joinpath("dashboard")
    assets = _walk(folder)

    def url(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in assets:
            raise LookupError(f"api/dashboard/index.html refers to {name!r}, which is not shipped")
        return f"{ASSET_ROOT}{name}?v={assets[name].digest}"

    page = PLACEHOLDER.sub(url, folder.joinpath("index.html").read_text(encoding="utf-8"))
    return _asset(page.encode(), ".html"), assets


PAGE, ASSETS = load_dashboard()


def _serve(request: Request, asset: Asset, cache_control: str, extra: dict[str, str] | None = None) -> Response:
    headers = {"ETag": asset.etag, "Cache-Control": cache_control, **(extra or {})}
    if matches(request, asset.etag):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get("/")
async def dashboard(request: Request) -> Response:
    """The dashboard page."""
    return _serve(request, PAGE, REVALIDATE, SECURITY_HEADERS)


@router.get(ASSET_ROOT + "{path:path}")
async def dashboard_asset(path: str, request: Request) -> Response:
    """A script, style sheet or licence text of the dashboard; immutable when asked for by its hash."""
    asset = ASSETS.get(path)
    if asset is None:
        raise NotFound(f"no dashboard asset {path!r}")
    current = request.query_params.get("v") == asset.digest
    return _serve(request, asset, IMMUTABLE if current else REVALIDATE, {"X-Content-Type-Options": "nosniff"})
