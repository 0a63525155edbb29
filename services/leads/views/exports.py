"""Exports of the lead list to CSV and XLSX, under the same scope and masking as reading it.

Every cell goes through `shared.privacy.safe_cell`: a name typed as `=HYPERLINK(...)` stays text.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.config import DEFAULT_TIMEZONE
from shared.errors import Forbidden
from shared.permissions import CONSULTANT
from shared.privacy import safe_row, shown_phone

from ..adapters.models import StoreRef
from . import staff_names

COLUMNS = ("id", "store", "consultant", "name", "phone", "source", "level", "model", "created_at",
           "last_contact_at", "due_on", "overdue")


def check_allowed(s: Session, p: Principal) -> None:
    """Consultants export only when their store manager allowed it; every other role under its scope."""
    if p.role == CONSULTANT:
        store = s.get(StoreRef, p.home_store) if p.home_store else None
        if store is None or not store.consultants_may_export:
            raise Forbidden("exports are off for consultants at this store; ask the store manager", "export_off")


#: how the file names a code (source, level) for its reader; the default keeps the code
Words = Callable[[str, str], str]


def _code(_group: str, key: str) -> str:
    return key


def _rows(s: Session, p: Principal, stmt: Select, at: datetime, tz: str, words: Words = _code) -> Iterator[list]:
    names = staff_names(s)
    stores = dict(s.execute(select(StoreRef.id, StoreRef.name)).all())
    z = ZoneInfo(tz)

    def local(v: datetime | None) -> str:
        return v.astimezone(z).strftime("%Y-%m-%d %H:%M") if v else ""

    for lead in s.scalars(stmt.execution_options(yield_per=2000)):
        yield safe_row([
            lead.id, stores.get(lead.store_id, lead.store_id), names.get(lead.consultant_id or "", ""), lead.name,
            shown_phone(p, lead.phone, lead.holder), words("source", lead.source), words("level", lead.level),
            lead.model or "",
            local(lead.created_at), local(lead.last_contact_at), lead.due_on.isoformat() if lead.due_on else "",
            "1" if lead.overdue_at and lead.overdue_at <= at else ""])


def csv_chunks(s: Session, p: Principal, stmt: Select, at: datetime, tz: str = DEFAULT_TIMEZONE,
               header: list[str] | None = None, words: Words = _code) -> Iterator[str]:
    """UTF-8 with BOM so that Excel opens Chinese text correctly; numbers masked as `p` sees them; the
    header and the codes in the reader's words when the caller gives them."""
    buf = io.StringIO()
    w = csv.writer(buf)
    buf.write("\ufeff")
    w.writerow(header or COLUMNS)
    for i, row in enumerate(_rows(s, p, stmt, at, tz, words), 1):
        w.writerow(row)
        if i % 1000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def xlsx_bytes(s: Session, p: Principal, stmt: Select, at: datetime, tz: str = DEFAULT_TIMEZONE,
               header: list[str] | None = None, words: Words = _code) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("leads")
    ws.append(list(header or COLUMNS))
    for row in _rows(s, p, stmt, at, tz, words):
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
