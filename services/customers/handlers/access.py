"""The access log (PIPL): who read, revealed, exported, erased or matched which customer, when and why.

Writing: every 360 read, reveal, export and erasure, and every match of a customer that the matching
store did not know yet (a cross-store match), whether from a request or from a showroom event.
Reading: a store manager sees the rows about their store's customers (the `AccessLog` scope), HQ admins
every row of the group; filterable, paginated, and exported as CSV or XLSX with every cell made safe.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.db import add
from shared.privacy import safe_row

from ..adapters.models import AccessLog, Customer, StoreRef

CROSS_STORE_MATCH = "cross_store_match"
EXPORT_LIMIT = 50_000
COLUMNS = ("at", "username", "role", "store", "customer_id", "customer", "action", "reason")


def log_access(s: Session, p: Principal, c: Customer, action: str, reason: str | None = None) -> None:
    """One line: this caller did `action` to this customer's data (`reason`: why, when they had to say)."""
    add(s, AccessLog(group_id=c.group_id, customer_id=c.id, user_id=p.user_id, username=p.username, role=p.role,
                     store_id=p.home_store, action=action, reason=reason))


def log_cross_store_match(s: Session, c: Customer, how: str, *, p: Principal | None = None,
                          actor: str | None = None, store_id: str | None = None) -> None:
    """A store's record matched a customer it did not know (`how`: which record, by which identifier).

    From a request the caller is known; from a showroom event only the acting user's id and the store.
    """
    if p is not None:
        log_access(s, p, c, CROSS_STORE_MATCH, how)
        return
    add(s, AccessLog(group_id=c.group_id, customer_id=c.id, user_id=actor or "", username="", role="",
                     store_id=store_id, action=CROSS_STORE_MATCH, reason=how))


def day_bounds(day_from: date | None, day_to: date | None, tz: str) -> tuple[datetime | None, datetime | None]:
    """Local calendar days [from, to] as UTC instants [start, end)."""
    z = ZoneInfo(tz)
    start = datetime.combine(day_from, time(0), tzinfo=z) if day_from else None
    end = datetime.combine(day_to, time(0), tzinfo=z) + timedelta(days=1) if day_to else None
    return start, end


def query(q: dict, tz: str) -> Select:
    """The log rows matching the filters (user, customer, action, local date range), newest first."""
    stmt = select(AccessLog)
    if q.get("customer_id"):
        stmt = stmt.where(AccessLog.customer_id == q["customer_id"])
    if q.get("user_id"):
        stmt = stmt.where(AccessLog.user_id == q["user_id"])
    if q.get("user"):
        stmt = stmt.where(AccessLog.username.contains(q["user"], autoescape=True))
    if q.get("action"):
        stmt = stmt.where(AccessLog.action == q["action"])
    start, end = day_bounds(q.get("date_from"), q.get("date_to"), tz)
    if start is not None:
        stmt = stmt.where(AccessLog.at >= start)
    if end is not None:
        stmt = stmt.where(AccessLog.at < end)
    return stmt.order_by(AccessLog.at.desc(), AccessLog.id)


def page(s: Session, q: dict, tz: str) -> tuple[list[AccessLog], int]:
    """One page of the log in the session's scope, and how many rows match in all."""
    stmt = query(q, tz)
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(s.scalars(stmt.limit(q["per_page"]).offset((q["page"] - 1) * q["per_page"])))
    return rows, total


def customer_names(s: Session, ids) -> dict[str, str]:
    """The names of the customers on a page of the log (an erased customer's is empty)."""
    ids = sorted({i for i in ids if i})
    return dict(s.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all()) if ids else {}


def store_names(s: Session) -> dict[str, str]:
    return dict(s.execute(select(StoreRef.id, StoreRef.name)).all())


def rows(s: Session, q: dict, tz: str, labels: dict | None = None) -> Iterator[list]:
    """The export's rows (at most `EXPORT_LIMIT`), each cell safe for a spreadsheet."""
    labels = labels or {}
    z = ZoneInfo(tz)
    found = list(s.scalars(query(q, tz).limit(EXPORT_LIMIT)))
    names, stores = customer_names(s, (a.customer_id for a in found)), store_names(s)
    for a in found:
        yield safe_row([a.at.astimezone(z).strftime("%Y-%m-%d %H:%M:%S"), a.username, labels.get(a.role, a.role),
                        stores.get(a.store_id or "", a.store_id or ""), a.customer_id, names.get(a.customer_id, ""),
                        labels.get(a.action, a.action), a.reason or ""])


def csv_bytes(s: Session, q: dict, tz: str, header=COLUMNS, labels: dict | None = None) -> bytes:
    """UTF-8 with a BOM, so that Excel opens Chinese text correctly."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf)
    w.writerow(safe_row(header))
    w.writerows(rows(s, q, tz, labels))
    return buf.getvalue().encode("utf-8")


def xlsx_bytes(s: Session, q: dict, tz: str, header=COLUMNS, labels: dict | None = None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("access_log")
    ws.append(safe_row(header))
    for row in rows(s, q, tz, labels):
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
