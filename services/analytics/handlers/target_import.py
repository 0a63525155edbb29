"""Monthly targets from a spreadsheet (批量导入目标): HQ uploads an XLSX or CSV, checks it (a dry run
that saves nothing and lists every bad row by its row number), then applies it.

One row per target: month (YYYY-MM), level (group, brand, store, consultant; or 集团, 品牌, 门店, 销售顾问),
node (a brand's or store's code or name, a consultant's user name; empty for the group), KPI (its key, or its
name in English or Chinese), value (a number of at least 0; rates as fractions, e.g. 0.25). The header row
may be in English or Chinese. A file with any bad row saves nothing, also when applied.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.errors import Invalid

from . import targets as handlers
from ..domain import kpis as K
from ..adapters.models import DimBrand, DimStore, DimUser, Target

MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024
COLUMNS = ("month", "level", "node", "kpi", "value")
HEADERS = {"month": ("month", "月份"), "level": ("level", "层级"), "node": ("node", "code", "对象", "编码"),
           "kpi": ("kpi", "指标"), "value": ("value", "target", "目标", "目标值")}
LEVEL_NAMES = {"group": ("group", "集团", "集团整体"), "brand": ("brand", "品牌"), "store": ("store", "门店"),
               "consultant": ("consultant", "销售顾问", "顾问")}
#: English messages of the row checks (the pages show their translation, by code)
MESSAGES = {"month": "use YYYY-MM, e.g. 2026-05", "level": "one of group, brand, store, consultant",
            "node": "no such brand, store or sales consultant in this group", "node_group": "leave it empty for the group",
            "kpi": "unknown KPI", "value": "a number of at least 0", "duplicate": "the same target as an earlier row",
            "required": "required"}


class SheetUnreadable(Invalid):
    """The upload is no spreadsheet this module reads (or has no header we know)."""


@dataclass
class RowError:
    row: int
    field: str
    code: str
    value: str

    def out(self) -> dict:
        return {"row": self.row, "field": self.field, "code": self.code, "value": self.value,
                "message": MESSAGES[self.code]}


def read_sheet(filename: str, data: bytes) -> list[tuple[int, list[str]]]:
    """The header and data rows of an XLSX or CSV (UTF-8, with or without BOM, or GB18030), each with its
    row number in the file (the header is row 1); blank rows left out."""
    if not data.strip():
        raise SheetUnreadable("the file is empty", errors={"file": ["empty"]})
    if len(data) > MAX_BYTES:
        raise SheetUnreadable("the file is larger than 2 MB", errors={"file": ["too large"]})
    if data[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        rows = _xlsx_rows(data)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030", errors="replace")
        rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text))]
    numbered = [(n, r) for n, r in enumerate(rows, 1) if any(c for c in r)]
    if len(numbered) > MAX_ROWS + 1:
        raise SheetUnreadable(f"at most {MAX_ROWS} rows at a time", errors={"file": ["too many rows"]})
    return numbered


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        ws = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise SheetUnreadable("not a readable XLSX or CSV file", errors={"file": ["unreadable"]}) from None
    return [["" if v is None else (f"{v:g}" if isinstance(v, float) else str(v)).strip() for v in r]
            for r in ws.iter_rows(values_only=True)]


def _columns(header: list[str]) -> dict[str, int]:
    names = {alias.lower(): col for col, aliases in HEADERS.items() for alias in aliases}
    found = {names[h.strip().lower()]: i for i, h in enumerate(header) if h.strip().lower() in names}
    missing = [c for c in COLUMNS if c not in found and c != "node"]
    if missing:
        raise SheetUnreadable(f"the header row lacks: {', '.join(missing)}", errors={"file": [
            f"columns {', '.join(COLUMNS)} (or 月份, 层级, 对象, 指标, 目标值)"]})
    return found


def _nodes(s: Session) -> dict[str, dict[str, tuple[str, str]]]:
    """Per level: what a row may name a node by (lower case) → (id, display name)."""
    out: dict[str, dict[str, tuple[str, str]]] = {"brand": {}, "store": {}, "consultant": {}}
    for id_, code, name in s.execute(select(DimBrand.id, DimBrand.code, DimBrand.name)):
        out["brand"].update({code.lower(): (id_, name), name.lower(): (id_, name)})
    for id_, code, name in s.execute(select(DimStore.id, DimStore.code, DimStore.name)):
        out["store"].update({code.lower(): (id_, name), name.lower(): (id_, name)})
    for id_, username, name in s.execute(select(DimUser.id, DimUser.username, DimUser.name).where(
            DimUser.role == "sales_consultant", DimUser.active.is_(True), DimUser.store_id.is_not(None))):
        out["consultant"][username.lower()] = (id_, name)
    return out


def check(s: Session, rows: list[tuple[int, list[str]]], kpi_names: dict[str, str]) -> tuple[list[dict], list[RowError]]:
    """The targets the rows set (with the value each replaces) and what is wrong with them."""
    if not rows:
        raise SheetUnreadable("the file has no header row", errors={"file": ["empty"]})
    cols = _columns(rows[0][1])
    nodes, levels = _nodes(s), {a.lower(): lv for lv, aliases in LEVEL_NAMES.items() for a in aliases}
    kpis = {**{k.key: k.key for k in K.KPIS}, **{n.lower(): k for n, k in kpi_names.items()}}
    current = {(t.month, t.level, t.node_id, t.kpi): t.value for t in s.scalars(select(Target))}
    seen: dict[tuple, int] = {}
    out, errors = [], []
    for n, raw in rows[1:]:
        cell = {c: (raw[i] if i < len(raw) else "").strip() for c, i in cols.items()}
        bad = _row_errors(n, cell, levels, nodes, kpis)
        errors += bad
        if bad:
            continue
        level = levels[cell["level"].lower()]
        node_id, name = ("", "") if level == "group" else nodes[level][cell.get("node", "").lower()]
        key = (cell["month"], level, node_id, kpis[cell["kpi"].lower()])
        if key in seen:
            errors.append(RowError(n, "row", "duplicate", str(seen[key])))
            continue
        seen[key] = n
        out.append({"row": n, "month": key[0], "level": level, "node_id": node_id, "node_name": name, "kpi": key[3],
                    "value": float(cell["value"]), "current": current.get(key)})
    return out, errors


def _row_errors(n: int, cell: dict[str, str], levels: dict, nodes: dict, kpis: dict) -> list[RowError]:
    errors = []
    try:
        K.parse_month(cell["month"])
    except ValueError:
        errors.append(RowError(n, "month", "month" if cell["month"] else "required", cell["month"]))
    level = levels.get(cell["level"].lower())
    node = cell.get("node", "")
    if level is None:
        errors.append(RowError(n, "level", "level" if cell["level"] else "required", cell["level"]))
    elif level == "group" and node and node.lower() not in levels:
        errors.append(RowError(n, "node", "node_group", node))
    elif level != "group" and node.lower() not in nodes[level]:
        errors.append(RowError(n, "node", "node" if node else "required", node))
    if cell["kpi"].lower() not in kpis:
        errors.append(RowError(n, "kpi", "kpi" if cell["kpi"] else "required", cell["kpi"]))
    try:
        if not 0 <= float(cell["value"]) <= 1e12:
            raise ValueError
    except ValueError:
        errors.append(RowError(n, "value", "value" if cell["value"] else "required", cell["value"]))
    return errors


def import_targets(s: Session, p: Principal, filename: str, data: bytes, apply: bool,
                   kpi_names: dict[str, str]) -> dict:
    """Check the sheet; when `apply` and no row is wrong, save every target in it (one transaction)."""
    rows, errors = check(s, read_sheet(filename, data), kpi_names)
    applied = 0
    if apply and not errors:
        for r in rows:
            handlers.set_target(s, p, r)
            applied += 1
    return {"dry_run": not apply, "rows": rows, "errors": [e.out() for e in errors], "applied": applied}


def template(month: str, kpi_labels: dict[str, str], chinese: bool, fmt: str) -> bytes:
    """An example sheet in `fmt` (xlsx or csv): the header and a row per level, in Chinese or English (both
    read back); the XLSX has a second sheet naming every KPI."""
    header = [HEADERS[c][1 if chinese else 0] for c in COLUMNS]
    level = {lv: names[1 if chinese else 0] for lv, names in LEVEL_NAMES.items()}

    def kpi(key: str) -> str:
        return kpi_labels.get(key, key) if chinese else key

    examples = [[month, level["group"], "", kpi("orders"), "120"], [month, level["brand"], "toyota", kpi("orders"), "60"],
                [month, level["store"], "sh-toyota-pd", kpi("leads"), "80"],
                [month, level["consultant"], "sh-toyota-pd.sales1", kpi("test_drive_rate"), "0.3"]]
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf).writerows([header, *examples])
        return buf.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "目标" if chinese else "targets"
    for r in (header, *examples):
        ws.append(r)
    help_ws = wb.create_sheet("指标" if chinese else "kpis")
    help_ws.append(["指标" if chinese else "kpi", "代码" if chinese else "key"])
    for k in K.KPIS:
        help_ws.append([kpi_labels.get(k.key, k.key), k.key])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
