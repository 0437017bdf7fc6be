"""Benchmark: the cached-forecast hot path in Redis mode, against a bare endpoint in the same server.

Starts Redis-mode tivcast (the machine's Redis, a private key prefix and queue) with one real Celery
worker, computes Japan's baseline forecast once, then measures with wrk, side by side in one run:

* GET /v1/forecasts/{key}          (warm cache)             vs a bare endpoint returning the same bytes
* the same with If-None-Match      (304 revalidation)       vs a bare endpoint returning the same 304
* GET /v1/forecasts/latest?country=JPN&scenario=baseline     vs the same bare endpoint as the first

Targets: >= 0.8, >= 0.9 and >= 0.7. It also prints whether the API process imported prophet or cmdstanpy.
Usage: python bench/http_cached.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from fastapi import Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import side_by_side, start

REDIS = os.environ.get("TIVCAST_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
LATEST = "/v1/forecasts/latest?country=JPN&scenario=baseline"


def serve(port: int) -> None:
    import uvicorn

    from api.app import create_app
    from api.web.cache import date_header

    app = create_app()
    bare: dict[str, bytes] = {}

    @app.get("/bench/bare/{key}")
    async def bare_endpoint(key: str, request: Request) -> Response:
        if "body" not in bare:
            bare["body"] = await app.state.tivcast.service.get_result(key)
        headers = {"ETag": f'"{key}"', "Cache-Control": "public, max-age=31536000, immutable"}
        if request.headers.get("if-none-match") == f'"{key}"':
            return Response(status_code=304, headers=headers)
        return Response(bare["body"], media_type="application/json", headers=headers)

    @app.get("/bench/modules")
    async def modules() -> dict[str, bool]:
        return {name: name in sys.modules for name in ("prophet", "cmdstanpy", "pandas", "celery")}

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        """A bare endpoint below routing, like tivcast's own fast path: the same bytes, no framework."""
        if scope["type"] == "http" and scope["path"].startswith("/bench/raw/"):
            key = scope["path"].rsplit("/", 1)[1]
            if "raw" not in bare:
                bare["raw"] = await app.state.tivcast.service.get_result(key)
            headers = [(b"etag", f'"{key}"'.encode()), (b"cache-control", b"public, max-age=31536000, immutable"),
                       date_header()]
            if (b"if-none-match", f'"{key}"'.encode()) in scope["headers"]:
                await send({"type": "http.response.start", "status": 304, "headers": headers})
                await send({"type": "http.response.body", "body": b""})
                return
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(bare["raw"])).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": bare["raw"]})
            return
        await app(scope, receive, send)

    # as tivcast serve runs it: the app sends Date (api.web.cache.date_header), so the raw endpoint sends it too
    uvicorn.run(outer, host="127.0.0.1", port=port, log_level="warning", access_log=False, date_header=False)


def fetch(url: str, data: bytes | None = None) -> tuple[int, Any, bytes]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def wait_result(base: str, key: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, body = fetch(f"{base}/v1/jobs/{key}")
        state = json.loads(body)["state"] if status == 200 else "?"
        if state == "succeeded":
            return
        if state == "failed":
            raise SystemExit(f"forecast failed: {body!r}")
        time.sleep(0.5)
    raise SystemExit("forecast did not finish in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    prefix = f"tivcast-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "TIVCAST_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "TIVCAST_REDIS_URL": REDIS,
            "TIVCAST_KEY_PREFIX": prefix,
            "TIVCAST_QUEUE": prefix,
            "TIVCAST_WARM_ON_START": "false",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker", "--concurrency", "1"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        proc, base = start(Path(__file__), env)
        try:
            status, headers, body = fetch(
                base + "/v1/forecasts", json.dumps({"target": {"country": "JPN"}, "scenario": "baseline"}).encode()
            )
            assert status in (200, 202), (status, body)
            key = headers["Location"].rsplit("/", 1)[1] if status == 202 else json.loads(body)["key"]
            wait_result(base, key)
            result = fetch(f"{base}/v1/forecasts/{key}")[2]
            bare_body = fetch(f"{base}/bench/bare/{key}")
            assert result == bare_body[2], ("bare bytes differ", bare_body[0], bare_body[2][:300], result[:100])
            assert fetch(base + LATEST)[0] == 200
            print(f"result {len(result)} bytes; 1 uvicorn process (Redis mode); wrk -t1 -c16")
            inm = {"If-None-Match": f'"{key}"'}
            assert result == fetch(f"{base}/bench/raw/{key}")[2], "raw bytes differ"
            for label, bare_url in (
                ("FastAPI route", f"{base}/bench/bare/{key}"),
                ("raw ASGI", f"{base}/bench/raw/{key}"),
            ):
                print(f"-- against a bare endpoint as a {label}, returning the same bytes from memory")
                side_by_side(
                    {
                        "GET /v1/forecasts/{key} (warm)": (f"{base}/v1/forecasts/{key}", bare_url, {}),
                        "304 revalidation of {key}": (f"{base}/v1/forecasts/{key}", bare_url, inm),
                        "GET /v1/forecasts/latest": (base + LATEST, bare_url, {}),
                    },
                    args.rounds,
                    args.seconds,
                )
            modules = json.loads(fetch(base + "/bench/modules")[2])
            print(f"API process imported prophet: {modules['prophet']}, cmdstanpy: {modules['cmdstanpy']}")
        finally:
            for p in (proc, worker):
                p.terminate()
                p.wait()
            _cleanup(prefix)


def _cleanup(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    for name in client.scan_iter(f"{prefix}*"):
        client.delete(name)


if __name__ == "__main__":
    main()
