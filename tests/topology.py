"""The production topology on this machine, for the tests that drive it (tests/e2e, tests/faults).

As in deploy/docker-compose.yml: each service's API under gunicorn and its `crm worker` (outbox relay
and consumer) as separate processes, on PostgreSQL (a database per service) and RabbitMQ (a namespace
of the test's own). `crm migrate` runs as the owner of each database; the APIs and workers connect as
a role that owns nothing, under forced row-level security. Each process can be killed and started
again (`Proc`), and a gunicorn master's workers are found by their parent pid, for the fault tests.
"""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from shared.auth import ensure_keypair
from shared.config import SERVICES
from tests.conftest import NS_PREFIX, PG_APP, _pg_database, as_role, delete_namespace, wait_until

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """One long-lived process of the topology, which a test may kill and start again (same log, appended)."""

    def __init__(self, name: str, argv: list, env: dict, log: Path):
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.popen: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> Proc:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT)
        self.starts += 1
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """kill -9: no goodbye, nothing flushed, no ack sent."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(30)

    def stop(self) -> None:
        if self.popen is None:
            return
        if self.alive():
            self.popen.terminate()
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)

    def children(self) -> list[int]:
        """The pids whose parent is this process (a gunicorn master's workers)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == self.pid and fields[0] != "Z":
                found.append(int(stat.parent.name))
        return sorted(found)


class Topology:
    """The running processes, and `/<service>/...` routed to that service's gunicorn as the gateway does."""

    def __init__(self, env: dict, ports: dict[str, int], apis: dict[str, Proc], workers: dict[str, Proc], logs: Path):
        self.env, self.ports, self.apis, self.workers, self.logs = env, ports, apis, workers, logs
        self.http = requests.Session()
        self.password = ""
        self.started_in = 0.0  # s, from the first migration to seeded

    @property
    def namespace(self) -> str:
        return self.env["BUS_NAMESPACE"]

    def database_url(self, service: str) -> str:
        """The URL the service itself connects with (the role that owns nothing)."""
        return self.env[f"{service.upper()}_DATABASE_URL"]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[path.split('/')[1]]}{path}"

    def login(self, username: str, password: str | None = None, group: str = "demo") -> dict:
        r = self.http.post(self.url("/identity/api/v1/auth/login"),
                           json={"group": group, "username": username, "password": password or self.password}, timeout=30)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def get(self, path, headers):
        return self.http.get(self.url(path), headers=headers, timeout=30)

    def post(self, path, headers, json):
        return self.http.post(self.url(path), headers=headers, json=json, timeout=30)

    def healthy(self) -> bool:
        try:
            return all(requests.get(self.url(f"/{s}/healthz"), timeout=5).status_code == 200 for s in SERVICES)
        except requests.RequestException:
            return False

    def crm(self, *args: str, **kw) -> subprocess.CompletedProcess:
        """Run a `crm` command with the topology's environment."""
        return subprocess.run([BIN / "crm", *args], env=self.env, cwd=ROOT, timeout=kw.pop("timeout", 180), **kw)

    def tracebacks(self) -> str:
        """The tail of every log that holds a Python traceback."""
        out = []
        for f in sorted(self.logs.glob("*.log")):
            text = f.read_text(errors="replace")
            if "Traceback" in text:
                out.append(f"--- {f.name}\n{text[-3000:]}")
        return "\n".join(out)


@contextmanager
def production_topology(tmp: Path, pg_admin_url: str, amqp_url: str, *, prefix: str = "e2e",
                        api_workers: int | dict[str, int] = 2, seed: bool = True,
                        report_tracebacks: bool = True, ports: dict[str, int] | None = None,
                        env_extra: dict[str, str] | None = None, serve: bool = True,
                        start_timeout: float = 180.0, db_prefix: str | None = None) -> Iterator[Topology]:
    """Start every service's API and worker on fresh databases and a fresh bus namespace; seed the demo
    group (its users get a random password, `Topology.password`); stop and drop it all afterwards.

    `api_workers`: gunicorn workers per API, for every service or by service (default 2); `ports`: the
    APIs' ports by service (default: free ones); `env_extra`: more environment for every process;
    `serve=False`: the workers only (nothing serves HTTP; the seed is the `crm seed` command's);
    `start_timeout`: seconds for the APIs to answer, and again for the seed (a loaded machine needs more);
    `db_prefix`: the databases' names' prefix (default TEST_DB_PREFIX)."""
    per_service = api_workers if isinstance(api_workers, dict) else dict.fromkeys(SERVICES, api_workers)
    ensure_keypair(tmp / "jwt-private.pem", tmp / "jwt-public.pem")
    ns = f"{NS_PREFIX}{prefix}{uuid.uuid4().hex[:8]}"
    # databases of their own: every service runs as separate processes that commit (not one rolled-back transaction)
    dbs = {svc: _pg_database(pg_admin_url, db_prefix) for svc in SERVICES}
    env = dict(os.environ, CRM_MODE="production", BUS_URL=amqp_url, CRM_ALLOW_GUEST_BROKER="1", CRM_ALLOW_TEST_CLOCK="1",
               SECRET_KEY=secrets.token_urlsafe(48), JWT_PUBLIC_KEY_FILE=str(tmp / "jwt-public.pem"),
               JWT_PRIVATE_KEY_FILE=str(tmp / "jwt-private.pem"), BUS_NAMESPACE=ns, PYTHONPATH=str(ROOT),
               LOG_LEVEL="WARNING", **(env_extra or {}))
    env.pop("CRM_VAR_DIR", None)
    t0 = time.monotonic()
    owners = {}
    for svc, gen in dbs.items():
        owners[f"{svc.upper()}_MIGRATE_DATABASE_URL"] = owner = next(gen)
        env[f"{svc.upper()}_DATABASE_URL"] = as_role(owner, PG_APP)
    logs = tmp / "logs"
    logs.mkdir(exist_ok=True)
    apis: dict[str, Proc] = {}
    workers: dict[str, Proc] = {}
    topo = None
    try:
        subprocess.run([BIN / "crm", "migrate", "--all"], env={**env, **owners}, check=True, cwd=ROOT, timeout=300)
        ports = dict(ports) if ports else {svc: free_port() for svc in SERVICES}
        for svc in SERVICES:
            argv = [BIN / "gunicorn", "-c", "python:shared.gunicorn_conf", "-w", str(per_service.get(svc, 2)), "-b",
                    f"127.0.0.1:{ports[svc]}", f"services.{svc}.bootstrap:create_app()"]
            if serve:
                apis[svc] = Proc(f"{svc}-api", argv, env, logs / f"{svc}-api.log").start()
            workers[svc] = Proc(f"{svc}-worker", [BIN / "crm", "worker", svc], env,
                                logs / f"{svc}-worker.log").start()
        topo = Topology(env, ports, apis, workers, logs)
        if serve:
            wait_until(topo.healthy, timeout=start_timeout, interval=0.5)
        if seed:
            topo.password = secrets.token_urlsafe(16)
            topo.crm("seed", f"--password={topo.password}", check=True, timeout=start_timeout)
        topo.started_in = time.monotonic() - t0
        yield topo
    finally:
        for proc in [*apis.values(), *workers.values()]:
            proc.stop()
        for gen in dbs.values():
            next(gen, None)
        delete_namespace(amqp_url, ns)
        if report_tracebacks and topo is not None:
            print(topo.tracebacks())
