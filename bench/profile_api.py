"""The leads API's create and list in-process, on PostgreSQL, CPU per request and a cProfile (issue 16).

    PYTHONPATH=. .venv/bin/python bench/profile_api.py                    # 300 creates, 300 lists, CPU ms each
    PYTHONPATH=. .venv/bin/python bench/profile_api.py --profile /tmp/api # + /tmp/api-create.prof, -list.prof

The embedded platform (every service, the filesystem bus) on fresh databases of the machine's
PostgreSQL, each service connecting as the role that owns nothing (as in production); the demo group
seeded and settled, then the workers stopped. The leads app is driven with Flask's test client as
four consultants (as `bench/pipeline.py`): `POST /leads/api/v1/leads`, then `GET
/leads/api/v1/leads?per_page=50` (`--per-page`), round robin over the consultants; CPU is this process's (no HTTP
server, no load generator in it), so the figures are below the pipeline's, but they rank what costs.
`--ttl` sets the session version check's cache (default 0: every request reads its user's state;
1, as in production: four users in one process, every request within a second of its user's last,
so none reads it; the pipeline bench's two workers fall in between).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import ExitStack  # noqa: E402

from crm import datagen  # noqa: E402
from shared.config import SERVICES  # noqa: E402
from tests.conftest import PG_ADMIN_URL, PG_APP, PG_OWNER, DEMO_PASSWORD, _ensure_role, _pg_database, as_role  # noqa: E402

CONSULTANTS = ("sh-toyota-pd.sales1", "sh-lexus-xh.sales1", "hz-vw-xh.sales1", "sh-toyota-pd.sales2")
LIST = "/leads/api/v1/leads"
RNG = random.Random(2026)


def lead_body() -> dict:
    return {"name": "张三", "phone": "+86 " + datagen.phone(RNG), "source": "walk_in",
            "model": RNG.choice(datagen.MODELS["toyota"])[0]}


def platform(stack: ExitStack):
    """The embedded platform on fresh PostgreSQL databases, seeded and settled, its workers stopped."""
    import psycopg

    from crm.embedded import Platform

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for role in (PG_OWNER, PG_APP):
            _ensure_role(conn, role)
    env = {"CRM_MODE": "embedded", "CRM_VAR_DIR": tempfile.mkdtemp(prefix="crm-profile-api-")}
    for svc in SERVICES:
        databases = _pg_database(PG_ADMIN_URL)
        owner = next(databases)
        stack.callback(next, databases, None)  # drops it
        env[f"{svc.upper()}_DATABASE_URL"] = as_role(owner, PG_APP)
        env[f"{svc.upper()}_MIGRATE_DATABASE_URL"] = owner
    pf = Platform(env).prepare(seed=True).start()
    pf.wait_until_consumed(timeout=300)
    pf.stop()
    stack.callback(lambda: [rt.db.engine.dispose() for rt in pf.runtimes.values()])
    return pf


def cpu_ms_per(client, n: int, request, prof: cProfile.Profile | None) -> float:
    gc.collect()
    t = time.process_time()
    if prof is not None:
        prof.enable()
    for i in range(n):
        request(client, i)
    if prof is not None:
        prof.disable()
    return (time.process_time() - t) * 1000 / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=300, help="requests of each kind")
    ap.add_argument("--ttl", type=float, default=0.0, help="the session check's cache, seconds")
    ap.add_argument("--per-page", type=int, default=50, help="leads a list asks for (1: the fixed cost of a list)")
    ap.add_argument("--profile", default="", help="file prefix: write <prefix>-create.prof and <prefix>-list.prof")
    args = ap.parse_args()
    from shared import sessions
    from tests.conftest import BufferedClient

    with ExitStack() as stack:
        pf = platform(stack)
        pf.runtimes["leads"].sessions.ttl = args.ttl
        sessions.CACHE_SECONDS = args.ttl
        client = BufferedClient(pf.wsgi())
        tokens = []
        for user in CONSULTANTS:
            r = client.post("/identity/api/v1/auth/login", json={"group": "demo", "username": user,
                                                                 "password": DEMO_PASSWORD})
            tokens.append({"Authorization": f"Bearer {r.json['access_token']}"})

        def create(c, i):
            r = c.post("/leads/api/v1/leads", json=lead_body(), headers=tokens[i % 4])
            assert r.status_code == 201, r.get_data(as_text=True)

        def page(c, i):
            r = c.get(f"{LIST}?per_page={args.per_page}", headers=tokens[i % 4])
            assert r.status_code == 200 and len(r.json) == args.per_page, (r.status_code, len(r.json))

        for i in range(250):  # warm up, and full pages for every consultant
            create(client, i)
        for i in range(20):
            page(client, i)
        for name, request in (("create", create), ("list", page)):
            prof = cProfile.Profile(time.process_time) if args.profile else None
            ms = cpu_ms_per(client, args.n, request, prof)
            print(f"{name:6}: {ms:.2f} ms CPU per request ({args.n} requests, session cache {args.ttl:g} s)",
                  flush=True)
            if prof is not None:
                Path(args.profile).parent.mkdir(parents=True, exist_ok=True)
                prof.dump_stats(f"{args.profile}-{name}.prof")


if __name__ == "__main__":
    main()
