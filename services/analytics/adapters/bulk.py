"""Writing many rows in one go: COPY through a scratch table on PostgreSQL, plain statements elsewhere.

A smaller batch on PostgreSQL (a consumer's delivery) is one statement with the rows as one JSON
parameter (`shared.db.json_recordset`): the same text whatever the number of rows, one round trip,
where an `executemany` sends each row on its own (it was half of the analytics consumer's time).

Both paths write the same rows (tests/analytics/test_running_totals.py compares a PostgreSQL bulk load
with the SQLite consumer). Ingestion runs in a system scope: these statements bypass the ORM and its
per-row bookkeeping, which is what costs the time when a batch touches thousands of facts.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from operator import itemgetter

from sqlalchemy import String, any_, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shared import db

BULK = 500  # from this many rows on, PostgreSQL takes them by COPY
SORT_MEMORY = "64MB"  # a batch's rollup deltas sorted in memory (the server's default 4MB spills to disk)


def is_pg(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def rows_with_ids(s: Session, model, ids: list[str], *cols) -> list:
    """`cols` of the rows whose id is one of `ids` (one array parameter on PostgreSQL)."""
    if not ids:
        return []
    if is_pg(s):
        return list(s.execute(select(*cols).where(model.id == any_(bindparam("ids", ids, type_=ARRAY(String))))))
    out: list = []
    for i in range(0, len(ids), 1000):
        out.extend(s.execute(select(*cols).where(model.id.in_(ids[i:i + 1000]))))
    return out


def copy(s: Session, table: str, cols: Sequence[str], rows: Iterable[Sequence], json_cols: Iterable[str] = ()) -> None:
    """PostgreSQL: COPY the rows (values in the order of `cols`) in, as the INSERT would write them."""
    as_json = [i for i, c in enumerate(cols) if c in set(json_cols)]
    raw = s.connection().connection.driver_connection
    assert raw is not None  # an open connection (the caller's transaction) has its driver connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
        if not as_json:
            for r in rows:
                cp.write_row(r)
            return
        for r in rows:
            values = list(r)
            for i in as_json:
                values[i] = json.dumps(values[i], ensure_ascii=False)
            cp.write_row(values)


def _values(rows: list[dict]) -> tuple[list[str], Iterable[tuple]]:
    """The columns of dict rows and their values as tuples (taken out in C, not per field in Python)."""
    cols = list(rows[0])
    return cols, map(itemgetter(*cols), rows)


def insert_rows(s: Session, model, rows: list[dict], json_cols: Iterable[str] = ()) -> None:
    """Insert dict rows (all with the same keys)."""
    if rows:
        cols, values = _values(rows)
        append_rows(s, model, cols, list(values), json_cols)


def append_rows(s: Session, model, cols: Sequence[str], rows: list[tuple], json_cols: Iterable[str] = ()) -> None:
    """Insert rows given as tuples in the order of `cols`: by COPY on PostgreSQL from `BULK` rows on."""
    if rows and is_pg(s) and len(rows) >= BULK:
        # COPY cannot write into a table under row-level security: into a scratch table, then one INSERT
        table, listed = model.__table__.name, ", ".join(cols)
        tmp = _scratch(s, table, "append", list(cols))
        copy(s, tmp, cols, rows, json_cols)
        s.execute(text(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {tmp}"))
    elif rows and is_pg(s):
        db.insert_rows(s, model.__table__, [dict(zip(cols, r, strict=True)) for r in rows])
    elif rows:
        s.execute(insert(model), [dict(zip(cols, r, strict=True)) for r in rows])


def insert_new(s: Session, model, rows: list[dict], json_cols: Iterable[str] = ()) -> set[str]:
    """Insert the rows whose `id` is not in the table yet (ids distinct within `rows`); returns their ids."""
    if not rows:
        return set()
    if is_pg(s) and len(rows) >= BULK:
        # one pass over the primary key instead of a look-up followed by an insert
        table, (cols, values) = model.__table__.name, _values(rows)
        tmp = _scratch(s, table, "new", cols)
        copy(s, tmp, cols, values, json_cols)
        listed = ", ".join(cols)
        return set(s.scalars(text(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {tmp} "
                                  f"ON CONFLICT (id) DO NOTHING RETURNING id")))
    if is_pg(s):
        listed, source, params = db.json_recordset(s, model.__table__, rows)
        return set(s.scalars(text(f"INSERT INTO {model.__table__.name} ({listed}) SELECT {listed} FROM {source} "
                                  f"ORDER BY ordinality ON CONFLICT (id) DO NOTHING RETURNING id"), params))
    seen = {i for (i,) in rows_with_ids(s, model, [r["id"] for r in rows], model.id)}
    fresh = [r for r in rows if r["id"] not in seen]
    insert_rows(s, model, fresh, json_cols)
    return {r["id"] for r in fresh}


def update_rows(s: Session, model, rows: list[dict], json_cols: Iterable[str] = ()) -> None:
    """Set the given columns of existing rows, found by their `id`."""
    if not rows:
        return
    table = model.__table__
    cols = [c for c in rows[0] if c != "id"]
    if is_pg(s) and len(rows) >= BULK:
        tmp = _scratch(s, table.name, "set", ["id", *cols])
        copy(s, tmp, *_values([{"id": r["id"], **r} for r in rows]), json_cols)
        s.execute(text(f"UPDATE {table.name} SET {', '.join(f'{c} = t.{c}' for c in cols)} "
                       f"FROM {tmp} t WHERE {table.name}.id = t.id"))
        return
    if is_pg(s):
        listed, source, params = db.json_recordset(s, table, [{"id": r["id"], **r} for r in rows])
        s.execute(text(f"UPDATE {table.name} SET {', '.join(f'{c} = u.{c}' for c in cols)} "
                       f"FROM (SELECT {listed} FROM {source}) u WHERE {table.name}.id = u.id"), params)
        return
    stmt = update(table).where(table.c.id == bindparam("b_id")).values({c: bindparam(f"b_{c}") for c in cols})
    s.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in rows])


def add_rows(s: Session, model, cols: Sequence[str], rows: list[tuple], keys: list[str]) -> None:
    """Upsert rollup rows (tuples in the order of `cols`, the last one `value`): a new cell is inserted,
    an existing one gets the row's value added."""
    if not rows:
        return
    table = model.__table__
    if is_pg(s):
        # one INSERT .. ON CONFLICT adds every delta (in key order, so that concurrent writers lock cells
        # in the same order; sorted by bytes); a large batch comes from a scratch table filled by COPY,
        # sorted in memory, a smaller one from one JSON parameter (`shared.db.json_recordset`)
        listed = ", ".join(cols)
        order = ", ".join(f'{k} COLLATE "C"' if isinstance(table.c[k].type, String) else k for k in keys)
        params: dict = {}
        if len(rows) >= BULK:
            source = _scratch(s, table.name, "add", list(cols))
            copy(s, source, cols, rows)
            s.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
        else:
            listed, source, params = db.json_recordset(s, table, [dict(zip(cols, r, strict=True)) for r in rows])
        s.execute(text(f"INSERT INTO {table.name} ({listed}) SELECT {listed} FROM {source} ORDER BY {order} "
                       f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET value = {table.name}.value + EXCLUDED.value"),
                  params)
        return
    ins = pg_insert if is_pg(s) else sqlite_insert
    for i in range(0, len(rows), 5000):
        stmt = ins(table)
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_={"value": table.c.value + stmt.excluded.value})
        s.execute(stmt, [dict(zip(cols, r, strict=True)) for r in rows[i:i + 5000]])


def _scratch(s: Session, table: str, purpose: str, cols: list[str]) -> str:
    """An empty temporary table with some of `table`'s columns (kept by the connection, emptied per use)."""
    tmp = f"tmp_{table}_{purpose}"
    s.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {tmp} AS SELECT {', '.join(cols)} FROM {table} WITH NO DATA"))
    s.execute(text(f"TRUNCATE {tmp}"))
    return tmp
