"""CSV import of leads, a command queued for the leads worker: validated, deduplicated by phone within
the store, inserted in chunks, resumed where it stopped.

`submit` (the API's request) stores the job row and the uploaded file (in pieces, `ImportFileChunk`)
and returns at once. The worker (`services.leads.entrypoints.worker.ImportQueue`) claims the job with a lease,
reads the file back line by line (memory stays flat), checks rows with `domain.imports`, and commits
one chunk at a time: one multi-row INSERT of the good rows, one outbox INSERT (`emit_many`), the
rejected rows and the job's counters, in one transaction. `rows` (data rows done) is thus always the
committed truth: a worker that takes over a job whose holder stopped skips that many rows and goes
on, so no row is imported twice and none is lost. A dry run checks everything the same way and
writes no lead and no event, only the job and its error report (a dry run taken over starts again:
its duplicates-in-the-file set lived in the stopped worker's memory).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, BinaryIO, cast

from sqlalchemy import CursorResult, Table, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.bus.outbox import emit_many
from shared.db import Database, new_id
from shared.errors import Invalid
from shared.events import Event
from shared.permissions import CONSULTANT
from shared.tenancy import Scope
from shared.wake import notify

from ..domain import TIMED_SOURCES, channel_of, next_round_robin
from ..domain.imports import FileProblem, RawRow, detect_encoding, header_map, parse_row, read_rows
from ..domain.timing import Due, first_response_due, next_follow_up_due
from ..adapters.models import Campaign, ImportFileChunk, ImportJob, ImportRowError, Lead, StaffRef, StoreRef
from . import catalogue
from .common import check_may, hours_of, now, resolve_store, rules_of

log = logging.getLogger(__name__)
BATCH = 1000  # rows per committed chunk (about a second of work)
LEASE = timedelta(minutes=2)  # a worker renews its claim with every chunk; after this another may take over
PIECE = 1 << 20  # bytes per stored piece of the file
SAMPLE = 64 * 1024  # bytes the encoding is guessed from
#: the `shared.wake` channel a commit that queues an import notifies (the leads worker's import queue)
IMPORT_CHANNEL = "crm_leads_imports"


def submit(s: Session, p: Principal, store_id: str | None, filename: str, dry_run: bool,
           stream: BinaryIO) -> ImportJob:
    """Queue an import of the CSV in `stream` for the store: the job row and the file, in the caller's
    transaction (so the job is queued exactly when it commits); the leads worker runs it."""
    check_may(p, "leads.manage", "only the store manager or the group admin imports leads")
    store = resolve_store(s, p, store_id)
    job = ImportJob(group_id=store.group_id, store_id=store.id, filename=filename[:200], dry_run=dry_run,
                    size_bytes=0, created_by=p.user_id, status="queued")
    s.add(job)
    s.flush()
    table = cast(Table, ImportFileChunk.__table__)
    seq = 0
    while piece := stream.read(PIECE):  # one piece in memory at a time
        s.execute(insert(table), {"id": new_id(), "group_id": store.group_id, "store_id": store.id,
                                  "job_id": job.id, "seq": seq, "data": piece})
        job.size_bytes += len(piece)
        seq += 1
    if not job.size_bytes:
        raise Invalid("the file is empty", errors={"file": ["empty"]})
    notify(s, IMPORT_CHANNEL)  # the leads worker wakes when this commits
    return job


def _free(worker: str, at: datetime):
    return or_(ImportJob.claimed_by.is_(None), ImportJob.claimed_by == worker, ImportJob.lease_until < at)


def next_job(s: Session, worker: str, job_id: str | None = None) -> tuple[str, str] | None:
    """The (job id, group id) `worker` would take: queued, its own, or one whose worker's lease ran out."""
    q = select(ImportJob.id, ImportJob.group_id).where(ImportJob.status.in_(("queued", "running")),
                                                       _free(worker, now()))
    if job_id is not None:
        q = q.where(ImportJob.id == job_id)
    row = s.execute(q.order_by(ImportJob.created_at).limit(1)).first()
    return None if row is None else (row.id, row.group_id)


def claim(s: Session, worker: str, lease: timedelta = LEASE, job_id: str | None = None) -> tuple[str, str] | None:
    """Take the next job (`next_job`; or `job_id`, to go on with it) for `lease`: returns (job id,
    group id), or None if there is none to take. Two workers cannot both take one job: the
    conditional UPDATE succeeds for one of them."""
    found = next_job(s, worker, job_id)
    if found is None:
        return None
    at = now()
    taken = cast("CursorResult[Any]", s.execute(
        update(ImportJob).where(ImportJob.id == found[0], _free(worker, at))
        .values(claimed_by=worker, lease_until=at + lease, status="running")
        .execution_options(synchronize_session=False)))
    return found if taken.rowcount == 1 else None


class LostClaim(Exception):
    """Another worker took the job over (this one was too slow to renew its lease): stop, change nothing."""


class _Lines:
    """Binary lines of the stored file's pieces, counting the bytes read for progress."""

    def __init__(self, pieces: Iterator[bytes]):
        self.pieces, self.read = pieces, 0
        self.head = next(pieces, b"")

    def __iter__(self) -> Iterator[bytes]:
        buf, pos = self.head, 0
        while True:
            nl = buf.find(b"\n", pos)
            if nl >= 0:
                line, pos = buf[pos:nl + 1], nl + 1
                self.read += len(line)
                yield line
                continue
            more = next(self.pieces, b"")
            if not more:
                if pos < len(buf):
                    self.read += len(buf) - pos
                    yield buf[pos:]
                return
            buf, pos = buf[pos:] + more, 0


def _pieces(db: Database, scope: Scope, job_id: str) -> Iterator[bytes]:
    seq = 0
    while True:
        with db.session(scope) as s:
            data = s.scalar(select(ImportFileChunk.data).where(ImportFileChunk.job_id == job_id,
                                                              ImportFileChunk.seq == seq))
        if data is None:
            return
        yield data
        seq += 1


@dataclass
class Run:
    """A job a worker is running: where it is in the file, and what every chunk needs."""

    job_id: str
    scope: Scope
    ctx: _Context
    rows: Iterator[RawRow]
    cols: dict
    encoding: str
    lines: _Lines
    dry: bool
    actor: str | None
    default_source: str = "online"


def open_run(db: Database, scope: Scope, job_id: str, default_source: str = "online") -> Run | None:
    """Read the job's file from its start and skip the rows already committed; None if the job ended
    here (a file that cannot be read fails the job with the reason)."""
    with db.session(scope) as s:
        job = s.get_one(ImportJob, job_id)
        job.progressed_at = now()
        store_id, done, dry, actor = job.store_id, job.rows, job.dry_run, job.created_by
        if dry and done:  # start the dry run again: its file-level duplicate check lived in memory
            s.execute(delete(ImportRowError).where(ImportRowError.job_id == job_id))
            job.rows = job.imported = job.duplicates = job.bad_rows = job.bytes_read = 0
            done = 0
    try:
        lines = _Lines(_pieces(db, scope, job_id))
        encoding = detect_encoding(lines.head[:SAMPLE])
        header, rows = read_rows(lines, encoding)
        cols = header_map(header)
    except FileProblem as exc:
        _finish(db, scope, job_id, "failed", str(exc))
        return None
    with db.session(scope) as s:
        s.get_one(ImportJob, job_id).encoding = encoding
        ctx = _Context(s, store_id)
    for _ in islice(rows, done):  # committed by the worker before: not again
        pass
    return Run(job_id, scope, ctx, rows, cols, encoding, lines, dry, actor, default_source)


def step(db: Database, run: Run, worker: str, batch: int = BATCH, lease: timedelta = LEASE) -> bool:
    """Check and write the next chunk of rows in one transaction (renewing the lease); the last chunk
    also ends the job. Returns whether rows are left."""
    rows = list(islice(run.rows, batch))
    last = len(rows) < batch
    _batch(db, run, rows, worker, lease, last)
    return not last


def give_up(db: Database, scope: Scope, job_id: str) -> None:
    """An unexpected error: the job ends failed, the chunks committed before it stay."""
    log.exception("import %s failed", job_id)
    _finish(db, scope, job_id, "failed", "internal error; rows imported before it are kept")


def _finish(db: Database, scope: Scope, job_id: str, status: str, message: str | None) -> None:
    with db.session(scope) as s:
        job = s.get_one(ImportJob, job_id)
        job.status, job.message, job.finished_at, job.claimed_by = status, message, now(), None
        s.execute(delete(ImportFileChunk).where(ImportFileChunk.job_id == job_id))  # an ended job needs no file


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


def _batch(db: Database, run: Run, batch: list[RawRow], worker: str, lease: timedelta, last: bool) -> None:
    ctx = run.ctx
    store, rules = ctx.store, ctx.rules
    good: list[tuple[int, dict]] = []
    errors: list[dict] = []
    for raw in batch:
        parsed = parse_row(raw, run.cols, rules.sources, run.default_source, run.encoding)
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
    with db.session(run.scope) as s:
        job = s.get_one(ImportJob, run.job_id, with_for_update=True)  # PostgreSQL: a takeover waits for this chunk
        if job.claimed_by != worker:
            raise LostClaim(run.job_id)
        phones = {d["phone"] for _, d in good}
        existing = set(s.scalars(select(Lead.phone).where(Lead.store_id == store.id,
                                                          Lead.phone.in_(sorted(phones))))) if phones else set()
        leads = []
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
            leads.append(_row(ctx, d, at, run.actor, due, response_due))
        if run.dry:
            ctx.seen |= batch_seen  # nothing is written, so later batches cannot find these in the table
        elif leads:
            s.execute(insert(cast(Table, Lead.__table__)), leads)  # Core: the rows as given, one INSERT
            emit_many(s, [_created(store, r, run.actor) for r in leads])
            if store.round_robin:
                s.get_one(StoreRef, store.id).last_assigned_id = ctx.last
        if errors:
            s.execute(insert(cast(Table, ImportRowError.__table__)), [
                {"id": new_id(), "group_id": store.group_id, "store_id": store.id, "job_id": run.job_id, **e}
                for e in errors])
        job.rows += len(batch)
        job.imported += len(leads)
        job.duplicates += sum(1 for e in errors if e["duplicate"])
        job.bad_rows += sum(1 for e in errors if not e["duplicate"])
        job.bytes_read = run.lines.read
        job.progressed_at, job.lease_until = now(), now() + lease
        if last:
            job.status, job.finished_at, job.claimed_by = "done", now(), None
            job.bytes_read = job.size_bytes or run.lines.read
            s.execute(delete(ImportFileChunk).where(ImportFileChunk.job_id == run.job_id))


def _created(store: StoreRef, r: dict, actor: str | None) -> Event:
    return Event(type="leads.lead.created", group_id=store.group_id, brand_id=store.brand_id, store_id=store.id,
                 actor=actor, data={
                     "lead_id": r["id"], "name": r["name"], "phone": r["phone"], "source": r["source"],
                     "level": "N", "consultant_id": r["consultant_id"], "campaign_id": r["campaign_id"],
                     "model": r["model"], "model_id": r["model_id"], "channel": channel_of(r["source"]),
                     "at": r["created_at"],
                     "due_on": r["due_on"], "overdue_at": r["overdue_at"]})


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
