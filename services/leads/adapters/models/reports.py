"""Daily activity reports with their amendments, and CSV import jobs."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, LargeBinary, String, UniqueConstraint, and_
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import id_column, utcnow
from shared.tenancy import Scope, StoreScoped

from .base import Base


class DailyReport(StoreScoped, Base):
    """A submitted daily report: a consultant's (营业员活动日报) or the store's TACT statistics.

    Submitted figures are final; changes are `ReportAmendment`s kept beside the original.
    """

    __tablename__ = "daily_reports"
    __table_args__ = (UniqueConstraint("store_id", "owner", "day"),)
    id: Mapped[str] = id_column()
    owner: Mapped[str] = mapped_column(String(36))  # the consultant's user id, or "store"
    consultant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    day: Mapped[date] = mapped_column(Date)
    figures: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    deadline_at: Mapped[datetime] = mapped_column()
    late: Mapped[bool] = mapped_column(Boolean, default=False)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.personal:
            crit = and_(crit, cls.owner == scope.user_id)  # a consultant sees their own reports
        return crit


class ReportAmendment(StoreScoped, Base):
    """A change to a submitted report: the fields changed, their old values, who, when and why.

    A consultant's amendment is a request (`pending`) until the store manager approves it (then it is in
    force) or rejects it; the manager's own amendments to the store's statistics are in force at once.
    """

    __tablename__ = "report_amendments"
    id: Mapped[str] = id_column()
    report_id: Mapped[str] = mapped_column(String(36), index=True)
    changes: Mapped[dict] = mapped_column(JSON)
    previous: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(500))
    author: Mapped[str | None] = mapped_column(String(36), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="approved", server_default="approved")  # pending approved rejected
    decided_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(500), nullable=True)


class ImportJob(StoreScoped, Base):
    """A CSV import of leads, a command queued for the leads worker (`services.leads.entrypoints.worker`).

    The counters move with every committed chunk, so a page can show progress; `rows` is also where
    a worker that takes the job over (the one that held it stopped: its lease ran out) resumes."""

    __tablename__ = "import_jobs"
    id: Mapped[str] = id_column()
    filename: Mapped[str] = mapped_column(String(200))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued running done failed (interrupted: before 2026-12)
    encoding: Mapped[str | None] = mapped_column(String(20), nullable=True)
    size_bytes: Mapped[int] = mapped_column(default=0)
    bytes_read: Mapped[int] = mapped_column(default=0)
    rows: Mapped[int] = mapped_column(default=0)
    imported: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    bad_rows: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    progressed_at: Mapped[datetime | None] = mapped_column(nullable=True)  # last sign of life while running
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: the worker running it, until when (renewed with every chunk); another worker may take it after that
    claimed_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)


class ImportFileChunk(StoreScoped, Base):
    """The uploaded file of an import, in pieces of up to a megabyte, kept until the job ends (a
    worker that takes a job over reads it again)."""

    __tablename__ = "import_file_chunks"
    id: Mapped[str] = id_column()
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    seq: Mapped[int] = mapped_column()
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportRowError(StoreScoped, Base):
    """One rejected row of an import: its row number in the file (header = row 1) and the reason."""

    __tablename__ = "import_row_errors"
    id: Mapped[str] = id_column()
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    row: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(300))
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)


class ReportReopening(StoreScoped, Base):
    """The store manager reopens a report day after its deadline (the seeds' rule: submitted figures are
    final and late back-filling is not accepted, unless the manager reopens it); one submission uses it."""

    __tablename__ = "report_reopenings"
    id: Mapped[str] = id_column()
    owner: Mapped[str] = mapped_column(String(36))  # the consultant's user id, or "store"
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ReportMiss(StoreScoped, Base):
    """A consultant's report of a day that was not in by its deadline, published once as `leads.report.missed`."""

    __tablename__ = "report_misses"
    __table_args__ = (UniqueConstraint("store_id", "consultant_id", "day"),)
    id: Mapped[str] = id_column()
    consultant_id: Mapped[str] = mapped_column(String(36))
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(default=utcnow)
