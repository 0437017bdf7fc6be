"""Benchmark: data reads against bare endpoints, side by side in one run (wrk as the load generator).

Six servers, one uvicorn process each, started by this script:

* tivcast, response caches off (``TIVCAST_BODY_CACHE_ENTRIES=0``), default JSON access log on;
* tivcast, default configuration (caches on, access log on), logging as ``tivcast serve`` does
  (JSON lines on stderr, here sent to /dev/null so the terminal is not the bottleneck);
* the same with ``TIVCAST_ACCESS_LOG=false``;
* a bare FastAPI app *outside* tivcast's middleware and a raw ASGI app, each returning the same bytes
  (the body; a second raw app also sends the cached answer's headers, for context).

Printed, each as the median of alternating rounds:

1. uncached observations: a client cycling through 2,000 distinct valid queries (countries x years) vs a
   bare FastAPI route returning a page of the same size. Target >= 0.3.
2. a cached read in the default configuration vs a raw ASGI endpoint returning the same bytes. Target >= 0.6.
   For context, the same read vs a raw app that also sends the cached answer's headers.
3. the access log's share of a cached read's cost: 1 - rps(log on) / rps(log off). Target <= 0.15.
4. in process, without a server: microseconds of a cached read through the app (log on, off) and of a raw app.

Usage: python bench/http_reads.py [--seconds 5] [--rounds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import wrk

CACHED = "/v1/datasets/arms-exports/observations?country=JPN&limit=1000"
COUNTRIES = ["JPN", "KOR", "CHN", "USA", "RUS", "FRA", "DEU", "GBR", "ITA", "ISR", "ESP", "NLD", "SWE", "TUR"]


def queries() -> list[str]:
    """2,000 distinct valid observation queries."""
    pairs = list(itertools.combinations(COUNTRIES, 2))  # 91
    spans = [(s, s + 9) for s in range(1990, 2012)]  # 22
    urls = [
        f"/v1/datasets/arms-exports/observations?country={a},{b}&start={s}&end={e}"
        for (a, b), (s, e) in itertools.product(pairs, spans)
    ]
    return urls[:2000]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_tivcast(port: int) -> None:
    import uvicorn

    from api.app import create_app
    from api.operations.log_config import uvicorn_log_config

    # as tivcast serve runs it: the app sends Date (api.web.cache.date_header), uvicorn does not
    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_config=uvicorn_log_config("info"), access_log=False,
                date_header=False)


def serve_bare(port: int, body_file: str) -> None:
    """A bare FastAPI app: no tivcast middleware, one route returning fixed bytes."""
    import uvicorn
    from fastapi import FastAPI, Response

    body = Path(body_file).read_bytes()
    app = FastAPI()

    @app.get("/bare")
    async def bare() -> Response:
        return Response(body, media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_raw(port: int, body_file: str, headers_file: str | None = None) -> None:
    """A raw ASGI app returning fixed bytes: the floor of what uvicorn can do. With ``headers_file`` (one
    ``name: value`` per line) it sends those headers instead of content type and length alone."""
    import uvicorn

    body = Path(body_file).read_bytes()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if headers_file:
        lines = Path(headers_file).read_bytes().splitlines()
        headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(b":") for line in lines)]

    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] == "lifespan":
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": body})  # type: ignore[operator]

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")


def in_process(database_url: str, which: str) -> None:
    """Print the microseconds one cached read takes through the whole app called in process (no server, no
    socket): ``which`` is ``log-on``, ``log-off`` or ``raw`` (an ASGI app sending the same kind of answer)."""
    import asyncio
    import logging.config

    from api.app import create_app
    from api.operations.log_config import uvicorn_log_config
    from api.settings import Settings

    logging.config.dictConfig(uvicorn_log_config("info"))  # as `tivcast serve` (stderr: /dev/null here)
    app = create_app(Settings(database_url=database_url, warm_on_start=False, access_log=which == "log-on"))
    path, _, query = CACHED.partition("?")
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), (b"accept", b"*/*")]

    async def raw(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    async def run() -> float:
        started: list[Any] = []
        inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()

        async def to_app(message: Any) -> None:
            started.append(message)

        lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                           inbox.get, to_app))
        await inbox.put({"type": "lifespan.startup"})
        while not started:
            await asyncio.sleep(0.01)

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            pass

        target = raw if which == "raw" else app
        best = float("inf")
        for _ in range(5):
            count, began = 20_000, time.perf_counter()
            for _ in range(count):
                scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                         "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
                         "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
                         "server": ("127.0.0.1", 8000), "state": {}}
                await target(scope, receive, send)
            best = min(best, (time.perf_counter() - began) / count)
        await inbox.put({"type": "lifespan.shutdown"})
        await lifespan
        return best * 1e6

    print(f"{asyncio.run(run()):.2f}")


def start(kind: str, env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, str(port), *extra],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    probe = "/v1/countries/JPN" if kind == "tivcast" else "/bare"
    for _ in range(600):
        try:
            urllib.request.urlopen(base + probe, timeout=1).read()
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{kind} server did not start")


def lua_cycle(paths: list[str], folder: Path) -> str:
    """A wrk script sending ``paths`` in turn (each connection starts at its own offset)."""
    listing = ",\n".join(f'"{p}"' for p in paths)
    script = folder / "cycle.lua"
    script.write_text(
        f"local paths = {{\n{listing}\n}}\nlocal i = 0\n"
        "function setup(thread) end\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )
    return str(script)


def median_pair(
    a: tuple[str, str | None], b: tuple[str, str | None], rounds: int, seconds: int, c: int
) -> tuple[float, float]:
    wrk(a[0], 1, connections=c, script=a[1])
    wrk(b[0], 1, connections=c, script=b[1])  # warm both
    first, second = [], []
    for _ in range(rounds):
        first.append(wrk(a[0], seconds, connections=c, script=a[1]))
        second.append(wrk(b[0], seconds, connections=c, script=b[1]))
    return statistics.median(first), statistics.median(second)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if args.serve:
        kind, port, *extra = args.serve
        if kind == "in-process":
            in_process(port, *extra)
            return
        {"tivcast": serve_tivcast, "bare": serve_bare, "raw": serve_raw}[kind](int(port), *extra)  # type: ignore[operator]
        return
    paths = queries()
    assert len(set(paths)) == 2000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = f"sqlite:///{folder}/bench.db"
        procs = []
        try:
            uncached, base_u = start("tivcast", {"TIVCAST_DATABASE_URL": db, "TIVCAST_BODY_CACHE_ENTRIES": "0",
                                                 "TIVCAST_WARM_ON_START": "false"})  # fmt: skip
            procs.append(uncached)
            logged, base_l = start("tivcast", {"TIVCAST_DATABASE_URL": db, "TIVCAST_WARM_ON_START": "false"})
            procs.append(logged)
            quiet, base_q = start("tivcast", {"TIVCAST_DATABASE_URL": db, "TIVCAST_WARM_ON_START": "false",
                                              "TIVCAST_ACCESS_LOG": "false"})  # fmt: skip
            procs.append(quiet)
            sample = urllib.request.urlopen(base_u + paths[0]).read()
            with urllib.request.urlopen(base_l + CACHED) as answer:
                cached_body = answer.read()
                own = [(k, v) for k, v in answer.getheaders() if k.lower() not in ("date", "server", "connection")]
            (folder / "headers.txt").write_text("".join(f"{k.lower()}: {v}\n" for k, v in own))
            for url in paths:  # every query is valid (a 4xx would stop wrk's count being meaningful)
                urllib.request.urlopen(base_u + url).read()
            (folder / "page.json").write_bytes(sample)
            (folder / "cached.json").write_bytes(cached_body)
            bare, base_b = start("bare", {}, str(folder / "page.json"))
            procs.append(bare)
            raw, base_r = start("raw", {}, str(folder / "cached.json"))
            procs.append(raw)
            raw_headers, base_h = start("raw", {}, str(folder / "cached.json"), str(folder / "headers.txt"))
            procs.append(raw_headers)
            cycle = lua_cycle(paths, folder)
            c, s, r = args.connections, args.seconds, args.rounds
            print(f"1 uvicorn process per server; wrk -t1 -c{c}; {r} alternating rounds of {s} s; medians")
            real, floor = median_pair((base_u + paths[0], cycle), (base_b + "/bare", None), r, s, c)
            print(
                f"uncached observations (2,000 distinct queries, caches off, ~{len(sample)} B): "
                f"{real:,.0f} req/s vs bare FastAPI {floor:,.0f} req/s -> ratio {real / floor:.2f} (target >= 0.3)"
            )
            on, floor = median_pair((base_l + CACHED, None), (base_r + "/bare", None), r, s, c)
            print(
                f"cached read, default config (access log on, {len(cached_body)} B): {on:,.0f} req/s vs raw ASGI "
                f"{floor:,.0f} req/s -> ratio {on / floor:.2f} (target >= 0.6)"
            )
            on, floor = median_pair((base_l + CACHED, None), (base_h + "/bare", None), r, s, c)
            print(
                f"  context: the same read vs a raw ASGI app sending its {len(own)} headers too: {on:,.0f} vs "
                f"{floor:,.0f} req/s -> ratio {on / floor:.2f}"
            )
            on, off = median_pair((base_l + CACHED, None), (base_q + CACHED, None), r, s, c)
            print(
                f"cached read, access log on vs off: {on:,.0f} vs {off:,.0f} req/s -> the log's share of a cached "
                f"read's cost {1 - on / off:.2f} (target <= 0.15)"
            )
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait()
        micros = {
            which: subprocess.run([sys.executable, __file__, "--serve", "in-process", db, which], check=True,
                                  capture_output=True, text=True).stdout.strip()
            for which in ("log-on", "log-off", "raw")
        }
        print(f"in process (no server, no socket; best of 5 x 20,000): a cached read {micros['log-on']} us with the "
              f"access log, {micros['log-off']} us without; a raw ASGI app {micros['raw']} us")


if __name__ == "__main__":
    main()
