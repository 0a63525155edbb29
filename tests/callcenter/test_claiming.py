"""Claiming is exactly once: many agents at the same time on PostgreSQL (SKIP LOCKED) and on SQLite
(conditional UPDATE … RETURNING inside BEGIN IMMEDIATE)."""
from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import sessionmaker

from services.callcenter.handlers.calls import Call, log_attempt
from services.callcenter.handlers.tasks import claim_next_task, release_task
from services.callcenter.adapters.models import Task
from shared import clock, config
from shared.auth import Principal
from shared.db import install_scoping, make_engine, new_id
from shared.tenancy import Scope
from tests.callcenter.conftest import GID, local

STORE = "store-1"


def _runtime(url: str, tmp_path, pool: int):
    from services.callcenter.bootstrap import build

    rt = build(config.load("callcenter", {"CRM_MODE": "embedded", "CRM_VAR_DIR": str(tmp_path),
                                          "CALLCENTER_DATABASE_URL": url}))
    rt.migrate()  # the Alembic history itself, on this database
    if not url.startswith("sqlite"):
        rt.db.engine.dispose()
        rt.db.engine = make_engine(url, pool_size=pool, max_overflow=5)
        rt.db.factory = sessionmaker(rt.db.engine, expire_on_commit=False)
        install_scoping(rt.db.factory, [m.class_ for m in rt.base.registry.mappers])
        from shared.bus.outbox import install_outbox

        install_outbox(rt.db.factory, rt.outbox)
    return rt


def _fill(rt, n: int) -> None:
    now = clock.now()
    rows = [{"id": new_id(), "group_id": GID, "store_id": STORE, "task_type": "delivery_callback", "status": "open",
             "priority": random.randint(1, 5), "due_at": now - timedelta(minutes=random.randint(1, 600)),
             "expires_at": now + timedelta(days=3), "available_at": now - timedelta(minutes=1), "claims": 0,
             "attempts": 0, "failed_attempts": 0, "max_attempts": 3, "retry_minutes": [120, 1440],
             "dedupe_key": f"bench:{i}", "detail": {}, "customer_name": "", "created_at": now}
            for i in range(n)]
    with rt.db.session(Scope.system(GID)) as s:  # the group's setting: the database refuses rows without one
        s.execute(insert(Task.__table__), rows)


def _agent(i: int) -> Principal:
    return Principal(user_id=f"agent-{i:02d}", username=f"agent{i}", group_id=GID, group_code="demo",
                     role="cc_agent", store_ids=None)


def _run_agents(rt, agents: int, release_share: float) -> dict:
    """Every agent claims until the queue is empty; each task is given back now and then, then completed."""
    lock = threading.Lock()
    held: dict[str, str] = {}
    first: dict[str, str] = {}
    claims: list[tuple[str, str]] = []
    releases: dict[str, int] = {}
    problems: list[str] = []
    start, all_hold = threading.Barrier(agents), threading.Barrier(agents, timeout=60)

    def work(i: int) -> None:
        p = _agent(i)
        start.wait()
        try:
            while True:
                with rt.uow(p.scope) as uow:
                    task = claim_next_task(uow, p.user_id, GID).task
                    uow.commit()
                if task is None:
                    break
                with lock:
                    if task.id in held:
                        problems.append(f"{task.id} held by {held[task.id]} and {p.user_id}")
                    held[task.id] = p.user_id
                    claims.append((task.id, p.user_id))
                    give_back = releases.get(task.id, 0) < 2 and random.random() < release_share
                    releases[task.id] = releases.get(task.id, 0) + give_back
                if p.user_id not in first:
                    first[p.user_id] = task.id
                    all_hold.wait()  # every agent holds its first task at the same moment
                with lock:
                    del held[task.id]  # before the database lets anyone else take it
                with rt.uow(p.scope) as uow:
                    if give_back:
                        release_task(uow, p, task.id)
                    else:
                        log_attempt(uow, p, task.id, Call("reached"))
                    uow.commit()
        except Exception as exc:  # noqa: BLE001
            problems.append(repr(exc))
            all_hold.abort()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return {"claims": claims, "first": first, "problems": problems, "releases": sum(releases.values())}


def _check(rt, result: dict, tasks: int, agents: int) -> None:
    assert result["problems"] == []
    assert len(set(result["first"].values())) == agents  # N agents at once hold N different tasks
    assert len(result["claims"]) == tasks + result["releases"]
    with rt.db.session(Scope.system(GID)) as s:
        assert s.scalar(select(func.count(Task.id)).where(Task.status == "done")) == tasks
        assert s.scalar(select(func.sum(Task.claims))) == len(result["claims"])
        assert s.scalar(select(func.count(Task.id)).where(Task.attempts != 1)) == 0  # closed once, by its holder


@pytest.fixture
def at_ten(frozen):
    frozen.travel_to(local(2026, 6, 1, 10, 0))
    return frozen


@pytest.mark.postgres
def test_fifty_agents_on_postgresql_never_hold_the_same_task(pg_url, tmp_path, at_ten):
    # a database of its own: fifty connections claim and commit at once (row locks between them)
    rt = _runtime(pg_url, tmp_path, pool=55)
    _fill(rt, 1600)
    result = _run_agents(rt, agents=50, release_share=0.3)
    assert result["problems"] == []
    assert len(result["claims"]) > 2000  # thousands of claims, some of the same task after it was given back
    _check(rt, result, 1600, 50)
    rt.db.engine.dispose()


def test_agents_on_sqlite_never_hold_the_same_task(tmp_path, at_ten):
    rt = _runtime(f"sqlite:///{tmp_path / 'cc.sqlite'}", tmp_path, pool=0)
    _fill(rt, 300)
    result = _run_agents(rt, agents=8, release_share=0.25)
    _check(rt, result, 300, 8)
