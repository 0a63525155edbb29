"""How long until an ended session stops working on every service (issue 11: within 5 s).

Embedded mode in a temporary folder (the `make run` topology: every service, relay and consumer in one
process, the filesystem bus). For each of `--rounds` fresh store managers: log in, have the group
admin deactivate them, and poll every service's API with the old token until all five answer 401;
prints the time from the admin's answer to the last service refusing (p50, max) beside the bound.

    .venv/bin/python bench/sessions.py --rounds 10
"""
from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR, ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from werkzeug.test import Client  # noqa: E402

BOUND = 5.0
PROBES = ["/identity/api/v1/auth/me", "/leads/api/v1/leads?per_page=1", "/customers/api/v1/customers?q=139",
          "/callcenter/api/v1/complaints", "/analytics/api/v1/summary"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    from services.identity.entrypoints.seed import DEMO_PASSWORD, stable_id
    from crm.embedded import Platform

    with tempfile.TemporaryDirectory() as var:
        env = {"CRM_MODE": "embedded", "CRM_VAR_DIR": var, "PATH": os.environ.get("PATH", "")}
        platform = Platform(env).prepare(seed=True).start()
        platform.wait_until_consumed(timeout=120)
        c = Client(platform.wsgi())

        def login(username: str, password: str) -> dict:
            r = c.post("/identity/api/v1/auth/login", json={"group": "demo", "username": username, "password": password})
            return {"Authorization": f"Bearer {r.json['access_token']}"}

        admin = login("hq.admin", DEMO_PASSWORD)
        took = []
        try:
            for _ in range(args.rounds):
                name = f"bench-{uuid.uuid4().hex[:8]}.manager"
                u = c.post("/identity/api/v1/users", headers=admin, json={
                    "username": name, "name": "bench", "role": "store_manager", "password": "a-long-password-1",
                    "store_id": stable_id("store", "demo/sh-toyota-pd")}).json
                platform.wait_until_consumed()
                token = login(name, "a-long-password-1")
                assert all(c.get(p, headers=token).status_code == 200 for p in PROBES)
                c.patch(f"/identity/api/v1/users/{u['id']}", headers=admin, json={"active": False})
                start, pending = time.monotonic(), set(PROBES)
                while pending:
                    pending = {p for p in pending if c.get(p, headers=token).status_code != 401}
                    if time.monotonic() - start > 60:
                        raise SystemExit(f"still accepted after 60 s: {sorted(pending)}")
                took.append(time.monotonic() - start)
        finally:
            platform.stop()
    print(f"deactivation → refused by all 5 services: p50 {statistics.median(took):.2f} s, max {max(took):.2f} s "
          f"over {len(took)} rounds (bound {BOUND:.0f} s)")


if __name__ == "__main__":
    main()
