"""Analytics fixtures: the analytics service on its own (SQLite) and a generated event history."""
from __future__ import annotations

import copy
import random
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm.datagen import events as G
from services.analytics.adapters.models import RollupCube, RollupFine, RollupRunning
import shared.events.callcenter  # noqa: F401  (the registry loads lazily only while empty: register all)
import shared.events.customers  # noqa: F401
import shared.events.identity  # noqa: F401
import shared.events.leads  # noqa: F401
from shared import config
from shared.bus.consumer import Applier
from shared.events import Event
from tests.conftest import embedded_env

START = date(2026, 8, 1)
MONTH = "2026-09"


def analytics_runtime(var_dir, extra_env: dict | None = None):
    from services.analytics.bootstrap import build

    rt = build(config.load("analytics", {**embedded_env(var_dir), **(extra_env or {})}))
    rt.migrate()
    return rt


def feed(rt, messages) -> int:
    """Apply wire messages through the analytics consumer's handlers, as the bus would (inbox included).

    A group's creation goes first, as it does on the bus (`shared.bus.consumer`: the tenant rule); the
    rest keep the order given."""
    from services.analytics.entrypoints.consumers import handlers

    applier = Applier(rt.db, rt.inbox, handlers)
    messages = list(messages)
    first = [m for m in messages if m["type"] == "identity.group.created"]
    rest = [m for m in messages if m["type"] != "identity.group.created"]
    return sum(1 for m in first + rest if applier.apply(Event.from_message(m)))


def feed_in_deliveries(rt, messages, size: int = 100) -> int:
    """Apply wire messages of one group whose creation analytics already knows, as the consumer applies a
    delivery of the bus: up to `size` events in one transaction through the batch handlers (inbox
    included); the order given. Much faster than `feed`, for tests that need a history, not its arrival."""
    from services.analytics.entrypoints.consumers import handlers

    applier = Applier(rt.db, rt.inbox, handlers)
    events = [Event.from_message(m) for m in messages]
    return sum(applier.apply_batch(events[i:i + size]) for i in range(0, len(events), size))


def rollup_rows(s) -> tuple[set, set, set]:
    """Every non-zero rollup cell and running-total snapshot, without surrogate ids (the fine rollup is a
    ledger: a cell is the sum of its rows)."""
    F, C, R = RollupFine, RollupCube, RollupRunning
    cell = (F.group_id, F.store_id, F.day, F.brand_id, F.consultant_id, F.model, F.source, F.channel, F.metric, F.key)
    fine = {tuple(r) for r in s.execute(select(*cell, func.sum(F.value)).group_by(*cell)
                                        .having(func.sum(F.value) != 0))}
    cube = {tuple(r) for r in s.execute(select(C.group_id, C.store_id, C.period, C.dim, C.dim_value, C.brand_id,
                                               C.metric, C.key, C.value).where(C.value != 0))}
    running = {tuple(r) for r in s.execute(select(R.group_id, R.store_id, R.month, R.dim, R.dim_value, R.brand_id,
                                                  R.metric, R.key, R.value).where(R.value != 0))}
    return fine, cube, running


@pytest.fixture(scope="session")
def _history() -> tuple[G.Org, list[dict]]:
    """A 4-store group and two months of its history (August and September 2026), generated once per run."""
    org = G.make_org(brands=2, stores_per_brand=2, consultants=3)
    return org, G.identity_messages(org, datetime(2026, 1, 1, tzinfo=UTC)) + list(
        G.history(org, START, 61, leads_per_store_day=0.8, seed=11))


@pytest.fixture(scope="module")
def org(_history):
    return copy.deepcopy(_history[0])


@pytest.fixture(scope="module")
def messages(_history):
    """Two months of a 4-store group's history (August and September 2026); a module's own copy."""
    return copy.deepcopy(_history[1])


@pytest.fixture(scope="session")
def _fed_once(tmp_path_factory, _history) -> Path:
    """The var folder of an analytics database fed the history once per run, one message at a time
    through the consumer's handlers: shuffled, then every message a second time (as a redelivering bus
    would), which the inbox recognises."""
    messages = _history[1]
    folder = tmp_path_factory.mktemp("an-fed")
    rt = analytics_runtime(folder)
    shuffled = list(messages)
    random.Random(5).shuffle(shuffled)
    assert feed(rt, shuffled) == len(messages)
    redelivered = list(messages)
    random.Random(6).shuffle(redelivered)
    assert feed(rt, redelivered) == 0  # the inbox recognises every one
    rt.db.engine.dispose()  # the last connection closed checkpoints SQLite's write-ahead log
    return folder


@pytest.fixture(scope="module")
def fed(tmp_path_factory, _fed_once):
    """Analytics with the history delivered shuffled and then redelivered (`_fed_once`): a module's own
    copy of that database, so a module that changes it (a rebuild) changes no other module's."""
    var = tmp_path_factory.mktemp("an")
    shutil.copytree(_fed_once, var, dirs_exist_ok=True)
    rt = analytics_runtime(var)
    yield rt
    rt.db.engine.dispose()
