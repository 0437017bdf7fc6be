"""Benchmark: GET observations?country=JPN (JSON, all years) against a bare endpoint in the same
server that returns the same bytes from memory. One run, wrk as the load generator; prints both
request rates and the ratio (target >= 0.5). Usage: python bench/http_reads.py [--seconds 5]."""

from __future__ import annotations

import argparse
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import side_by_side, start

PATH = "/v1/datasets/arms-exports/observations?country=JPN&limit=1000"


def serve(port: int) -> None:
    import uvicorn
    from fastapi import Response
    from starlette.concurrency import run_in_threadpool

    from api.app import create_app

    app = create_app()
    bare: dict[str, bytes] = {}

    @app.get("/bench/bare")
    async def bare_endpoint() -> Response:
        # The same bytes the real endpoint sends, fetched once, then served from memory.
        if "body" not in bare:  # off the event loop: the server must answer this inner request itself
            url = f"http://127.0.0.1:{port}{PATH}"
            bare["body"] = await run_in_threadpool(lambda: urllib.request.urlopen(url).read())
        return Response(bare["body"], media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    modes = (("response caches on (default)", "1024"), ("response caches off: database and routing every time", "0"))
    for label, entries in modes:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"TIVCAST_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "TIVCAST_BODY_CACHE_ENTRIES": entries}
            proc, base = start(Path(__file__), env)
            try:
                real = urllib.request.urlopen(base + PATH).read()
                assert real == urllib.request.urlopen(base + "/bench/bare").read(), "bare bytes differ"
                print(f"[{label}] response {len(real)} bytes; 1 uvicorn process; wrk -t1 -c16")
                pairs = {"observations?country=JPN (JSON)": (base + PATH, base + "/bench/bare", {})}
                side_by_side(pairs, args.rounds, args.seconds)
            finally:
                proc.terminate()
                proc.wait()

if __name__ == "__main__":
    main()
