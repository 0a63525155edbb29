"""Any dashboard table as CSV or XLSX, and the monthly HQ report workbook (one sheet per KPI family).

Every cell is written through `shared.privacy.safe_cell`: store, brand, consultant and model names are
typed by people, and `=HYPERLINK(...)` in a name must stay text in Excel or WPS.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from shared.privacy import safe_row

from ..domain import kpis as K
from ..labels import COMPLIANCE_LABELS, FAMILY_LABELS, FUNNEL_LABELS, KEY_LABELS, KPI_LABELS, LEVEL_LABELS, \
    SOURCE_LABELS, export_value, label

CHILD_KPIS = ("leads", "orders", "deliveries", "close_rate", "test_drive_rate", "sat_overall")


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list]


def kpi_table(kpis: list[dict]) -> Table:
    return Table(_("KPIs"), [_("KPI key"), _("KPI"), _("Family"), _("Actual"), _("Target"), _("Achievement"),
                             _("Month on month"), _("Year on year")],
                 [[r["key"], label(KPI_LABELS, r["key"]), label(FAMILY_LABELS, r["family"]),
                   export_value(r["actual"], r["unit"]), r["target"], export_value(r["achievement"], "pct"),
                   export_value(r["mom"], "pct"), export_value(r["yoy"], "pct")] for r in kpis])


def dashboard_tables(d: dict) -> dict[str, Table]:
    """Every table a dashboard shows, by name."""
    units = {k.key: k.unit for k in K.KPIS}
    by = d["children"]["by"]
    out = {
        "kpis": kpi_table(d["kpis"]),
        "children": Table(label(LEVEL_LABELS, by), [_("Name")] + [label(KPI_LABELS, k) for k in CHILD_KPIS],
                          [[r["name"]] + [export_value(r["kpis"][k], units[k]) for k in CHILD_KPIS]
                           for r in d["children"]["rows"]]),
        "funnel": Table(_("Funnel by level"), [_("Level"), _("All leads"), _("Showroom leads"), _("Call-center leads")],
                        [[label(FUNNEL_LABELS, a["level"]), a["count"], b["count"], c["count"]]
                         for a, b, c in zip(d["funnels"]["all"], d["funnels"]["showroom"],
                                            d["funnels"]["callcenter"], strict=True)]),
        "sources": Table(_("Leads by source"), [_("Source"), _("Leads"), _("Orders")],
                         [[label(SOURCE_LABELS, r["source"]), r["leads"], r["orders"]] for r in d["sources"]]),
        "channels": Table(_("Leads by channel"), [_("Channel"), _("Leads")],
                          [[label(SOURCE_LABELS, r["channel"]), r["leads"]] for r in d["channels"]]),
        "trend": Table(_("Trend"), [_("Month")] + [label(KPI_LABELS, k) for k in ("leads", "orders", "deliveries",
                                                                               "sat_overall")],
                       [[r["month"], r["leads"], r["orders"], r["deliveries"], export_value(r["sat_overall"], "score")]
                        for r in d["trend"]]),
        "satisfaction": Table(_("Satisfaction by store"), [_("Store"), label(KPI_LABELS, "sat_overall"),
                                                           label(KPI_LABELS, "sat_sales"),
                                                           label(KPI_LABELS, "sat_after_sales")],
                              [[r["name"], export_value(r["sat_overall"], "score"),
                                export_value(r["sat_sales"], "score"), export_value(r["sat_after_sales"], "score")]
                               for r in d["satisfaction"]]),
        "defeats": Table(_("Defeats by reason"), [_("Reason"), _("Defeats")],
                         [[label(KEY_LABELS, r["key"]), r["count"]] for r in d["defeat_reasons"]]),
        "competitors": Table(_("Defeats by competitor"), [_("Competitor"), _("Defeats")],
                             [[r["key"], r["count"]] for r in d["competitors"]]),
        "tact": Table(_("Daily activity (TACT)"), [_("Figure"), _("Month total")],
                      [[label(KEY_LABELS, r["key"]), r["count"]] for r in d["tact"]]),
        "mix": Table(_("Retail vs fleet, individual vs corporate"), [_("Kind"), _("Deliveries")],
                     [[label(KEY_LABELS, r["key"]), r["count"]] for r in d["sale_types"] + d["customer_kinds"]]),
    }
    unit = units.get(d["rank_kpi"], "count")
    for by_, rows in d["rankings"].items():
        out[f"rank_{by_}"] = Table(f"{_('Ranking')}: {label(LEVEL_LABELS, by_)}",
                                   [_("Rank"), _("Name"), label(KPI_LABELS, d["rank_kpi"])],
                                   [[r["rank"], r["name"], export_value(r["value"], unit)] for r in rows])
    return out


def compliance_table(rows: list[dict]) -> Table:
    keys = ("overdue_followups", "defeats_pending", "reports_missing", "reports_late", "callbacks_past_due", "total")
    return Table(_("Store compliance"), [_("Rank"), _("Store")] + [label(COMPLIANCE_LABELS, k) for k in keys],
                 [[r["rank"], r["name"]] + [r[k] for k in keys] for r in rows])


def forecast_table(f: dict) -> Table:
    return Table(_("Delivery forecast"), [_("Store"), _("Open leads"), _("Next 7 days"), _("Next 30 days"),
                                          _("Next 90 days")],
                 [[r["name"], r["open_leads"], r["expected"][7], r["expected"][30], r["expected"][90]]
                  for r in f["stores"]])


def targets_table(rows: list[dict]) -> Table:
    return Table(_("Targets"), [_("Month"), _("Level"), _("Name"), _("KPI"), _("Target")],
                 [[r["month"], label(LEVEL_LABELS, r["level"]), r["name"], label(KPI_LABELS, r["kpi"]), r["value"]]
                  for r in rows])


def to_csv(t: Table) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(safe_row(t.headers))
    for row in t.rows:
        w.writerow(safe_row("" if v is None else v for v in row))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Chinese correctly


def _sheet(wb: Workbook, title: str, t: Table, first: bool = False):
    ws = wb.active if first else wb.create_sheet()
    ws.title = title[:31]
    ws.append(safe_row(t.headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in t.rows:
        ws.append(safe_row(row))
    for i, h in enumerate(t.headers, 1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, min(40, len(str(h)) * 2 + 2))
    return ws


def to_xlsx(t: Table) -> bytes:
    wb = Workbook()
    _sheet(wb, t.title.replace(":", " ").replace("/", " "), t, first=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def monthly_report(month: str, scopes: list[tuple[str, str, list[dict]]], extra: list[Table]) -> bytes:
    """The monthly HQ report: one sheet per KPI family (every scope's KPIs with target and
    achievement), then compliance, rankings and forecast sheets."""
    wb = Workbook()
    headers = [_("Month"), _("Level"), _("Scope"), _("KPI key"), _("KPI"), _("Actual"), _("Target"), _("Achievement"),
               _("Month on month"), _("Year on year")]
    for i, fam in enumerate(K.FAMILIES):
        rows = []
        for level, name, kpis in scopes:
            for r in kpis:
                if r["family"] == fam:
                    rows.append([month, label(LEVEL_LABELS, level), name, r["key"], label(KPI_LABELS, r["key"]),
                                 export_value(r["actual"], r["unit"]), r["target"],
                                 export_value(r["achievement"], "pct"), export_value(r["mom"], "pct"),
                                 export_value(r["yoy"], "pct")])
        _sheet(wb, str(FAMILY_LABELS[fam]), Table(str(FAMILY_LABELS[fam]), headers, rows), first=i == 0)
    for t in extra:
        _sheet(wb, t.title.replace(":", " ").replace("/", " "), t)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
