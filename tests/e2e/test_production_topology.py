"""The production topology: each service as its own gunicorn process and worker process, on the
machine's PostgreSQL (a database per service) and RabbitMQ, driven over HTTP.

As in deploy/docker-compose.yml, `crm migrate` runs as the owner of each database and the APIs and
workers connect as a role that owns nothing, under forced row-level security."""
from __future__ import annotations

import subprocess
import uuid

import pytest

from shared.config import SERVICES
from shared.phones import mask
from tests.conftest import PG_APP, store_id, wait_until
from tests.topology import BIN, ROOT, production_topology

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.rabbitmq]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, pg_admin_url, amqp_url):
    with production_topology(tmp_path_factory.mktemp("prod"), pg_admin_url, amqp_url) as topo:
        yield topo


def test_the_skeleton_chain_runs_across_separate_processes(stack):
    pd = stack.login("sh-toyota-pd.sales1", stack.password)
    phone = f"137{uuid.uuid4().int % 10**8:08d}"

    def create():
        r = stack.post("/leads/api/v1/leads", pd, {"name": "跨进程客户", "phone": "+86 " + phone, "source": "walk_in"})
        return r if r.status_code == 201 else None

    lead = wait_until(create, timeout=30, interval=0.3).json()  # leads first learns the stores from identity
    xh = stack.login("sh-lexus-xh.sales1", stack.password)
    assert stack.post("/leads/api/v1/leads", xh, {"name": "跨进程客户", "phone": phone, "source": "phone_in"}).status_code == 201

    hq = stack.login("hq.admin", stack.password)
    assert stack.get(f"/leads/api/v1/leads/{lead['id']}", hq).status_code == 200
    assert stack.get(f"/leads/api/v1/leads/{lead['id']}", stack.login("sh-lexus-xh.manager", stack.password)).status_code == 404

    def one_customer_two_stores():
        found = stack.get(f"/customers/api/v1/customers?phone={phone}", hq).json()
        return found if found and len(found[0]["relationships"]) == 2 else None

    customer = wait_until(one_customer_two_stores, timeout=60)[0]
    assert {r["store_id"] for r in customer["relationships"]} == {store_id("sh-toyota-pd"), store_id("sh-lexus-xh")}

    contact = wait_until(lambda: (lambda r: r.json() if r.status_code == 200 and len(r.json()["store_ids"]) == 2
                                  else None)(stack.get(f"/callcenter/api/v1/contacts/{customer['id']}", hq)), 60)
    assert contact["phone"] == mask("+86" + phone)  # HQ sees the call center's copy masked (issue 11)

    def counted():
        s = stack.get("/analytics/api/v1/summary", hq).json()
        return s if s["leads"] >= 2 else None

    summary = wait_until(counted, timeout=60)
    assert summary["by_store"][store_id("sh-toyota-pd")] >= 1
    mine = stack.get("/analytics/api/v1/summary", stack.login("sh-toyota-pd.manager", stack.password)).json()
    assert set(mine["by_store"]) == {store_id("sh-toyota-pd")}


def test_a_csv_import_is_queued_by_the_api_and_run_by_the_leads_worker(stack):
    """The API process only stores the upload and answers 202; `crm worker leads` imports it."""
    manager = stack.login("sh-toyota-pd.manager", stack.password)
    phones = [f"135{uuid.uuid4().int % 10**8:08d}" for _ in range(3)]
    body = "姓名,手机,来源\n" + "".join(f"导入{i},{ph},walk_in\n" for i, ph in enumerate(phones))
    r = stack.http.post(stack.url("/leads/api/v1/imports?filename=e2e.csv"), data=body.encode(),
                        headers={**manager, "Content-Type": "text/csv"}, timeout=30)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]

    def done():
        job = stack.get(f"/leads/api/v1/imports/{job_id}", manager).json()
        return job if job["status"] in ("done", "failed") else None

    job = wait_until(done, timeout=60, interval=0.3)
    assert (job["status"], job["rows"], job["imported"]) == ("done", 3, 3), job
    found = stack.get(f"/leads/api/v1/leads?q={phones[0]}", manager)
    assert found.status_code == 200 and found.headers["X-Total-Count"] == "1"


def test_production_refuses_the_demo_password_for_seeding(stack):
    env = dict(stack.env)
    r = subprocess.run([BIN / "crm", "seed"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "give the demo users a real password" in r.stderr


def test_the_cross_tenant_matrix_holds_on_postgresql(stack):
    """The matrix of tests/contract, over HTTP against the separate processes on PostgreSQL."""
    from tests.contract.http import HttpApi
    from tests.contract.matrix import assert_no_leak, run_matrix
    from tests.contract.world import GROUPS, World, build_group

    subprocess.run([BIN / "crm", "seed", "--group=north", f"--password={stack.password}"], env=stack.env, check=True,
                   cwd=ROOT, timeout=120)
    api = HttpApi(stack.url, stack.password)
    world = World()
    for group in GROUPS:
        world.ids[group], world.markers[group] = build_group(api, group)
    assert_no_leak(run_matrix(api, world, "production topology, PostgreSQL"))
def test_the_services_connect_as_a_role_that_owns_nothing(stack, pg_admin_url):
    """Every API and worker holds its connections as the role that owns no table (forced row-level
    security applies to it, and it cannot turn it off); only `crm migrate` used the owner."""
    import psycopg
    from sqlalchemy import make_url

    databases = {make_url(stack.env[f"{svc.upper()}_DATABASE_URL"]).database for svc in SERVICES}

    def sessions():
        with psycopg.connect(pg_admin_url) as conn:
            rows = conn.execute("SELECT datname, usename FROM pg_stat_activity WHERE datname = ANY(%s)",
                                (sorted(databases),)).fetchall()
        return rows if {d for d, _ in rows} == databases else None

    assert {user for _, user in wait_until(sessions, timeout=30)} == {PG_APP}
