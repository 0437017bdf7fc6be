"""Shared helpers for the HTTP benchmarks: start a tivcast server with a bare endpoint, run wrk."""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

WRK = shutil.which("wrk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(script: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script), "--serve", str(port)], env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{base}/v1/countries/JPN", timeout=1).read()
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def wrk(url: str, seconds: int, headers: dict[str, str] | None = None, connections: int = 16,
        script: str | None = None) -> float:
    """Requests per second of ``url`` under wrk (``script``: a Lua file choosing each request's path)."""
    if WRK is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    args = [WRK, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if script:
        args += ["-s", script]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def side_by_side(pairs: dict[str, tuple[str, str, dict[str, str]]], rounds: int, seconds: int) -> None:
    """Alternate each measured URL with its bare twin, ``rounds`` times; print medians and ratios."""
    for name, (url, bare, headers) in pairs.items():
        wrk(url, 1, headers)
        wrk(bare, 1, headers)  # warm both
        real_rps, bare_rps = [], []
        for _ in range(rounds):
            real_rps.append(wrk(url, seconds, headers))
            bare_rps.append(wrk(bare, seconds, headers))
        real, base = statistics.median(real_rps), statistics.median(bare_rps)
        print(f"{name}: {real:,.0f} req/s vs bare {base:,.0f} req/s -> ratio {real / base:.2f}")
