"""HQ indicators (集团指标) from rollup sums: formulas, targets and achievement, period arithmetic.

`Figures` holds the sums one scope has for one month: `flow` (what happened in the month, by
(metric, key)), `stock_end` / `stock_start` (running totals such as base customers, as of the end of
the month and the end of the month before).
"""
from __future__ import annotations

import functools

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from .facts import FRT_CAP_MINUTES, LADDER

Sums = dict[tuple[str, str], int]
STOCK_METRICS = ("base", "owners", "defeat_pending")


@dataclass
class Figures:
    flow: Sums = field(default_factory=dict)
    stock_end: Sums = field(default_factory=dict)
    stock_start: Sums = field(default_factory=dict)

    def tot(self, metric: str, keys: tuple[str, ...] | None = None, stock: str | None = None) -> int:
        sums = {"end": self.stock_end, "start": self.stock_start}.get(stock or "", self.flow)
        return sum(v for (m, k), v in sums.items() if m == metric and (keys is None or k in keys))

    def by_key(self, metric: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for (m, k), v in self.flow.items():
            if m == metric and v:
                out[k] = out.get(k, 0) + v
        return out


class Totals:
    """A `Figures` with its sums grouped by metric once, so that each KPI adds up only the keys of
    its own metrics (computing every KPI of many children stays linear in their rows)."""

    def __init__(self, f: Figures):
        self._keys = {"": _by_metric(f.flow), "end": _by_metric(f.stock_end), "start": _by_metric(f.stock_start)}
        self._totals = {stock: {m: sum(per_key.values()) for m, per_key in by_metric.items()}
                        for stock, by_metric in self._keys.items()}

    def tot(self, metric: str, keys: tuple[str, ...] | None = None, stock: str | None = None) -> int:
        if keys is None:
            return self._totals[stock or ""].get(metric, 0)
        per_key = self._keys[stock or ""].get(metric, {})
        return sum(v for k, v in per_key.items() if k in keys)

    def by_key(self, metric: str) -> dict[str, int]:
        return {k: v for k, v in self._keys[""].get(metric, {}).items() if v}


def _by_metric(sums: Sums) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (m, k), v in sums.items():
        per_key = out.get(m)
        if per_key is None:
            out[m] = {k: v}
        else:
            per_key[k] = v
    return out


def ratio(num: float, den: float) -> float | None:
    return None if not den else num / den


def median_minutes(histogram: dict[str, int]) -> float | None:
    """The (lower) median first-response time in whole minutes, from the minute histogram."""
    items = sorted((int(k), v) for k, v in histogram.items() if v > 0)
    n = sum(v for _, v in items)
    if n == 0:
        return None
    want, seen = (n - 1) // 2, 0
    for minute, count in items:
        seen += count
        if seen > want:
            return float(minute)
    return float(FRT_CAP_MINUTES)


@dataclass(frozen=True)
class Kpi:
    key: str
    family: str  # sales | customers | satisfaction
    unit: str  # count | pct | yuan | minutes | score
    fn: Callable[[Totals], float | None]
    higher_is_better: bool = True
    additive: bool = False  # a plain count: the group's figure is the sum of its stores'


def _sat(fam: tuple[str, ...] | None) -> Callable[[Totals], float | None]:
    return lambda f: ratio(f.tot("survey_score", fam) / 100, f.tot("survey_n", fam))


KPIS: list[Kpi] = [
    Kpi("leads", "sales", "count", lambda f: f.tot("leads"), additive=True),
    Kpi("frt_median", "sales", "minutes", lambda f: median_minutes(f.by_key("frt_min")), higher_is_better=False),
    Kpi("frt_sla_rate", "sales", "pct", lambda f: ratio(f.tot("frt_sla"), f.tot("frt_n"))),
    Kpi("showroom_visits", "sales", "count", lambda f: f.tot("visits", ("walk_in",)), additive=True),
    Kpi("phone_ins", "sales", "count", lambda f: f.tot("visits", ("phone_in",)), additive=True),
    Kpi("test_drives", "sales", "count", lambda f: f.tot("test_drives"), additive=True),
    Kpi("test_drive_rate", "sales", "pct", lambda f: ratio(f.tot("test_drives"), f.tot("visits", ("walk_in",)))),
    Kpi("orders", "sales", "count", lambda f: f.tot("orders"), additive=True),
    Kpi("orders_cancelled", "sales", "count", lambda f: f.tot("orders_cancelled"), higher_is_better=False,
        additive=True),
    Kpi("order_amount", "sales", "yuan", lambda f: f.tot("order_amount") / 100, additive=True),
    Kpi("close_rate", "sales", "pct", lambda f: ratio(f.tot("orders"), f.tot("leads"))),
    Kpi("deliveries", "sales", "count", lambda f: f.tot("deliveries"), additive=True),
    Kpi("delivery_amount", "sales", "yuan", lambda f: f.tot("delivery_amount") / 100, additive=True),
    Kpi("defeats", "sales", "count", lambda f: f.tot("defeats"), higher_is_better=False, additive=True),
    Kpi("defeat_rate", "sales", "pct", lambda f: ratio(f.tot("defeats"), f.tot("defeats") + f.tot("deliveries")),
        higher_is_better=False),
    Kpi("fleet_share", "sales", "pct", lambda f: ratio(f.tot("deliveries_sale_type", ("fleet",)), f.tot("deliveries"))),
    Kpi("corporate_share", "sales", "pct",
        lambda f: ratio(f.tot("deliveries_kind", ("corporate",)), f.tot("deliveries"))),
    Kpi("tact_calls", "sales", "count", lambda f: f.tot("tact", ("calls",)), additive=True),
    Kpi("base_customers", "customers", "count", lambda f: f.tot("base", stock="end"), additive=True),
    Kpi("new_own", "customers", "count", lambda f: f.tot("customers_new", ("own",)), additive=True),
    Kpi("conversion_rate", "customers", "pct", lambda f: ratio(f.tot("new_owners"), f.tot("customers_new", ("own",)))),
    Kpi("new_other", "customers", "count", lambda f: f.tot("customers_new", ("other",)), additive=True),
    Kpi("total_new_rate", "customers", "pct", lambda f: ratio(f.tot("customers_new"), f.tot("base", stock="start"))),
    Kpi("churned", "customers", "count", lambda f: f.tot("churned"), higher_is_better=False, additive=True),
    Kpi("churn_rate", "customers", "pct", lambda f: ratio(f.tot("churned"), f.tot("owners", stock="start")),
        higher_is_better=False),
    Kpi("churn_won_back", "customers", "count", lambda f: f.tot("churn_won_back"), additive=True),
    Kpi("insurance_won_back", "customers", "count", lambda f: f.tot("insurance_won_back"), additive=True),
    Kpi("sat_overall", "satisfaction", "score", _sat(None)),
    Kpi("sat_sales", "satisfaction", "score", _sat(("sales",))),
    Kpi("sat_after_sales", "satisfaction", "score", _sat(("after_sales",))),
    Kpi("complaints", "satisfaction", "count", lambda f: f.tot("complaints"), higher_is_better=False, additive=True),
    Kpi("complaint_resolved_rate", "satisfaction", "pct",
        lambda f: ratio(f.tot("complaints_resolved"), f.tot("complaints"))),
    Kpi("callback_success_rate", "satisfaction", "pct",
        lambda f: ratio(f.tot("callbacks_reached"), f.tot("callbacks_closed"))),
]
KPI_BY_KEY = {k.key: k for k in KPIS}
FAMILIES = ("sales", "customers", "satisfaction")


#: which flow rows a computation reads: (metric, the keys it needs or None for every key), hashable
Reads = tuple[tuple[str, frozenset[str] | None], ...]


class _Recorder:
    """Stands in for `Totals` to learn which flow rows the KPIs read (every KPI reads all of its
    metrics whatever their values, so one call each with zeros finds them all)."""

    def __init__(self) -> None:
        self.reads: dict[str, set[str] | None] = {}
        self.stock = False  # whether a running total (month-end snapshot) is read

    def tot(self, metric: str, keys: tuple[str, ...] | None = None, stock: str | None = None) -> int:
        if stock is None:
            self._read(metric, keys)
        else:
            self.stock = True
        return 0

    def by_key(self, metric: str) -> dict[str, int]:
        self._read(metric, None)
        return {}

    def _read(self, metric: str, keys: tuple[str, ...] | None) -> None:
        if keys is None:
            self.reads[metric] = None
        elif metric not in self.reads:
            self.reads[metric] = set(keys)
        elif (known := self.reads[metric]) is not None:
            known.update(keys)


@functools.cache
def reads_of(keys: tuple[str, ...] | None = None) -> tuple[Reads, bool]:
    """The flow rows the KPIs `keys` (None: every KPI) read, and whether they read running totals."""
    recorder = _Recorder()
    for k in KPIS if keys is None else [KPI_BY_KEY[key] for key in keys]:
        k.fn(recorder)  # type: ignore[arg-type]
    reads = tuple((m, None if ks is None else frozenset(ks)) for m, ks in sorted(recorder.reads.items()))
    return reads, recorder.stock


#: the flow rows `compute` needs: a dashboard that shows only KPIs reads no other rollup rows
KPI_READS: Reads = reads_of()[0]


def compute(f: Figures, keys: tuple[str, ...] | None = None) -> dict[str, float | None]:
    """Every KPI's value (or only those in `keys`) for one scope and month."""
    totals = Totals(f)
    return {k.key: k.fn(totals) for k in (KPIS if keys is None else [KPI_BY_KEY[key] for key in keys])}


def achievement(kpi: Kpi, actual: float | None, target: float | None) -> float | None:
    """Actual against target (1.0 = met); for lower-is-better KPIs the target over the actual."""
    if actual is None or not target:
        return None
    if kpi.higher_is_better:
        return actual / target
    return None if actual == 0 else target / actual


def change(now: float | None, before: float | None) -> float | None:
    """Relative change (month-on-month, year-on-year); None when there is nothing to compare."""
    if now is None or not before:
        return None
    return (now - before) / before


def funnel(f: Figures, channels_note: str = "") -> list[dict]:
    """Leads that reached each level (at least), with the conversion from the level before."""
    counts = f.by_key("funnel")
    out, prev = [], None
    for lv in LADDER:
        n = counts.get(lv, 0)
        out.append({"level": lv, "count": n, "rate": ratio(n, prev) if prev is not None else None})
        prev = n
    return out


# ---- periods -------------------------------------------------------------------------------------

def month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def parse_month(text: str) -> date:
    """'2026-05' → date(2026, 5, 1); ValueError otherwise."""
    y, m = text.split("-")
    if len(y) != 4 or len(m) != 2:
        raise ValueError("month must look like 2026-05")
    return date(int(y), int(m), 1)


def shift_month(month: str, delta: int) -> str:
    d = parse_month(month)
    idx = d.year * 12 + d.month - 1 + delta
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def month_days(month: str) -> tuple[date, date]:
    start = parse_month(month)
    end = parse_month(shift_month(month, 1))
    return start, date.fromordinal(end.toordinal() - 1)
