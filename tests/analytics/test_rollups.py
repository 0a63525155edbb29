"""Figures from a known generated history match an independent count, whatever the arrival order."""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from statistics import mean
from zoneinfo import ZoneInfo

import pytest

from services.analytics.handlers import ingest
from services.analytics.views import queries as Q
from services.analytics.domain import kpis as K
from services.analytics.domain.facts import Envelope
from services.analytics.adapters.models import Target
from shared.bus.consumer import Applier
from shared.events import Event
from shared.tenancy import Scope

from .conftest import MONTH, analytics_runtime, rollup_rows

TZ = ZoneInfo("Asia/Shanghai")


def _local_month(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(TZ).strftime("%Y-%m")


def expected(messages, store: str | None = None) -> dict:
    """The month's figures counted straight from the messages, without the analytics code."""
    mine = [m for m in messages if store is None or m["store_id"] == store]
    in_month = [m for m in mine if _local_month(m["occurred_at"]) == MONTH]
    leads = sum(1 for m in in_month if m["type"] == "leads.lead.created")
    orders = [m for m in in_month if m["type"] == "leads.order.placed"]
    deliveries = [m for m in mine if m["type"] == "leads.vehicle.delivered" and m["data"]["delivered_on"][:7] == MONTH]
    surveys = [m for m in in_month if m["type"] == "callcenter.survey.submitted"]
    # churn: churned this month over owners at the end of last month (class timeline per customer and store)
    timeline = defaultdict(list)
    for m in mine:
        if m["type"] in ("customers.relationship.linked", "customers.relationship.changed"):
            d = m["data"]
            timeline[(d["customer_id"], d["store_id"])].append(
                (m["occurred_at"], m["id"], d.get("customer_class") or d.get("to_class")))
    month_start = datetime(2026, 9, 1, tzinfo=TZ)
    owners_at_start = churned = 0
    for events in timeline.values():
        events.sort()
        before = [c for at, _, c in events if datetime.fromisoformat(at) < month_start]
        if before and before[-1] in ("self_sold", "other_sold", "vip"):
            owners_at_start += 1
        churned += sum(1 for at, _, c in events if c == "churned" and _local_month(at) == MONTH)
    return {
        "leads": leads,
        "orders": len(orders),
        "order_amount": sum(float(m["data"]["price"]) for m in orders),
        "deliveries": len(deliveries),
        "close_rate": len(orders) / leads if leads else None,
        "churned": churned,
        "churn_rate": churned / owners_at_start if owners_at_start else None,
        "sat_overall": mean(m["data"]["score"] for m in surveys) if surveys else None,
        "sat_sales": mean(m["data"]["score"] for m in surveys if m["data"]["task_type"] == "delivery_callback"),
        "sat_after_sales": mean(m["data"]["score"] for m in surveys if m["data"]["task_type"] == "service_callback"),
    }


def _kpis(rt, group_id, flt=None):
    with rt.db.session(Scope.system(group_id)) as s:
        return K.compute(Q.node_figures(s, MONTH, flt or Q.Filters()))


def test_group_figures_match_an_independent_count_of_the_history(fed, org, messages):
    got, want = _kpis(fed, org.group_id), expected(messages)
    assert want["leads"] > 20 and want["orders"] > 5 and want["churned"] > 0  # the history is not trivial
    for key in ("leads", "orders", "deliveries", "churned"):
        assert got[key] == want[key], key
    for key in ("order_amount", "close_rate", "churn_rate", "sat_overall", "sat_sales", "sat_after_sales"):
        assert got[key] == pytest.approx(want[key]), key


def test_each_store_matches_its_own_independent_count(fed, org, messages):
    for sid in org.stores:
        got, want = _kpis(fed, org.group_id, Q.Filters(store_id=sid)), expected(messages, sid)
        for key in ("leads", "orders", "deliveries", "close_rate", "sat_overall"):
            assert got[key] == pytest.approx(want[key]), (sid, key)


def test_achievement_is_the_actual_over_the_target(fed, org, messages):
    sid = next(iter(org.stores))
    want = expected(messages, sid)
    with fed.db.session(Scope.system(org.group_id)) as s:
        s.add(Target(group_id=org.group_id, month=MONTH, level="store", node_id=sid, store_id=sid, kpi="orders",
                     value=10))
        s.add(Target(group_id=org.group_id, month=MONTH, level="store", node_id=sid, store_id=sid,
                     kpi="close_rate", value=0.5))
    with fed.db.session(Scope.system(org.group_id)) as s:
        rows = {r["key"]: r for r in Q.kpi_rows(s, MONTH, Q.Filters(store_id=sid), "store", sid)}
    assert rows["orders"]["achievement"] == pytest.approx(want["orders"] / 10)
    assert rows["close_rate"]["achievement"] == pytest.approx(want["close_rate"] / 0.5)
    assert rows["leads"]["target"] is None and rows["leads"]["achievement"] is None


def test_the_sum_of_the_stores_is_the_group(fed, org):
    with fed.db.session(Scope.system(org.group_id)) as s:
        group = K.compute(Q.node_figures(s, MONTH, Q.Filters()))
        stores = Q.children(s, MONTH, Q.Filters(), "store")
        brands = Q.children(s, MONTH, Q.Filters(), "brand")
    assert {r["id"] for r in stores} == set(org.stores)
    for k in K.KPIS:
        if k.additive:
            assert sum(r["kpis"][k.key] for r in stores) == pytest.approx(group[k.key]), k.key
            assert sum(r["kpis"][k.key] for r in brands) == pytest.approx(group[k.key]), k.key


def test_rebuild_from_the_log_gives_identical_rollups(fed, org):
    with fed.db.session(Scope.system()) as s:
        before = rollup_rows(s)
    with fed.db.session(Scope.system()) as s:
        n = ingest.rebuild(s)
    with fed.db.session(Scope.system()) as s:
        after = rollup_rows(s)
    assert n > 1000 and all(before)
    assert after == before


def test_the_bulk_path_gives_the_same_rollups_as_the_consumer(fed, messages, tmp_path):
    rt = analytics_runtime(tmp_path)
    envs = [Envelope(m["id"], m["type"], datetime.fromisoformat(m["occurred_at"]).astimezone(UTC), m["group_id"],
                     m["store_id"], m["brand_id"], m["actor"], m["data"]) for m in messages]
    for i in range(0, len(envs), 700):
        with rt.db.session(Scope.system()) as s:
            ingest.ingest(s, envs[i:i + 700])
    with rt.db.session(Scope.system()) as s:  # the same batch again changes nothing
        assert ingest.ingest(s, envs[:700]) == 0
    with rt.db.session(Scope.system()) as s, fed.db.session(Scope.system()) as f:
        assert rollup_rows(s) == rollup_rows(f)


def test_deliveries_of_a_hundred_mixed_events_give_the_same_rollups_as_one_at_a_time(fed, messages, tmp_path):
    """The consumer's path for a full delivery: one transaction, the batch handler over the whole run."""
    from services.analytics.entrypoints.consumers import handlers

    rt = analytics_runtime(tmp_path)
    applier = Applier(rt.db, rt.inbox, handlers)
    ordered = sorted(messages, key=lambda m: m["type"] != "identity.group.created")  # the group first, as on the bus
    events = [Event.from_message(m) for m in ordered]
    assert sum(applier.apply_batch(events[i:i + 100]) for i in range(0, len(events), 100)) == len(messages)
    assert applier.apply_batch(events[:100]) == 0  # a redelivered delivery changes nothing
    with rt.db.session(Scope.system()) as s, fed.db.session(Scope.system()) as f:
        assert rollup_rows(s) == rollup_rows(f)


def test_a_lead_whose_creation_arrives_last_is_counted_under_its_source(fed, org, messages):
    with fed.db.session(Scope.system(org.group_id)) as s:
        by_source = Q.figures(s, MONTH, Q.Filters(), "source")
    want = defaultdict(int)
    for m in messages:
        if m["type"] == "leads.lead.created" and _local_month(m["occurred_at"]) == MONTH:
            want[m["data"]["source"]] += 1
    assert {k: f.tot("leads") for k, f in by_source.items() if f.tot("leads")} == dict(want)


def test_month_arithmetic():
    assert K.shift_month("2026-01", -1) == "2025-12" and K.shift_month("2026-05", -12) == "2025-05"
    assert K.month_days("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))


def test_reading_only_what_the_kpis_need_gives_the_same_kpis(fed, org):
    """Dashboards read only the rows the KPIs use; every KPI of every node (first-response median
    included) equals the one computed from all of the rollup's rows."""
    splits = ((Q.Filters(), None), (Q.Filters(), "store"), (Q.Filters(), "brand"), (Q.Filters(), "consultant"),
              (Q.Filters(), "model"), (Q.Filters(store_id=next(iter(org.stores))), "consultant"), (Q.Filters(), "day"))
    medians = 0
    with fed.db.session(Scope.system(org.group_id)) as s:
        for month in ("2026-08", MONTH):
            for flt, by in splits:
                full, slim = Q.figures(s, month, flt, by), Q.figures(s, month, flt, by, K.KPI_READS)
                assert set(slim) <= set(full)
                assert sum(len(f.flow) for f in slim.values()) < sum(len(f.flow) for f in full.values())
                for node, figs in full.items():
                    want = K.compute(figs)
                    assert K.compute(slim.get(node, K.Figures())) == want, (month, by, node)
                    medians += want["frt_median"] is not None
    assert medians > 20


def test_a_ranking_of_one_kpi_reads_only_its_rows_and_ranks_as_the_full_one(fed, org):
    """The dashboard's ranking tables compute only the ranked KPI: the same order and values as a
    ranking that computes every KPI, for every KPI and level, less the nodes with nothing for that
    KPI (such as leads without a consultant, when ranking by orders)."""
    with fed.db.session(Scope.system(org.group_id)) as s:
        for by in ("store", "brand", "consultant", "model"):
            for k in K.KPIS:
                full = Q.ranking(s, MONTH, Q.Filters(), by, k.key)
                slim = Q.ranking(s, MONTH, Q.Filters(), by, k.key, shown=())
                listed = {r["id"] for r in slim}
                assert [(r["id"], r["value"]) for r in slim] == \
                    [(r["id"], r["value"]) for r in full if r["id"] in listed], (by, k.key)
                assert all(r["value"] in (0, None) for r in full if r["id"] not in listed), (by, k.key)
                assert all(set(r["kpis"]) == {k.key} for r in slim)
        assert len(Q.ranking(s, MONTH, Q.Filters(), "consultant", "orders")) > 5


def test_a_store_manager_reads_only_their_own_store(fed, org):
    sid = next(iter(org.stores))
    with fed.db.session(Scope(group_id=org.group_id, store_ids=frozenset({sid}), role="store_manager")) as s:
        mine = Q.node_kpis(s, MONTH, Q.Filters())
    with fed.db.session(Scope.system(org.group_id)) as s:
        alone = K.compute(Q.node_figures(s, MONTH, Q.Filters(store_id=sid)))
        group = K.compute(Q.node_figures(s, MONTH, Q.Filters()))
    assert mine == alone and mine["leads"] < group["leads"]
