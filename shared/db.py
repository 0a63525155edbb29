"""SQLAlchemy 2 engine and session per service, and the unit of work every handler runs in."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine, MetaData, String, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from shared.tenancy import Scope, install_scoping

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """Now in UTC, from the platform clock (tests can move it)."""
    from shared import clock

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


def make_base() -> type[DeclarativeBase]:
    """A declarative base with its own metadata, one per service."""

    class Base(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING)
        type_annotation_map = {datetime: UTCDateTime()}

    return Base


def id_column() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_id)


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL, a busy timeout and BEGIN IMMEDIATE: SQLite serialises writers instead of failing them."""

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
        conn.exec_driver_sql("BEGIN IMMEDIATE")


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
    engine = create_engine(url, **kw)
    if engine.dialect.driver == "psycopg":
        # rows the unit of work inserts together (ids made in Python, nothing to return) go as one
        # multi-row INSERT instead of one statement per row in psycopg's pipeline
        engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


class Database:
    """One service's engine and session factory; sessions always carry a tenant scope."""

    def __init__(self, url: str, models: list[type]):
        self.url = url
        self.engine = make_engine(url)
        self.factory = sessionmaker(self.engine, expire_on_commit=False)
        install_scoping(self.factory, models)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self, scope: Scope) -> Iterator[Session]:
        """A unit of work: commits when the block ends normally, rolls back on any exception."""
        with self.factory() as session:
            session.info["scope"] = scope
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
