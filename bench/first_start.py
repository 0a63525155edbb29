"""How long the first `make run` keeps the port closed (issue 14, point 14: it must answer within 5 s).

Starts `crm serve` (what `make run` starts) on a fresh, empty var dir `--runs` times and measures, from
the moment the command is started, how long until the port answers an HTTP request (the start's
progress page); prints each run, the median and the maximum beside the bound. With `--until-ready` the
last run also waits until the platform serves (`/identity/healthz` answers 200: migrated, demo group
and two months of demo activity seeded) and prints that time and the progress it saw on the way.

    .venv/bin/python bench/first_start.py --runs 5
    .venv/bin/python bench/first_start.py --runs 1 --until-ready
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOUND = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, accept: str = "text/html") -> tuple[int, str]:
    req = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def one_run(until_ready: bool, processes: int) -> tuple[float, float | None]:
    var = tempfile.mkdtemp(prefix="crm-first-start-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CRM_MODE": "embedded", "CRM_VAR_DIR": var}
    log = open(Path(var) / "serve.log", "wb")
    started = time.monotonic()
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "crm"), "serve", "--port", str(port),
                             "--processes", str(processes)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"crm serve exited with {proc.returncode}; see {var}/serve.log")
            try:
                status, body = get(f"{base}/")
                break
            except (ConnectionError, urllib.error.URLError):
                time.sleep(0.02)
        first = time.monotonic() - started
        assert status == 503 and 'id="starting"' in body, (status, body[:200])
        ready = None
        if until_ready:
            last = -1
            while True:
                status, body = get(f"{base}/identity/healthz", accept="application/json")
                if status == 200:
                    ready = time.monotonic() - started
                    break
                pct = json.loads(body)["progress"]["percent"]
                if pct != last and pct % 10 == 0:
                    print(f"  {time.monotonic() - started:6.1f} s  {pct}%", flush=True)
                last = pct
                time.sleep(1)
        return first, ready
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the whole group: the serving processes too
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--until-ready", action="store_true")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    firsts = []
    for n in range(args.runs):
        first, ready = one_run(args.until_ready and n == args.runs - 1, args.processes)
        firsts.append(first)
        print(f"run {n + 1}: first answer after {first:.2f} s" + (f", serving after {ready:.0f} s" if ready else ""),
              flush=True)
    print(f"first answer: median {statistics.median(firsts):.2f} s, max {max(firsts):.2f} s (bound {BOUND:.0f} s)"
          f" → {'met' if max(firsts) < BOUND else 'NOT met'}; load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
