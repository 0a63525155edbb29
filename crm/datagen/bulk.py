"""Rows in bulk, for the benches that fill a table with hundreds of thousands of records (bench/rls.py's
leads, bench/callcenter_queue.py's call-center tasks): the generator's values (names, numbers, sources,
customers) in the table's own columns, written with PostgreSQL's COPY.

COPY does not go through row-level security (PostgreSQL refuses `COPY FROM` on a table whose policies are
forced), so `copy_rows` copies into a temporary table shaped like the target and moves the rows with one
`INSERT … SELECT` on the caller's connection, under whatever scope it set: the policies check them as they
would any insert. `write_rows` does the same on a SQLAlchemy connection, and on SQLite (no COPY) inserts
the rows in batches through the table's own column types.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice

from sqlalchemy import Connection, Table, insert

from . import People, numbered_phone, weighted_source

#: the levels leads go through, cycled so that every store holds each (open ones, and closed ones)
LEVELS = ("N", "C", "B", "A", "H", "O", "delivered", "defeated")
CLOSED = ("delivered", "defeated")
LEAD_COLUMNS = ("id", "group_id", "store_id", "brand_id", "consultant_id", "name", "phone", "source", "level",
                "created_at", "last_contact_at", "due_on", "overdue_at", "defeat_pending")
TASK_COLUMNS = ("id", "group_id", "store_id", "brand_id", "task_type", "status", "priority", "due_at", "expires_at",
                "available_at", "claims", "attempts", "failed_attempts", "max_attempts", "retry_minutes",
                "dedupe_key", "detail", "customer_name", "created_at")
NAMES_POOL = 2000  # Faker names made once and drawn from (Faker takes ~50 µs a name)


def lead_rows(group: str, brand: str, consultants: dict[str, Sequence[str]], total: int, *, seed: int = 1,
              phone_prefix: str = "137", now: datetime | None = None) -> Iterator[tuple]:
    """`total` leads of `group` spread over the stores of `consultants` (store → its consultants), in
    `LEAD_COLUMNS` order: every level in every store, created over 400 days, last contact within 40 days,
    open ones due from 30 days ago to 30 days ahead (half of them overdue); numbered phones, so that lead
    `i` is found again by its number."""
    people, now = People(seed, pool=NAMES_POOL), now or datetime.now(UTC)
    stores = sorted(consultants)
    days_ago = [now - timedelta(days=d) for d in range(400)]  # made once: a million rows draw from them
    dues = [(due.date(), due) for due in (now + timedelta(days=d - 30) for d in range(61))]
    for i in range(1, total + 1):
        store, turn = stores[i % len(stores)], i // len(stores)
        level = LEVELS[(turn * 7) % len(LEVELS)]
        due_on, due = (None, None) if level in CLOSED else dues[i % 61]
        yield (uuid.uuid4().hex, group, store, brand, consultants[store][turn % len(consultants[store])],
               people.name(), "+86" + numbered_phone(i, phone_prefix), weighted_source(people.rng), level,
               days_ago[i % 400], days_ago[i % 40], due_on, due, False)


def callback_task_rows(group: str, stores: Sequence[str], brands: Sequence[str], total: int, *, seed: int = 1,
                       now: datetime | None = None) -> Iterator[tuple]:
    """`total` open delivery callbacks of `group`, free to claim now, due over the last ten hours, in
    `TASK_COLUMNS` order, each with a customer's name."""
    people, now = People(seed, pool=NAMES_POOL), now or datetime.now(UTC)
    for i in range(1, total + 1):
        yield (str(uuid.uuid4()), group, stores[i % len(stores)], brands[i % len(brands)], "delivery_callback",
               "open", 1 + i % 5, now - timedelta(minutes=i % 600), now + timedelta(days=3),
               now - timedelta(minutes=1), 0, 0, 0, 3, "[120, 1440]", f"bench:{i}", "{}", people.name(), now)


def copy_rows(cursor, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Write `rows` into `table` through COPY and one INSERT … SELECT on a psycopg cursor (its transaction,
    its settings); returns how many."""
    cols = ", ".join(columns)
    cursor.execute(f"CREATE TEMP TABLE bulk_rows AS SELECT {cols} FROM {table} WITH NO DATA")
    with cursor.copy(f"COPY bulk_rows ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM bulk_rows")
    n = cursor.rowcount
    cursor.execute("DROP TABLE bulk_rows")
    return n


def write_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[tuple],
               batch: int = 5000) -> int:
    """Write `rows` into `table` in the connection's transaction: `copy_rows` on PostgreSQL, elsewhere
    INSERTs of `batch` rows at a time; returns how many."""
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection  # psycopg's connection, in this transaction
        assert driver is not None
        with driver.cursor() as cursor:
            return copy_rows(cursor, table.name, columns, rows)
    stmt, it, n = insert(table), iter(rows), 0
    while chunk := [dict(zip(columns, row, strict=True)) for row in islice(it, batch)]:
        conn.execute(stmt, chunk)
        n += len(chunk)
    return n
