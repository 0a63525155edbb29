"""SQLAlchemy 2 engine and session per service, and the unit of work every handler runs in."""
from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Connection, DateTime, Engine, MetaData, String, Table, create_engine, event, insert, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, make_transient_to_detached, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator
from uuid6 import uuid7

from shared import clock
from shared.tenancy import Scope, check_rows, install_scoping

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A UUIDv7: time-ordered, so that new rows go to the end of their primary-key index (a few hot
    pages) instead of a random page of a large index; its 74 random bits keep it unguessable."""
    return str(uuid7())


def utcnow() -> datetime:
    """Now in UTC, from the platform clock (tests can move it)."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; store UTC-aware datetimes")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def result_processor(self, dialect, coltype):
        """On PostgreSQL a column of this type is a `timestamptz`, which psycopg reads aware: the driver's
        value as it is, without a call per value (five per listed lead); elsewhere `process_result_value`."""
        if dialect.name == "postgresql":
            return self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)
        return super().result_processor(dialect, coltype)


class Conventions:
    """What every service's declarative base shares, as a mixin mypy can see through:
    `class Base(Conventions, DeclarativeBase): metadata = MetaData(naming_convention=NAMING)`
    (the metadata is the service's own; the constraint names and UTC datetimes are everyone's)."""

    type_annotation_map = {datetime: UTCDateTime()}


def make_base() -> type[DeclarativeBase]:
    """A declarative base with its own metadata (tests and benches that build throwaway models)."""

    class Base(Conventions, DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING)

    return Base


def id_column() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_id)


#: the read-only stretch this thread is in, if any (`read_only`, `ReadsFirst`); None: transactions write
_READING: ContextVar[ReadOnly | None] = ContextVar("sqlite_reading", default=None)
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "UPSERT", "CREATE", "DROP", "ALTER"})


class ReadOnly:
    """A stretch of work that only reads: its SQLite transactions begin deferred, so they take no
    write lock and never wait for a writer (WAL readers see the last commit). `wrote` becomes True
    when a statement tried to write in it anyway (`WroteInReadOnly` was raised)."""

    def __init__(self) -> None:
        self.wrote = False


class WroteInReadOnly(RuntimeError):
    """A statement that writes ran in a transaction begun as read-only. A deferred SQLite transaction
    that has read cannot safely become a writer (another writer may have committed since its snapshot,
    and then it fails with `database is locked` whatever the busy timeout), so the write is refused
    before it runs; `ReadsFirst` then runs the request again as a writer."""


@contextmanager
def read_only() -> Iterator[ReadOnly]:
    """SQLite transactions begun in this block read only (deferred BEGIN, no write lock); a write in
    them raises `WroteInReadOnly`. Elsewhere every transaction is `BEGIN IMMEDIATE`."""
    mark = ReadOnly()
    token = _READING.set(mark)
    try:
        yield mark
    finally:
        _READING.reset(token)


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL, a busy timeout, and BEGIN IMMEDIATE for every transaction that may write: SQLite serialises
    writers instead of failing them (a deferred transaction that reads, then writes, fails when another
    writer committed meanwhile). Inside `read_only` a transaction begins deferred instead: readers never
    wait for the write lock, and a write there is refused before it runs (`WroteInReadOnly`)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        reading = _READING.get()
        conn.info["reading"] = reading
        conn.exec_driver_sql("BEGIN" if reading is not None else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "before_cursor_execute")
    def _refuse_writes_in_reads(conn, _cursor, statement, _params, _context, _executemany):
        reading = conn.info.get("reading")
        if reading is not None and conn.in_transaction() and _writes(statement):
            reading.wrote = True
            raise WroteInReadOnly(f"a write in a read-only transaction: {statement[:80]}")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _end(conn):
        conn.info.pop("reading", None)


def _writes(statement: str) -> bool:
    words = statement.lstrip().split(None, 1)
    return bool(words) and words[0].upper() in _WRITES


class ReadsFirst:
    """WSGI middleware for a service on SQLite: a GET or HEAD request runs `read_only` (its reads take
    no write lock and never queue behind writers). If it turns out to write (a read that logs access,
    say), its answer is dropped and it runs once more from the start with writing transactions; the
    first run saved nothing, since its transaction was refused before the write. A response streamed
    after its first byte cannot be taken back: a streamed GET that writes late must not be served so."""

    SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") not in self.SAFE:
            return self.app(environ, start_response)
        dropped = []

        def first_start_response(status, headers, exc_info=None):
            if mark.wrote:  # this answer is the refused write's: run again instead
                dropped.append(status)
                return lambda _data: None
            return start_response(status, headers, exc_info)

        with read_only() as mark:
            body = self.app(environ, first_start_response)
        if not dropped:
            return body
        if hasattr(body, "close"):
            body.close()
        return self.app(environ, start_response)


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kw)
        _sqlite_pragmas(engine)
        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    kw.setdefault("pool_pre_ping", True)
    # psycopg prepares a statement run five times; PostgreSQL may then keep a generic plan made when a
    # table was small (or its statistics stale: a consumer's inbox-driven tables grow from nothing),
    # e.g. a sequential scan for `lead_id IN (…)` that costs more with every row. Plan each execution
    # with its actual values instead: a fraction of a millisecond, against a plan that degrades.
    args = kw.setdefault("connect_args", {})
    args["options"] = f"{args.get('options', '')} -c plan_cache_mode=force_custom_plan".strip()
    # not `use_insertmanyvalues_wo_returning`: psycopg re-parses a long multi-row INSERT every time,
    # which costs more than its executemany pipeline (rows written in bulk go through `insert_rows`)
    engine = create_engine(url, **kw)
    if engine.dialect.driver == "psycopg":
        engine.dialect.do_ping = _ping_without_a_transaction  # type: ignore[method-assign]
    return engine


def _ping_without_a_transaction(dbapi_connection) -> bool:
    """The pool's pre-ping on psycopg: a protocol Sync (an empty pipeline), answered by the server's
    ReadyForQuery: one round trip, as SQLAlchemy's own ping (`;`), but no statement, so no transaction.
    SQLAlchemy's ping is a transaction of its own, and PostgreSQL counts it in `xact_commit`: one commit
    per checkout, an idle worker's look included (issue 12: no commits while idle). A connection the
    server ended fails here as it did there (`OperationalError`, the connection then `broken`), and
    the pool replaces it."""
    with dbapi_connection.pipeline():
        pass
    return True


def give_back(conn: Connection | None, lost: bool = False) -> None:
    """Give back a connection kept checked out between units of work (the relay's, a consumer's), or,
    `lost` (the server ended it), throw it away so that the pool connects afresh."""
    if conn is not None:
        if lost:
            conn.invalidate()
        conn.close()


BULK = "bulk_pending"  # session.info key: new rows waiting for `bulk_inserts` to write them


def add(session: Session, obj) -> None:
    """`session.add`, or, inside `bulk_inserts`, keep the new row for the block's one INSERT per table."""
    pending = session.info.get(BULK)
    if pending is None:
        session.add(obj)
    else:
        pending.append(obj)


class NewRow:
    """A new row given by its column values (`add_row` inside `bulk_inserts`), without an ORM object:
    what the tenant check reads (`row_model`, `group_id`, `store_id`) and stamps (`group_id`)."""

    __slots__ = ("row_model", "values")

    def __init__(self, model: type, values: dict):
        self.row_model, self.values = model, values

    @property
    def group_id(self):
        return self.values.get("group_id")

    @group_id.setter
    def group_id(self, value) -> None:
        self.values["group_id"] = value

    @property
    def store_id(self):
        return self.values.get("store_id")


def add_row(session: Session, model: type, /, **values) -> None:
    """A new row that is only ever inserted (a timeline line, an identifier): inside `bulk_inserts` kept
    as its values for the block's INSERT (building and filling an ORM object costs more than the row's
    share of the INSERT); elsewhere `session.add(model(**values))`. The same row either way."""
    pending = session.info.get(BULK)
    if pending is None:
        session.add(model(**values))
    else:
        pending.append(NewRow(model, values))


@functools.cache
def _column_keys(model: Any) -> dict[str, str]:
    """A mapped class's column keys by attribute name."""
    return {attr: col.key for attr, col in model.__mapper__.columns.items()}


@contextmanager
def bulk_inserts(session: Session) -> Iterator[None]:
    """New rows given to `add` in this block are inserted when it ends, one `insert_rows` per table in
    foreign-key order, instead of one by one through the unit of work (which costs more than the
    database does in a batch of events).

    The rows stay transient objects: the block must not read them back through the session (it runs
    without autoflush, so queries would not see them anyway), and changes made to them after the
    block are not saved. They pass the same tenant check as rows the unit of work flushes.
    """
    if BULK in session.info:
        raise RuntimeError("bulk_inserts blocks do not nest")
    session.info[BULK] = []
    try:
        with session.no_autoflush:
            yield
        pending = session.info[BULK]
    finally:
        session.info.pop(BULK, None)
    check_rows(session, pending)
    by_table: dict = {}
    for obj in pending:
        by_table.setdefault(_model(obj).__table__, []).append(obj)
    for table in _model(pending[0]).metadata.sorted_tables if pending else ():
        objs = by_table.get(table)
        if objs:
            insert_rows(session, table, [_values(obj) for obj in objs])


def _model(obj) -> Any:  # a mapped class
    return obj.row_model if type(obj) is NewRow else type(obj)


def _values(obj) -> dict:
    """The column values set on a transient object or given to `add_row`, by column key (defaults fill
    the rest at insert)."""
    if type(obj) is NewRow:
        keys = _column_keys(obj.row_model)
        return {keys[attr]: v for attr, v in obj.values.items()}
    state = obj.__dict__
    return {col.key: state[attr] for attr, col in type(obj).__mapper__.columns.items() if attr in state}


def insert_now(session: Session, obj) -> None:
    """INSERT one new ORM object now, by one Core statement, and keep it in the session as the unit of work
    would after flushing it: persistent, its later changes flushed as UPDATEs.

    For the one row a request creates: the unit of work's flush of a single object (its dependency sort,
    per-attribute history, the mapper's insert machinery) costs several times the statement. The row
    passes the same tenant check; Python-side column defaults are filled as the flush fills them, every
    other column left unset is NULL on the object as in the row, but one the server fills (a server
    default without a Python one), which is read back when first asked for, as after a flush.
    """
    model = type(obj)
    check_rows(session, [obj])
    state, values = obj.__dict__, {}
    for attr, col, default, by_server in _insert_plan(model):  # type: ignore[arg-type]  # a class is hashable
        if attr in state:
            values[col.key] = state[attr]
        elif not by_server:
            value = None if default is None else _default_value(default)
            setattr(obj, attr, value)
            values[col.key] = value
    session.execute(insert(model.__table__), [values])
    make_transient_to_detached(obj)  # as if loaded: no pending history; an attribute not set is expired
    session.add(obj)


@functools.cache
def _insert_plan(model: Any) -> list[tuple[str, Column, Any, bool]]:
    """A mapped class's columns for `insert_now`: (attribute, column, Python default, filled by the server)."""
    plan = []
    for attr, col in model.__mapper__.columns.items():
        default = _python_default(col)
        plan.append((attr, col, default, default is None and col.server_default is not None))
    return plan


def insert_rows(session: Session, table: Table, rows: list[dict], notify: str | None = None) -> None:
    """INSERT many rows (dicts by column key, not all with the same keys) in the session's transaction.

    On PostgreSQL it is one statement with the rows as one JSON parameter (`INSERT … SELECT … FROM
    json_populate_recordset(…)`, which converts each value to its column's type): one message from
    psycopg and one executor run on the server, where an executemany costs a round of both per row
    (and psycopg's array parameters escape every string with a regex). Elsewhere it is an executemany.
    Either way Python-side column defaults fill what a row leaves out, as Core does; the rest is NULL.
    On PostgreSQL a JSON column's None is SQL NULL (the unit of work writes JSON `null`; both read
    back as None). `notify`: on PostgreSQL, a channel the same statement notifies (delivered when the
    transaction commits), saving the round trip of a NOTIFY of its own.
    """
    if not rows:
        return
    cols = [c for c in table.columns if any(c.key in r for r in rows) or _python_default(c) is not None]
    values = [_filled(c, rows) for c in cols]
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        keys = [c.key for c in cols]
        session.execute(insert(table), [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)])
        return
    quoted, source, params = _recordset(table, cols, values, dialect)
    name = dialect.identifier_preparer.format_table(table)
    sql = f"INSERT INTO {name} ({quoted}) SELECT {quoted} FROM {source} ORDER BY ordinality"  # in the given order
    if notify is None:
        session.execute(text(sql), params)
    else:  # a data-modifying WITH runs whether or not the query reads it
        session.execute(text(f"WITH written AS ({sql}) SELECT pg_notify(:channel, '')"), {**params, "channel": notify})


def json_recordset(session: Session, table: Table, rows: list[dict]) -> tuple[str, str, dict]:
    """PostgreSQL: rows (dicts by column key, every row with the same keys) as one JSON parameter read
    back as the table's row type, for a statement of one's own (an upsert, an UPDATE … FROM) with
    `insert_rows`' economy: (the quoted column names, `json_populate_recordset(…) WITH ORDINALITY`
    to select them from, its parameters). The SQL text is the same whatever the number of rows."""
    cols = [table.c[k] for k in rows[0]]
    return _recordset(table, cols, [[r[c.key] for r in rows] for c in cols], session.get_bind().dialect)


def _recordset(table: Table, cols: list[Column], values: list[list], dialect) -> tuple[str, str, dict]:
    """The columns' values (one list per column) as one JSON parameter; see `json_recordset`."""
    values = [_bound(c, v, dialect) for c, v in zip(cols, values, strict=True)]
    names = [c.name for c in cols]
    payload = json.dumps([dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)],
                         ensure_ascii=False, default=_json_scalar)
    quoted = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
    name = dialect.identifier_preparer.format_table(table)
    return quoted, f"json_populate_recordset(NULL::{name}, CAST(:rows AS json)) WITH ORDINALITY", {"rows": payload}


def _python_default(col: Column):
    d = col.default
    return d if d is not None and (d.is_scalar or d.is_callable) else None


def _filled(col: Column, rows: list[dict]) -> list:
    """One column of `rows`, with the column's Python-side default where a row leaves it out."""
    default = _python_default(col)
    if default is None:
        if col.server_default is not None and not all(col.key in r for r in rows):
            raise ValueError(f"insert_rows: some rows leave out {col.key}, which only the server fills in")
        return [r.get(col.key) for r in rows]
    return [r[col.key] if col.key in r else _default_value(default) for r in rows]


def _default_value(default):
    """A Python-side column default's value, as the flush computes it (a callable is called per row)."""
    return default.arg(None) if default.is_callable else default.arg


def _bound(col: Column, values: list, dialect) -> list:
    """A column's values after its type's bind processing (JSON values stay as they are: nested JSON)."""
    process = None if isinstance(col.type, JSON) else col.type.bind_processor(dialect)
    return [process(v) for v in values] if process else values


def _json_scalar(v):
    """What `json` cannot write by itself, as PostgreSQL reads it back for the column's type."""
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal | uuid.UUID):
        return str(v)
    raise TypeError(f"cannot insert a {type(v).__name__} in bulk")


class Database:
    """One service's engine and session factory; sessions always carry a tenant scope."""

    def __init__(self, url: str, models: list[type]):
        self.url = url
        self.engine = make_engine(url)
        self.factory = sessionmaker(self.engine, expire_on_commit=False)
        install_scoping(self.factory, models)
        #: what `reading` binds to: on PostgreSQL the engine's connections with `BEGIN READ ONLY`
        self._reader = (self.engine.execution_options(postgresql_readonly=True)
                        if self.engine.dialect.name == "postgresql" else self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self, scope: Scope, bind: Connection | None = None) -> Iterator[Session]:
        """A unit of work: commits when the block ends normally, rolls back on any exception. Inside
        `enclosing` (same database, same scope) it is the enclosing unit's session: the block's work
        commits, or not, with the rest of that unit. `bind`: a connection the caller keeps checked out
        between units of work (a consumer's, `shared.bus.consumer.Applier`), outside a transaction: the
        unit begins and ends its transaction on it, with no pool checkout (and no pre-ping)."""
        outer = _ENCLOSING.get()
        if outer is not None and outer[0] is self and outer[1] == scope:
            yield outer[2]
            return
        with self.factory(**({"bind": bind} if bind is not None else {})) as session:
            session.info["scope"] = scope
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reading(self, scope: Scope) -> Iterator[Session]:
        """A unit of work that only reads and ends with ROLLBACK: a worker's look for work (a queue's
        poll, the scheduler's groups), which while idle must leave no committed transaction behind
        (PostgreSQL counts a read-only transaction's COMMIT in `xact_commit` like any other). On
        PostgreSQL it is `BEGIN READ ONLY` (no extra round trip: psycopg's `read_only`), so a write in
        it fails instead of vanishing with the rollback; on SQLite it is `read_only` (a deferred BEGIN,
        no write lock, a write refused)."""
        with read_only(), self.factory(bind=self._reader) as session:
            session.info["scope"] = scope
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def enclosing(self, scope: Scope) -> Iterator[Session]:
        """One unit of work around a block whose own `session(scope)` blocks join it: what they do and
        what this block adds after them (an idempotency key's stored answer) commit together."""
        with self.session(scope) as session:
            token = _ENCLOSING.set((self, scope, session))
            try:
                yield session
            finally:
                _ENCLOSING.reset(token)


_ENCLOSING: ContextVar[tuple[Database, Scope, Session] | None] = ContextVar("enclosing_unit", default=None)
