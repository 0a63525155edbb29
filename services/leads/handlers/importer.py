"""CSV import of leads: streamed, validated, deduplicated by phone within the store, inserted in batches.

The file is read line by line (memory stays flat), rows are checked with `domain_import`, each batch
of good rows becomes one multi-row INSERT plus one outbox INSERT (`emit_many`) in one transaction,
and the job row's counters move after every batch so a page can show progress. A dry run checks
everything the same way and writes no lead and no event, only the job and its error report.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import BinaryIO, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.bus.outbox import emit_many
from shared.db import Database, new_id
from shared.events import Event
from shared.permissions import CONSULTANT
from shared.tenancy import Scope

from ..domain import TIMED_SOURCES, channel_of, next_round_robin
from ..domain_import import FileProblem, detect_encoding, header_map, parse_row, read_rows
from ..domain_time import Due, first_response_due, next_follow_up_due
from ..models import Campaign, ImportJob, ImportRowError, Lead, StaffRef, StoreRef
from . import catalogue
from .common import check_may, hours_of, now, resolve_store, rules_of

log = logging.getLogger(__name__)
BATCH = 1000
STALLED = timedelta(minutes=10)  # a batch takes about a second: this long without progress means cut off
SAMPLE = 64 * 1024


def start(s: Session, p: Principal, store_id: str | None, filename: str, dry_run: bool, size: int) -> ImportJob:
    """Create the job row; the caller then runs `run` (in a thread for the web, inline for tests and benches)."""
    check_may(p, "leads.manage", "only the store manager or the group admin imports leads")
    store = resolve_store(s, p, store_id)
    job = ImportJob(group_id=store.group_id, store_id=store.id, filename=filename[:200], dry_run=dry_run,
                    size_bytes=size, created_by=p.user_id, status="queued")
    s.add(job)
    s.flush()
    return job


class _Lines:
    """Binary lines of a stream, counting the bytes read for progress."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self.head, self.stream, self.read = head, stream, 0

    def __iter__(self):
        rest = self.head
        while True:
            nl = rest.find(b"\n")
            if nl >= 0:
                line, rest = rest[:nl + 1], rest[nl + 1:]
                self.read += len(line)
                yield line
                continue
            more = self.stream.read(SAMPLE)
            if not more:
                if rest:
                    self.read += len(rest)
                    yield rest
                return
            rest += more


def run(db: Database, scope: Scope, job_id: str, stream: BinaryIO, actor: str | None = None,
        default_source: str = "online") -> ImportJob:
    """Import (or dry-run) the CSV in `stream` for the job's store; never raises for bad input."""
    with db.session(scope) as s:
        job = s.get_one(ImportJob, job_id)
        job.status, job.progressed_at = "running", now()
        store_id = job.store_id
    try:
        head = stream.read(SAMPLE)
        encoding = detect_encoding(head)
        lines = _Lines(head, stream)
        header, rows = read_rows(lines, encoding)
        cols = header_map(header)
        with db.session(scope) as s:
            s.get_one(ImportJob, job_id).encoding = encoding
        _import(db, scope, job_id, store_id, rows, cols, encoding, lines, actor, default_source)
    except FileProblem as exc:
        _finish(db, scope, job_id, "failed", str(exc))
    except Exception:
        log.exception("import %s failed", job_id)
        _finish(db, scope, job_id, "failed", "internal error; rows imported before it are kept")
    with db.session(scope) as s:
        return s.get_one(ImportJob, job_id)


def settle_stalled(jobs: Iterable[ImportJob]) -> None:
    """An import that shows no progress for `STALLED` was cut off (the service restarted mid-file): say so.

    Batches before the cut are committed and stay; uploading the file again skips them as duplicates.
    """
    limit = now() - STALLED
    for job in jobs:
        if job.status in ("queued", "running") and (job.progressed_at or job.created_at) < limit:
            job.status, job.finished_at = "interrupted", now()
            job.message = (f"The import stopped after {job.rows} rows (the service restarted); those rows are "
                           "kept. Upload the file again: rows already imported are skipped as duplicates.")


def _finish(db: Database, scope: Scope, job_id: str, status: str, message: str | None) -> None:
    with db.session(scope) as s:
        job = s.get_one(ImportJob, job_id)
        job.status, job.message, job.finished_at = status, message, now()


class _Context:
    """What every batch needs: the store, its rules, staff by username, round-robin state, the seen set."""

    def __init__(self, s: Session, store_id: str):
        self.store = s.get_one(StoreRef, store_id)
        self.rules = rules_of(s, self.store.group_id)
        self.hours = hours_of(self.rules, self.store)
        staff = s.execute(select(StaffRef.username, StaffRef.id, StaffRef.on_duty).where(
            StaffRef.store_id == store_id, StaffRef.role == CONSULTANT, StaffRef.active.is_(True))).all()
        self.by_username = {u: i for u, i, _ in staff}
        self.on_duty = sorted(i for _, i, d in staff if d)
        self.campaigns = set(s.scalars(select(Campaign.id).where(Campaign.store_id == store_id)))
        self.models = catalogue.resolver(s, self.store.brand_id)
        self.last = self.store.last_assigned_id
        self.seen: set[str] = set()


def _import(db: Database, scope: Scope, job_id: str, store_id: str, rows: Iterable, cols: dict, encoding: str,
            lines: _Lines, actor: str | None, default_source: str) -> None:
    with db.session(scope) as s:
        ctx = _Context(s, store_id)
        dry = s.get_one(ImportJob, job_id).dry_run
    batch: list = []
    for raw in rows:
        batch.append(raw)
        if len(batch) >= BATCH:
            _batch(db, scope, job_id, ctx, batch, cols, encoding, lines, actor, dry, default_source)
            batch = []
    _batch(db, scope, job_id, ctx, batch, cols, encoding, lines, actor, dry, default_source)
    with db.session(scope) as s:
        if not dry and ctx.store.round_robin:
            s.get_one(StoreRef, store_id).last_assigned_id = ctx.last
        job = s.get_one(ImportJob, job_id)
        job.status, job.finished_at, job.bytes_read = "done", now(), job.size_bytes or lines.read


def _batch(db: Database, scope: Scope, job_id: str, ctx: _Context, batch: list, cols: dict, encoding: str,
           lines: _Lines, actor: str | None, dry: bool, default_source: str) -> None:
    store, rules = ctx.store, ctx.rules
    good: list[tuple[int, dict]] = []
    errors: list[dict] = []
    for raw in batch:
        parsed = parse_row(raw, cols, rules.sources, default_source, encoding)
        if isinstance(parsed, str):
            errors.append({"row": raw.row, "reason": parsed, "duplicate": False})
        elif parsed["consultant"] and parsed["consultant"] not in ctx.by_username:
            errors.append({"row": raw.row, "reason": f"unknown consultant: {parsed['consultant']!r}",
                           "duplicate": False})
        elif parsed["campaign_id"] and parsed["campaign_id"] not in ctx.campaigns:
            errors.append({"row": raw.row, "reason": f"unknown campaign: {parsed['campaign_id']!r}",
                           "duplicate": False})
        elif problem := model_problem(ctx, parsed):
            errors.append({"row": raw.row, "reason": problem, "duplicate": False})
        else:
            good.append((raw.row, parsed))
    at = now()
    due = next_follow_up_due(at, rules.cadence_for("N"), store.timezone)  # the same for every row of the batch
    response_due = first_response_due(at, ctx.hours, rules.sla_minutes)
    with db.session(scope) as s:
        phones = {d["phone"] for _, d in good}
        existing = set(s.scalars(select(Lead.phone).where(Lead.store_id == store.id,
                                                          Lead.phone.in_(sorted(phones))))) if phones else set()
        leads, events = [], []
        batch_seen: set[str] = set()
        for row, d in good:
            ph = d["phone"]
            if ph in existing:
                errors.append({"row": row, "reason": f"duplicate: {ph} is already a lead of this store",
                               "duplicate": True})
                continue
            if ph in batch_seen or ph in ctx.seen:
                errors.append({"row": row, "reason": f"duplicate: {ph} appears earlier in the file",
                               "duplicate": True})
                continue
            batch_seen.add(ph)
            leads.append(_row(ctx, d, at, actor, due, response_due))
        if dry:
            ctx.seen |= batch_seen  # nothing is written, so later batches cannot find these in the table
        elif leads:
            s.execute(insert(cast(Table, Lead.__table__)), leads)  # Core: the rows as given, one INSERT
            for r in leads:
                events.append(Event(type="leads.lead.created", group_id=store.group_id, brand_id=store.brand_id,
                                    store_id=store.id, actor=actor, data={
                                        "lead_id": r["id"], "name": r["name"], "phone": r["phone"],
                                        "source": r["source"], "level": "N", "consultant_id": r["consultant_id"],
                                        "campaign_id": r["campaign_id"], "model": r["model"],
                                        "model_id": r["model_id"],
                                        "channel": channel_of(r["source"]), "at": r["created_at"],
                                        "due_on": r["due_on"], "overdue_at": r["overdue_at"]}))
            emit_many(s, events)
        if errors:
            s.execute(insert(cast(Table, ImportRowError.__table__)), [
                {"id": new_id(), "group_id": store.group_id, "store_id": store.id, "job_id": job_id, **e}
                for e in errors])
        job = s.get_one(ImportJob, job_id)
        job.rows += len(batch)
        job.imported += len(leads)
        job.duplicates += sum(1 for e in errors if e["duplicate"])
        job.bad_rows += sum(1 for e in errors if not e["duplicate"])
        job.bytes_read = lines.read
        job.progressed_at = now()


def model_problem(ctx: _Context, parsed: dict) -> str | None:
    """A row's model name mapped to the brand's catalogue entry (the catalogue's name and id), or why not."""
    entry, problem = ctx.models.resolve(parsed["model"])
    if entry is not None:
        parsed["model"], parsed["model_id"] = entry.name, entry.id
    return problem


def _row(ctx: _Context, d: dict, at: datetime, actor: str | None, due: Due | None, response_due: datetime) -> dict:
    store = ctx.store
    consultant = ctx.by_username.get(d["consultant"]) if d["consultant"] else None
    if consultant is None and store.round_robin:
        consultant = next_round_robin(ctx.on_duty, ctx.last)
        ctx.last = consultant or ctx.last
    return {
        "id": new_id(), "group_id": store.group_id, "store_id": store.id, "brand_id": store.brand_id,
        "consultant_id": consultant, "name": d["name"], "phone": d["phone"], "source": d["source"],
        "campaign_id": d["campaign_id"], "level": "N", "model": d["model"], "model_id": d.get("model_id"),
        "note": d["note"],
        "created_by": actor, "created_at": at, "idempotency_key": None, "last_contact_at": None,
        "due_on": due.due_on if due else None, "overdue_at": due.overdue_at if due else None,
        "level_changed_at": None, "expected_by": None,
        "response_due_at": response_due if d["source"] in TIMED_SOURCES else None,
        "first_contact_at": None, "response_seconds": None, "within_sla": None, "audited_at": None,
        "defeat_pending": False, "closed_at": None, "planned_on": None,
    }
