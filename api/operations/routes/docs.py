"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), working offline: their scripts and styles ship in the
package (``api/dashboard/vendor``, vendored from npm by ``scripts/vendor_docs.sh``) and are served by the
dashboard's asset route under their content hash. Nothing is fetched from a CDN."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from api.operations.routes.dashboard import ASSET_ROOT, ASSETS

router = APIRouter(include_in_schema=False)
NO_ICON = "data:,"  # no favicon request at all (FastAPI's default points at its website)


def asset_url(path: str) -> str:
    return f"{ASSET_ROOT}{path}?v={ASSETS[path].digest}"


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API documentation",
        swagger_js_url=asset_url("vendor/swagger-ui-bundle.js"),
        swagger_css_url=asset_url("vendor/swagger-ui.css"),
        swagger_favicon_url=NO_ICON,
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from validator.swagger.io
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API reference",
        redoc_js_url=asset_url("vendor/redoc.standalone.js"),
        redoc_favicon_url=NO_ICON,
        with_google_fonts=False,
    )
