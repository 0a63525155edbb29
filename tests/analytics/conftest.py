"""Analytics fixtures: the analytics service on its own (SQLite) and a generated event history."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from services.analytics import generator as G
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


@pytest.fixture(scope="module")
def org():
    return G.make_org(brands=2, stores_per_brand=2, consultants=3)


@pytest.fixture(scope="module")
def messages(org):
    """Two months of a 4-store group's history (August and September 2026)."""
    return G.identity_messages(org, datetime(2026, 1, 1, tzinfo=UTC)) + list(
        G.history(org, START, 61, leads_per_store_day=0.8, seed=11))


@pytest.fixture(scope="module")
def fed(tmp_path_factory, messages):
    """The history delivered shuffled, and every message a second time (as a redelivering bus would)."""
    rt = analytics_runtime(tmp_path_factory.mktemp("an"))
    shuffled = list(messages)
    random.Random(5).shuffle(shuffled)
    assert feed(rt, shuffled) == len(messages)
    redelivered = list(messages)
    random.Random(6).shuffle(redelivered)
    assert feed(rt, redelivered) == 0  # the inbox recognises every one
    return rt
