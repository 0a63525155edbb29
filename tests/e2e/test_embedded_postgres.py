"""`CRM_EMBEDDED_ENGINE=postgres crm serve`: the embedded platform on a PostgreSQL server of its own
(the pgserver wheel, data under the var dir), reached over HTTP as `make run` is: a login, a lead
created, that lead in PostgreSQL and in the customers service (the relay's LISTEN/NOTIFY path), no
SQLite file anywhere, and the server stopped with `crm serve`."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import requests

from crm.embedded_pg import EmbeddedPostgres
from tests.conftest import DEMO_PASSWORD, embedded_env, wait_until
from tests.e2e.test_embedded_serve import serving, stop

pytestmark = [pytest.mark.e2e]


@contextmanager
def var_outside_pytest() -> Iterator[Path]:
    """A var dir of the test's own outside pytest's temporary root: run as root, the server runs as the
    `pgserver` user and must reach its data, and any pytest session starting meanwhile on the machine
    (another run, a developer's) sets `/tmp/pytest-of-<user>` back to 0700 under it."""
    path = Path(tempfile.mkdtemp(prefix="crm-embedded-pg-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def served():
    """`crm serve --processes 2` on PostgreSQL where the demo group exists already (seeded here first,
    so that the test does not spend minutes playing the demo activity); (address, var dir, server, process)."""
    with var_outside_pytest() as var:
        pg = EmbeddedPostgres(var)
        env = {**embedded_env(var), **pg.start(), "CRM_EMBEDDED_ENGINE": "postgres"}
        try:
            with serving(var, env, processes=2, timeout=300) as (base, proc):
                yield base, var, pg, proc
        finally:
            pg.stop()  # if `crm serve` could not


def test_a_lead_created_over_http_is_saved_in_postgresql_and_reaches_customers(served):
    base, var, pg, _ = served
    r = requests.post(f"{base}/identity/api/v1/auth/login", timeout=120,
                      json={"group": "demo", "username": "sh-vw-jd.sales1", "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = requests.post(f"{base}/leads/api/v1/leads", headers=auth, timeout=60,
                      json={"name": "吴先生", "phone": "13677009901", "source": "walk_in"})
    assert r.status_code == 201, r.text
    lead_id = r.json()["id"]

    with psycopg.connect(pg.admin_url("crm_leads")) as conn:  # the superuser: above the tenant policies
        assert conn.execute("SELECT count(*) FROM leads WHERE id = %s", (lead_id,)).fetchone() == (1,)

    def known_to_customers() -> bool:
        return bool(requests.get(f"{base}/customers/api/v1/customers", params={"phone": "13677009901"},
                                 headers=auth, timeout=60).json())

    assert wait_until(known_to_customers, timeout=60, interval=0.5)
    assert not list(var.rglob("*.sqlite")), "the services wrote SQLite files"


def test_stopping_crm_serve_stops_its_postgresql(served):
    base, var, pg, proc = served
    server_pid = int((var / "pg" / "postmaster.pid").read_text().split()[0])
    stop(proc)
    assert proc.returncode is not None

    def gone() -> bool:
        try:
            os.kill(server_pid, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{server_pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"

    assert wait_until(gone, timeout=60, interval=0.2)
    assert not (var / "pg" / "postmaster.pid").exists()


def test_a_postmaster_pid_left_by_a_reboot_does_not_stop_the_next_start(served):
    """After a reboot the pid in a stale `postmaster.pid` may be another program's (here: this test's
    own process); pgserver alone would take it for the server and hand out a socket nobody serves."""
    _, var, _, proc = served
    if proc.poll() is None:
        stop(proc)
    pid_file = var / "pg" / "postmaster.pid"
    pg_dir = str(var / "pg")
    pid_file.write_text("\n".join([str(os.getpid()), pg_dir, "0", "5432", pg_dir, "", "  0 0", "ready", ""]))
    pg = EmbeddedPostgres(var)
    try:
        env = pg.start()
        with psycopg.connect(pg.admin_url("crm_leads")) as conn:
            assert conn.execute("SELECT count(*) FROM leads").fetchone()[0] >= 1  # the data of the first test
        assert env["LEADS_DATABASE_URL"].startswith("postgresql+psycopg://crm_app@/crm_leads?host=")
    finally:
        pg.stop()
    assert not pid_file.exists()


def test_a_start_that_pgserver_gave_up_on_is_waited_for(monkeypatch):
    """pgserver gives `pg_ctl start` 10 s; on a loaded machine a start took 9.2 s. A server still starting
    when pgserver gives up comes up by itself, and the start waits for it instead of failing."""

    import pgserver.postgres_server as pgserver_module

    with var_outside_pytest() as var:
        _gives_up_then_starts(pgserver_module, monkeypatch, var)


def _gives_up_then_starts(pgserver_module, monkeypatch, var: Path) -> None:
    pg = EmbeddedPostgres(var)
    pg.start()  # initdb, then a stop: the case is a restart
    pg.stop()
    real = pgserver_module.pg_ctl

    def gives_up(args, **kw):
        if args[-1] != "start":
            return real(args, **kw)
        real(["-W" if a == "-w" else a for a in args], **kw)  # the server is started, not waited for
        raise subprocess.TimeoutExpired("pg_ctl", 10)

    monkeypatch.setattr(pgserver_module, "pg_ctl", gives_up)
    try:
        pg.start()
        with psycopg.connect(pg.admin_url("crm_identity")) as conn:
            assert conn.execute("SELECT current_setting('max_connections')").fetchone() == ("300",)
    finally:
        pg.stop()
    assert not (var / "pg" / "postmaster.pid").exists()
