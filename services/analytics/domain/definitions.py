"""What every KPI means, written once, as data (`definitions.toml` beside this module, a row per KPI):
name (zh/en), formula (zh/en), the events behind its numerator and denominator, and whether it may exceed
100% and why. `docs/kpis.md` is this table rendered (`markdown()`; a test keeps them equal) and the
dashboard's hover text comes from `hover()`.

`VERSION` is the latest definitions; a change of meaning is a new version with its own line in
`CHANGES`, and the derivation keeps every version (`facts.derive(..., definitions=)`). A group's figures
follow the version in force for it (its analytics settings; the latest unless a rebuild chose another:
`crm rebuild-analytics --definitions v1`, `POST /analytics/api/v1/reconciliation/rebuild?definitions=1`);
rebuilding from the event log under a version gives the same figures every time.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files

VERSION = 2
CHANGES = {
    1: "first published definitions: an order counts on its signing day whatever happens to it later "
       "(a cancellation changes no figure)",
    2: "orders exclude cancelled orders (leads.order.cancelled) and count them as orders_cancelled on the "
       "cancellation day; overdue follow-ups are the leads service's own due dates (leads.lead.due_changed)",
}
VERSIONS = tuple(sorted(CHANGES))
#: what a rebuild under an older version cannot give back (read from current state, not from the rollups)
NOT_VERSIONED = "overdue follow-ups are the leads service's due dates under every version (analytics keeps no cadence)"


def parse_version(value: str | int) -> int:
    """`1`, `"1"` or `"v1"` → 1; ValueError for a version that does not exist."""
    text = str(value).strip().lower().removeprefix("v")
    if not text.isdigit() or int(text) not in CHANGES:
        raise ValueError(f"no such definitions version: {value} (one of {', '.join(f'v{v}' for v in VERSIONS)})")
    return int(text)


@dataclass(frozen=True)
class Definition:
    key: str
    name_zh: str
    name_en: str
    formula: str
    #: the formula in Chinese, for the hover text of the Chinese UI (the events are names, they stay as they are)
    formula_zh: str
    numerator: str
    denominator: str = ""
    #: "" for a count, an amount or a score; else the bound of a rate: "≤ 100%" or why it may exceed it
    bound: str = ""
    bound_zh: str = ""


def _table() -> tuple[Definition, ...]:
    """The rows of `definitions.toml` beside this module (a table of data, one row per KPI, in KPI order)."""
    rows = tomllib.loads(files(__package__).joinpath("definitions.toml").read_text(encoding="utf-8"))
    return tuple(Definition(key, **fields) for key, fields in rows.items())


DEFINITIONS: tuple[Definition, ...] = _table()
BY_KEY = {d.key: d for d in DEFINITIONS}
FORMULA_ZH = {d.key: d.formula_zh for d in DEFINITIONS}
#: whether a rate may pass 100%, in Chinese
BOUND_ZH = {d.key: d.bound_zh for d in DEFINITIONS if d.bound_zh}

#: ratios shown beside every KPI: what they are and why they are not bounded
DERIVED = (
    ("achievement", "达成率", "Achievement", "actual / target (lower-is-better KPIs: target / actual)",
     "may exceed 100%: over target"),
    ("mom", "环比", "Month on month", "(this month − last month) / last month",
     "unbounded: a change, not a share (7 after 1 is +600%; shown empty when last month is 0)"),
    ("yoy", "同比", "Year on year", "(this month − same month last year) / same month last year", "unbounded: a change"),
)


def hover(key: str, lang: str = "en", version: int = VERSION) -> str:
    """The text the dashboard shows on hovering a KPI (one line, from this table), naming the version the
    figures follow."""
    d = BY_KEY.get(key)
    if d is None:
        return ""
    if lang.startswith("zh"):
        parts = [f"{d.name_zh} = {d.formula_zh}", f"分子：{d.numerator}"]
        if d.denominator:
            parts.append(f"分母：{d.denominator}")
        if d.bound_zh:
            parts.append(d.bound_zh)
        return " · ".join(parts) + f"（定义 v{version}）"
    parts = [f"{d.name_en} = {d.formula}", f"numerator: {d.numerator}"]
    if d.denominator:
        parts.append(f"denominator: {d.denominator}")
    if d.bound:
        parts.append(d.bound)
    return " · ".join(parts) + f" (definitions v{version})"


def markdown() -> str:
    """The definitions as the Markdown table in docs/kpis.md."""
    rows = ["| key | 名称 | name | formula | numerator events | denominator events | above 100%? |",
            "|---|---|---|---|---|---|---|"]
    for d in DEFINITIONS:
        rows.append(f"| `{d.key}` | {d.name_zh} | {d.name_en} | {d.formula} | {d.numerator} | "
                    f"{d.denominator or '—'} | {d.bound or '—'} |")
    rows += ["", "| ratio | 名称 | name | formula | above 100%? |", "|---|---|---|---|---|"]
    rows += [f"| `{k}` | {zh} | {en} | {f} | {b} |" for k, zh, en, f, b in DERIVED]
    rows += ["", "| version | what changed |", "|---|---|"]
    rows += [f"| v{v}{' (latest)' if v == VERSION else ''} | {CHANGES[v]} |" for v in VERSIONS]
    rows += ["", f"Not versioned: {NOT_VERSIONED}."]
    return "\n".join(rows) + "\n"
