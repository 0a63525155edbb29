"""Which database errors pass (503 with Retry-After; a consumer waits for the database) and which are
the code's (500; a consumer parks the message after its few retries), on the real engines."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from shared.db import make_engine
from shared.errors import database_unavailable


def _error(engine, sql: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught, engine.connect() as conn:
        for statement in sql.split(";"):
            conn.execute(text(statement))
    return caught.value


@pytest.mark.postgres
def test_postgresql_timeouts_and_a_missing_table_pass_while_program_limits_do_not(pg_url):
    engine = create_engine(pg_url)
    try:
        timeout = _error(engine, "SET statement_timeout = 10; SELECT pg_sleep(2)")
        missing = _error(engine, "SELECT * FROM no_such_table")
        columns = ", ".join(f"c{i} int" for i in range(1700))
        too_wide = _error(engine, f"CREATE TEMP TABLE too_wide ({columns})")
        syntax = _error(engine, "SELEC 1")
    finally:
        engine.dispose()
    assert timeout.orig.sqlstate == "57014" and database_unavailable(timeout)
    assert missing.orig.sqlstate == "42P01" and database_unavailable(missing)
    # both are OperationalError/ProgrammingError to SQLAlchemy; neither passes by waiting
    assert too_wide.orig.sqlstate == "54011" and not database_unavailable(too_wide)
    assert not database_unavailable(syntax)


@pytest.mark.postgres
def test_postgresql_refusing_connections_passes():
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    try:
        refused = _error(engine, "SELECT 1")
    finally:
        engine.dispose()
    assert database_unavailable(refused)


def test_sqlite_busy_and_a_missing_table_pass_while_a_syntax_error_does_not(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = make_engine(url)
    other = create_engine(url, connect_args={"timeout": 0.05})
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x int)"))
        holding, release = threading.Event(), threading.Event()

        def hold_the_write_lock():
            with engine.begin() as conn:  # BEGIN IMMEDIATE
                conn.execute(text("INSERT INTO t VALUES (1)"))
                holding.set()
                release.wait(10)

        holder = threading.Thread(target=hold_the_write_lock)
        holder.start()
        assert holding.wait(10)
        try:
            locked = _error(other, "INSERT INTO t VALUES (2)")
        finally:
            release.set()
            holder.join()
        missing = _error(other, "SELECT * FROM no_such_table")
        syntax = _error(other, "SELEC 1")
    finally:
        other.dispose()
        engine.dispose()
    assert "database is locked" in str(locked) and database_unavailable(locked)
    assert database_unavailable(missing)
    assert type(syntax.orig).__name__ == "OperationalError" and not database_unavailable(syntax)
