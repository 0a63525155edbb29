"""Fixtures shared by every test layer.

- `platform`: the embedded mode (all services, relays and consumers in-process, SQLite files and the
  filesystem bus in a temporary folder), seeded with the demo group.
- `api`: an HTTP client on that platform that logs in as any demo user.
- `pg_url` / `amqp_url`: the machine's real PostgreSQL and RabbitMQ. Missing servers skip, except
  with CI=true, where they fail. `pg_url` connects as the owner of a fresh database, a role that is
  no superuser, so forced row-level security holds for it as for the services; `pg_roles` gives the
  production pair: the owner (migrations) and the service's role that owns nothing.
- PostgreSQL tests that fit it share one database per run instead: `pg_run_url` (created once,
  dropped at the end) or `pg_migrated(service)` (a service's database, migrated once per run), and
  each test works inside a transaction rolled back at its end (`joined`: every unit of work of the
  test is a SAVEPOINT in it). A fresh database per test (`pg_url`, `pg_roles`) stays for the tests
  that need real commits seen by other connections or processes: relays, consumers, the production
  topology, connections cut by the test, fifty agents claiming at once.

`CRM_TEST_CLOCK_START=2026-11-30T23:30:00+08:00 make test` runs the whole suite, and every process
it starts, with the platform clock starting at that instant (month ends, year ends, 29 February).
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.test import Client

from shared.bus.relay import wait_until

CI = os.environ.get("CI") == "true"
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# login roles of the test databases (cluster-wide, created once, kept): neither is a superuser or
# bypasses row-level security; the owner owns each test database, the app role owns nothing
PG_OWNER, PG_APP = "crm_test_owner", "crm_test_app"
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
# what the run's databases and bus namespaces are named with (runs side by side on one server keep apart)
DB_PREFIX = os.environ.get("TEST_DB_PREFIX", "crm_test_")
NS_PREFIX = os.environ.get("TEST_NS_PREFIX", "")
DEMO_PASSWORD = "demo-pass-2026"

__all__ = ["wait_until"]
pytest_plugins = ["tests.browser_fixtures"]


def pytest_configure(config) -> None:
    start = os.environ.get("CRM_TEST_CLOCK_START")
    if start:
        from datetime import datetime

        from shared import clock

        moment = datetime.fromisoformat(start)
        if moment.tzinfo is None:
            raise pytest.UsageError("CRM_TEST_CLOCK_START needs a UTC offset, e.g. 2026-11-30T23:30:00+08:00")
        clock.start_run_at(moment)


def pytest_report_header(config) -> str | None:
    from shared import clock

    return f"platform clock starts at {clock.now().isoformat()}" if os.environ.get("CRM_TEST_CLOCK_START") else None


class FrozenClock:
    """The platform clock for a test that moves it: `travel_to` stops it at that instant, so figures
    such as a response time of exactly 10 minutes hold however slowly the machine runs the steps."""

    @staticmethod
    def travel_to(moment) -> None:
        from shared import clock

        clock.freeze(moment)

    @staticmethod
    def advance(delta) -> None:
        from shared import clock

        clock.advance(delta)

    @staticmethod
    def now():
        from shared import clock

        return clock.now()

    @staticmethod
    def reset() -> None:
        from shared import clock

        clock.reset()


@contextmanager
def office_hours(hour: int = 10, tz: str | None = None) -> Iterator[None]:
    """The platform clock (of this process: the in-process live server and platforms) at `hour`:00 of the
    store's local day while the block runs, then back to the run's own time. A step that needs the day's
    report still open (18:00, `services.leads.domain.timing.report_deadline`) holds whenever the suite runs."""
    from datetime import datetime, time

    from shared import clock

    z = clock.zone(tz)
    clock.travel_to(datetime.combine(clock.now().astimezone(z).date(), time(hour), z))
    try:
        yield
    finally:
        clock.reset()


def _unavailable(what: str, exc: Exception):
    if CI:
        pytest.fail(f"{what} is required with CI=true and is not reachable: {exc}")
    pytest.skip(f"{what} not reachable: {exc}")


def embedded_env(var_dir) -> dict:
    return {"CRM_MODE": "embedded", "CRM_VAR_DIR": str(var_dir), "PATH": os.environ.get("PATH", "")}


class BufferedClient(Client):
    """A test client that reads each answer whole and closes it at once: a file the answer streams (a
    static script or style) is closed then, not left to the garbage collector (warnings are errors)."""

    def open(self, *args, **kw):
        kw.setdefault("buffered", True)
        return super().open(*args, **kw)


class Api:
    """A JSON client that remembers tokens per user."""

    def __init__(self, wsgi):
        self.client = BufferedClient(wsgi)
        self._tokens: dict[tuple[str, str], str] = {}

    def token(self, username: str, group: str = "demo", password: str = DEMO_PASSWORD) -> str:
        key = (group, username)
        if key not in self._tokens:
            r = self.client.post("/identity/api/v1/auth/login",
                                 json={"group": group, "username": username, "password": password})
            assert r.status_code == 200, r.get_data(as_text=True)
            self._tokens[key] = r.json["access_token"]
        return self._tokens[key]

    def headers(self, username: str, group: str = "demo") -> dict:
        return {"Authorization": f"Bearer {self.token(username, group)}"}

    def get(self, path: str, as_: str, group: str = "demo", **kw):
        return self.client.get(path, headers=self.headers(as_, group), **kw)

    def post(self, path: str, as_: str, json=None, group: str = "demo", **kw):
        return self.client.post(path, json=json, headers={**self.headers(as_, group), **kw.pop("headers", {})}, **kw)

    def patch(self, path: str, as_: str, json=None, group: str = "demo", **kw):
        return self.client.patch(path, json=json, headers=self.headers(as_, group), **kw)

    def put(self, path: str, as_: str, json=None, group: str = "demo", **kw):
        return self.client.put(path, json=json, headers=self.headers(as_, group), **kw)

    def delete(self, path: str, as_: str, group: str = "demo", **kw):
        return self.client.delete(path, headers=self.headers(as_, group), **kw)


#: per platform class, a var folder (SQLite files, the filesystem bus, the keys) migrated and seeded once per run
_SEEDED: dict[type, Path] = {}


def seeded_var(tmp_path_factory, cls: type | None = None) -> Path:
    """A var folder of its own (SQLite files, filesystem bus, keys) holding the demo group: a copy of one
    migrated, seeded and settled once per run by an embedded platform (`crm.embedded.Platform`, or `cls`;
    the first call builds it: migrations, demo seed, every consumer caught up; then its workers stop and its
    connections close). Copying the files instead of migrating and seeding again gives each module the same
    state a fresh start would, in a fraction of the time."""
    from crm.embedded import Platform

    cls = cls or Platform
    if cls not in _SEEDED:
        folder = tmp_path_factory.mktemp(f"seeded-{cls.__name__}")
        pf = cls(embedded_env(folder)).prepare(seed=True).start()
        pf.wait_until_consumed(timeout=120)  # once per run, on a machine that may be busy: a generous deadline
        pf.stop()
        for rt in pf.runtimes.values():  # the last connection closed checkpoints SQLite's write-ahead log
            rt.db.engine.dispose()
        _SEEDED[cls] = folder
    var = tmp_path_factory.mktemp("var")
    shutil.copytree(_SEEDED[cls], var, dirs_exist_ok=True)
    return var


def seeded_platform(tmp_path_factory, cls: type | None = None):
    """A started embedded platform (`crm.embedded.Platform`, or `cls`) on a `seeded_var` of its own; the start
    itself (workers, consumers, today's daily jobs) runs on the copy."""
    from crm.embedded import Platform

    cls = cls or Platform
    pf = cls(embedded_env(seeded_var(tmp_path_factory, cls))).start()
    pf.wait_until_consumed()
    return pf


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """The embedded platform with the demo group, shared by the tests of one module."""
    pf = seeded_platform(tmp_path_factory)
    yield pf
    pf.stop()


@pytest.fixture(scope="module")
def api(platform) -> Api:
    return Api(platform.wsgi())


def store_id(code: str, group: str = "demo") -> str:
    from services.identity.entrypoints.seed import stable_id

    return stable_id("store", f"{group}/{code}")


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.autocommit = True
            for role in (PG_OWNER, PG_APP):
                _ensure_role(conn, role)
    except Exception as exc:  # noqa: BLE001
        _unavailable("PostgreSQL", exc)
    return PG_ADMIN_URL


def _ensure_role(conn, role: str) -> None:
    """Create a plain login role unless it exists (another test run may be creating it right now)."""
    import psycopg

    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
        return
    try:
        conn.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS')
    except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        pass


@pytest.fixture
def pg_url(pg_admin_url):
    """A fresh PostgreSQL database for one test, dropped afterwards; a SQLAlchemy URL of its owner."""
    yield from _pg_database(pg_admin_url)


@pytest.fixture
def pg_roles(pg_admin_url):
    """A fresh database as in production: (owner URL for migrations, URL of the service's role)."""
    for owner in _pg_database(pg_admin_url):
        yield owner, as_role(owner, PG_APP)


@pytest.fixture(scope="session")
def pg_run_url(pg_admin_url):
    """One database for the whole run (its owner's URL), for tests that each work in a rolled-back
    transaction (`joined`); dropped when the run ends."""
    yield from _pg_database(pg_admin_url)


@pytest.fixture(scope="session")
def pg_migrated(pg_admin_url, tmp_path_factory):
    """`pg_migrated(service)` → (owner URL, service role URL) of that service's database for the whole
    run, migrated once (as in production: by the owner; the service's role owns nothing)."""
    from importlib import import_module

    from shared import config

    made: dict[str, tuple[str, str]] = {}
    databases = []

    def get(svc: str) -> tuple[str, str]:
        if svc not in made:
            databases.append(_pg_database(pg_admin_url))
            owner = next(databases[-1])
            app = as_role(owner, PG_APP)
            env = {**embedded_env(tmp_path_factory.mktemp(svc)), f"{svc.upper()}_DATABASE_URL": app,
                   f"{svc.upper()}_MIGRATE_DATABASE_URL": owner}
            rt = import_module(f"services.{svc}.bootstrap").build(config.load(svc, env))
            rt.migrate()
            rt.db.engine.dispose()
            made[svc] = (owner, app)
        return made[svc]

    yield get
    for database in databases:
        next(database, None)  # drops it


@contextmanager
def joined(db) -> Iterator:
    """Every session of `db` (a `shared.db.Database`) inside one transaction on one connection, rolled
    back at the end; a session's commit releases a SAVEPOINT, its rollback returns to it (SQLAlchemy's
    "Joining a Session into an External Transaction"). Yields the connection: read through it, not
    through `db.engine`, to see what the test wrote."""
    saved = dict(db.factory.kw)
    with db.engine.connect() as conn:
        outer = conn.begin()
        db.factory.configure(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield conn
        finally:
            db.factory.kw.clear()
            db.factory.kw.update(saved)
            outer.rollback()


def as_role(url: str, role: str) -> str:
    """The same database URL, logged in as `role` (the test server trusts local connections)."""
    from sqlalchemy import make_url

    return make_url(url).set(username=role).render_as_string(hide_password=False)


def _pg_database(admin_url: str, prefix: str | None = None):
    """Create a database owned by the test owner role, closed to everyone else (as in production);
    yield its owner's URL, then drop it. Its name: `prefix` (default TEST_DB_PREFIX) and 12 hex digits."""
    import psycopg

    name = f"{DB_PREFIX if prefix is None else prefix}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{PG_OWNER}"')
        conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield as_role(f"{base}/{name}", PG_OWNER)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def amqp_url() -> str:
    from kombu import Connection

    try:
        with Connection(AMQP_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001
        _unavailable("RabbitMQ", exc)
    return AMQP_URL


@pytest.fixture
def bus_namespace(monkeypatch, amqp_url):
    """A private exchange/queue namespace on the real RabbitMQ, deleted after the test."""
    ns = f"{NS_PREFIX}t{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("BUS_NAMESPACE", ns)
    yield ns
    delete_namespace(amqp_url, ns)


def delete_namespace(amqp_url: str, ns: str) -> None:
    """Remove a test namespace's queues and exchanges from RabbitMQ (via the AMQP channel)."""
    from kombu import Connection

    from shared.config import SERVICES

    with Connection(amqp_url) as conn:
        ch = conn.channel()
        for svc in SERVICES + ("bench", "test"):
            for q in (f"{ns}.{svc}", f"{ns}.{svc}.dlq"):
                try:
                    ch.queue_delete(q)
                except Exception:  # noqa: BLE001
                    ch = conn.channel()
        for ex in (f"{ns}.events", f"{ns}.dlx"):
            try:
                ch.exchange_delete(ex)
            except Exception:  # noqa: BLE001
                ch = conn.channel()
