"""Running totals (base customers, owners, pending defeats) kept as month-end snapshots agree with
the fine rollup summed from the beginning, whatever the arrival order, after a rebuild and on PostgreSQL."""
from __future__ import annotations

import random
from contextlib import nullcontext
from collections import defaultdict
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, insert, select

from services.analytics.handlers import ingest
from services.analytics.views import queries as Q
from services.analytics.domain import kpis as K
from services.analytics.domain.facts import Envelope
from services.analytics.adapters.models import Fact, RollupFine, RollupRunning
from services.analytics.handlers.running import months_from
from crm import cli
from shared import clock, config
from shared.bus.tables import known_groups_of
from shared.db import utcnow
from shared.bus.consumer import Applier
from shared.events import Event
from shared.tenancy import Scope
from tests.conftest import embedded_env, joined

from .conftest import analytics_runtime, rollup_rows

DIMS = {"": None, "consultant": "consultant_id", "model": "model", "source": "source", "channel": "channel"}


def envelopes(messages) -> list[Envelope]:
    return [Envelope(m["id"], m["type"], datetime.fromisoformat(m["occurred_at"]).astimezone(UTC), m["group_id"],
                     m["store_id"], m["brand_id"], m["actor"], m["data"]) for m in messages]


def shuffled_twice(messages) -> list[Envelope]:
    """The history out of order, with a tenth of it delivered a second time."""
    envs = envelopes(messages)
    rnd = random.Random(8)
    out = envs + rnd.sample(envs, len(envs) // 10)
    rnd.shuffle(out)
    return out


def ingest_in_batches(rt, envs, size: int = 700) -> None:
    for i in range(0, len(envs), size):
        with rt.db.session(Scope.system()) as s:
            ingest.ingest(s, envs[i:i + size])


def summed_from_fine(s) -> dict[tuple, dict[str, int]]:
    """Per snapshot cell: the change of each month, counted from the fine rollup's days."""
    F = RollupFine
    out: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in s.execute(select(F).where(F.metric.in_(K.STOCK_METRICS))).scalars():
        for dim, attr in DIMS.items():
            cell = (row.group_id, row.store_id, row.brand_id, dim, getattr(row, attr) if attr else "", row.metric,
                    row.key)
            out[cell][K.month_key(row.day)] += row.value
    return out


def fact_rows(s) -> dict[str, tuple]:
    """Every fact's columns and the ids of its events (the consumer keeps payloads as the event schema
    dumps them, with its defaults; the bulk path as the messages carry them)."""
    return {r.id: (r.group_id, r.store_id, r.brand_id, r.kind, r.consultant_id, r.level, r.level_at, r.last_contact_at,
                   r.expected_delivery, r.due_at, r.is_open, r.pending, set(r.events)) for r in s.scalars(select(Fact))}


def check_against_fine(rt) -> int:
    """Every snapshot equals the fine rollup summed up to its month; returns how many were checked."""
    R = RollupRunning
    with rt.db.session(Scope.system()) as s:
        changes = summed_from_fine(s)
        snapshots = {(r.group_id, r.store_id, r.brand_id, r.dim, r.dim_value, r.metric, r.key, r.month): r.value
                     for r in s.execute(select(R)).scalars()}
    horizon = max(m for *_, m in snapshots)
    checked = 0
    for cell, by_month in changes.items():
        if not any(by_month.values()):
            continue
        total = 0
        for month in months_from(min(by_month), horizon):
            total += by_month.get(month, 0)
            assert snapshots.get((*cell, month)) == total, (cell, month)
            checked += 1
    assert set(snapshots.values()) != {0}
    return checked


def test_snapshots_equal_the_fine_rollup_summed_up_to_each_month(fed):
    """The consumer path: the history shuffled, then every message redelivered."""
    assert check_against_fine(fed) > 100


def test_stock_figures_equal_the_fine_rollup_before_during_and_after_the_history(fed, org):
    """Months before the first change, inside the history and after its last change read the same
    running totals as a sum over the fine rollup's days (split by store, brand and one dimension)."""
    splits = (({}, None), ({}, "store"), ({}, "brand"), ({}, "consultant"), ({}, "source"),
              ({"brand_id": next(iter(org.brands))}, "store"), ({"store_id": next(iter(org.stores))}, "model"))
    nonzero = 0
    with fed.db.session(Scope.system(org.group_id)) as s:
        for month in ("2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2027-03"):
            for flt, by in splits:
                got, want = Q.figures(s, month, Q.Filters(**flt), by), Q._from_fine(s, month, Q.Filters(**flt), by)
                for attr in ("stock_end", "stock_start"):
                    mine = {(n, c): v for n, f in got.items() for c, v in getattr(f, attr).items() if v}
                    assert mine == {(n, c): v for n, f in want.items() for c, v in getattr(f, attr).items() if v}, \
                        (month, flt, by, attr)
                    nonzero += len(mine)
    assert nonzero > 50


def test_a_store_manager_sees_only_their_stores_running_totals(fed, org):
    sid = next(iter(org.stores))
    with fed.db.session(Scope(group_id=org.group_id, store_ids=frozenset({sid}), role="store_manager")) as s:
        mine = Q.node_figures(s, "2026-09", Q.Filters())
    with fed.db.session(Scope.system(org.group_id)) as s:
        alone = Q.node_figures(s, "2026-09", Q.Filters(store_id=sid))
        group = Q.node_figures(s, "2026-09", Q.Filters())
    assert mine.stock_end == alone.stock_end and mine.stock_start == alone.stock_start
    assert mine.tot("base", stock="end") < group.tot("base", stock="end")


def test_out_of_order_and_duplicate_batches_give_the_consumers_snapshots(fed, messages, tmp_path):
    rt = analytics_runtime(tmp_path)
    ingest_in_batches(rt, shuffled_twice(messages))
    with rt.db.session(Scope.system()) as s, fed.db.session(Scope.system()) as f:
        assert rollup_rows(s)[2] == rollup_rows(f)[2]
    assert check_against_fine(rt) > 100


def test_crm_rebuild_analytics_gives_identical_snapshots(messages, tmp_path, monkeypatch):
    rt = analytics_runtime(tmp_path)
    ingest_in_batches(rt, shuffled_twice(messages))
    with rt.db.session(Scope.system()) as s:
        before = rollup_rows(s)
    monkeypatch.delenv("ANALYTICS_DATABASE_URL", raising=False)
    for k, v in embedded_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    assert config.load("analytics").database_url == rt.settings.database_url
    cli.main(["rebuild-analytics"])
    with rt.db.session(Scope.system()) as s:
        after = rollup_rows(s)
    assert before[2] and after == before
    assert check_against_fine(rt) > 100


def pg_analytics(pg_migrated, tmp_path):
    """Analytics on the run's PostgreSQL database (migrated once), as its owner (the COPY path)."""
    from services.analytics.bootstrap import build

    owner, _ = pg_migrated("analytics")
    return build(config.load("analytics", {**embedded_env(tmp_path), "ANALYTICS_DATABASE_URL": owner}))


@pytest.mark.postgres
def test_the_postgresql_bulk_path_gives_the_same_rollups(fed, messages, tmp_path, pg_migrated):
    """COPY, one INSERT .. ON CONFLICT per rollup, the horizon carried forward in SQL and the advisory lock."""
    rt = pg_analytics(pg_migrated, tmp_path)
    try:
        with joined(rt.db):
            ingest_in_batches(rt, shuffled_twice(messages), size=3000)
            with rt.db.session(Scope.system()) as s, fed.db.session(Scope.system()) as f:
                assert rollup_rows(s) == rollup_rows(f)
                assert fact_rows(s) == fact_rows(f)
    finally:
        rt.db.engine.dispose()


@pytest.mark.postgres
def test_deliveries_of_a_hundred_on_postgresql_give_the_same_rollups(fed, messages, tmp_path, pg_migrated):
    """The consumer's own path on PostgreSQL: a delivery of up to 100 events in one transaction, each table
    written by one statement over arrays (`bulk._unnest`: the log, new and changed facts, the fine ledger,
    the cube and running-total upserts), gives what one event at a time on SQLite gave."""
    from services.analytics.entrypoints.consumers import handlers

    rt = pg_analytics(pg_migrated, tmp_path)
    try:
        with joined(rt.db):
            applier = Applier(rt.db, rt.inbox, handlers)
            ordered = sorted(messages, key=lambda m: m["type"] != "identity.group.created")  # the group first
            events = [Event.from_message(m) for m in ordered]
            assert sum(applier.apply_batch(events[i:i + 100]) for i in range(0, len(events), 100)) == len(events)
            assert applier.apply_batch(events[:100]) == 0  # a redelivered delivery changes nothing
            with rt.db.session(Scope.system()) as s, fed.db.session(Scope.system()) as f:
                assert rollup_rows(s) == rollup_rows(f)
                assert fact_rows(s) == fact_rows(f)
    finally:
        rt.db.engine.dispose()


def fine_rows(rt, until: date, since: date = date.min) -> tuple[int, int]:
    """Rows of the fine ledger, and cells of the days from `since` to before `until` that still have
    more than one row."""
    F = RollupFine
    cell = [getattr(F, c) for c in ingest.FINE_COLS[:-1]]
    with rt.db.session(Scope.system()) as s:
        rows = s.scalar(select(func.count()).select_from(F))
        repeated = s.execute(select(*cell).where(F.day < until, F.day >= since).group_by(*cell)
                             .having(func.count() > 1)).all()
    return rows, len(repeated)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_compacting_the_fine_ledger_keeps_every_figure(database, messages, tmp_path, request):
    rt = pg_analytics(request.getfixturevalue("pg_migrated"), tmp_path) if database == "postgresql" \
        else analytics_runtime(tmp_path)
    until = date(2026, 9, 20)
    try:
        with (joined(rt.db) if database == "postgresql" else nullcontext()):
            ingest_in_batches(rt, shuffled_twice(messages), size=200)
            with rt.db.session(Scope.system()) as s:
                before = rollup_rows(s)
            rows, repeated = fine_rows(rt, until)
            assert repeated > 0  # the ledger had several rows for a cell
            with rt.db.session(Scope.system()) as s:
                folded, kept = ingest.compact_fine(s, until)
            with rt.db.session(Scope.system()) as s:
                assert rollup_rows(s) == before and before[0]
            assert 0 < kept < folded
            assert fine_rows(rt, until) == (rows - folded + kept, 0)
            assert check_against_fine(rt) > 100
    finally:
        rt.db.engine.dispose()


def test_crm_compact_analytics_folds_the_ledger_of_past_days(messages, tmp_path, monkeypatch):
    rt = analytics_runtime(tmp_path)
    ingest_in_batches(rt, shuffled_twice(messages), size=200)
    with rt.db.session(Scope.system()) as s:
        before = rollup_rows(s)
    rows, _ = fine_rows(rt, date(2026, 10, 1))
    monkeypatch.delenv("ANALYTICS_DATABASE_URL", raising=False)
    for k, v in embedded_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    cli.main(["compact-analytics"])  # the history (August and September 2026) is more than two days old
    with rt.db.session(Scope.system()) as s:
        assert rollup_rows(s) == before
    left, repeated = fine_rows(rt, date(2026, 10, 1))
    assert repeated == 0 and left < rows


def test_the_analytics_worker_folds_the_ledger_once_a_local_day(org, messages, tmp_path):
    """The worker's daily run folds the 35 days before the day before yesterday, and only once a day."""
    rt = analytics_runtime(tmp_path)
    ingest_in_batches(rt, shuffled_twice(messages), size=200)
    with rt.db.session(Scope.system()) as s:  # the group as the consumer learns it (ingest here bypasses it)
        s.execute(insert(known_groups_of(rt.inbox)).values(group_id=org.group_id, known_at=utcnow(),
                                                           timezone="Asia/Shanghai"))
    with rt.db.session(Scope.system()) as s:
        before = rollup_rows(s)
    rows, _ = fine_rows(rt, date(2026, 10, 1))
    clock.travel_to(datetime(2026, 10, 5, 4, tzinfo=UTC))  # noon in Shanghai: folds 29 Aug … 2 Oct
    try:
        scheduler = rt.scheduler()  # what `crm worker analytics` runs in a thread of its own
        assert scheduler.run_once() == 2  # the compaction and the reconciliation request, for the one group
        assert scheduler.run_once() == 0 and rt.scheduler().run_once() == 0  # the same day: not again, nor after a restart
    finally:
        clock.reset()
    with rt.db.session(Scope.system()) as s:
        assert rollup_rows(s) == before
    left, _ = fine_rows(rt, date(2026, 10, 1))
    assert fine_rows(rt, date(2026, 10, 3), date(2026, 8, 29))[1] == 0 and left < rows
    assert fine_rows(rt, date(2026, 8, 29))[1] > 0  # older days wait for `crm compact-analytics`
