"""`bulk_inserts`, `insert_rows` and `insert_now`: the rows the unit of work would have written, on PostgreSQL and
SQLite."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import JSON, Boolean, Date, Integer, Numeric, String, delete, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Database, UTCDateTime, add, add_row, bulk_inserts, id_column, insert_now, insert_rows, make_base, utcnow
from shared.tenancy import Scope, Scoped, ScopeViolation
from tests.conftest import joined

Base = make_base()


class Row(Scoped, Base):
    __tablename__ = "rows"
    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(40))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    flag: Mapped[bool] = mapped_column(Boolean, default=False)
    day: Mapped[date | None] = mapped_column(Date, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[str] = mapped_column(String(10), server_default=text("'new'"))


def given() -> list[Row]:
    return [Row(name="王伟", tags=["vip", "车主"], detail={"来源": "展厅", "n": 1}, amount=Decimal("12.50"), count=3,
                flag=True, day=date(2026, 2, 28), at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
            Row(name="only defaults"),  # every other column from its default or NULL
            Row(name="nulls", detail=None, count=None, day=None)]


def rows_of(db: Database) -> list[tuple]:
    with db.session(Scope.system("g1")) as s:
        return [(r.group_id, r.name, r.tags, r.detail, r.amount, r.count, r.flag, r.day, r.at is not None, len(r.id))
                for r in s.scalars(select(Row).order_by(Row.name))]


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """SQLite in a file of the test's own; PostgreSQL in the run's database, inside a transaction
    rolled back at the end (the table too: PostgreSQL's DDL is transactional)."""
    if request.param == "sqlite":
        d = Database(f"sqlite:///{tmp_path / 'b.sqlite'}", [Row])
        Base.metadata.create_all(d.engine)
        yield d
    else:
        d = Database(request.getfixturevalue("pg_run_url"), [Row])
        with joined(d) as conn:
            Base.metadata.create_all(conn)
            yield d
    d.engine.dispose()


def test_bulk_inserts_write_what_the_unit_of_work_writes(db):
    with db.session(Scope.system("g1")) as s:
        s.add_all(given())
    by_uow = rows_of(db)
    with db.session(Scope.system("g1")) as s:
        s.execute(delete(Row))
    with db.session(Scope.system("g1")) as s, bulk_inserts(s):
        for r in given():
            add(s, r)
        assert s.scalars(select(Row)).all() == []  # nothing written before the block ends
    assert rows_of(db) == by_uow
    assert len(by_uow) == 3


def given_values() -> list[dict]:
    """`given()` as the keyword arguments of its objects."""
    return [{"name": "王伟", "tags": ["vip", "车主"], "detail": {"来源": "展厅", "n": 1}, "amount": Decimal("12.50"),
             "count": 3, "flag": True, "day": date(2026, 2, 28), "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)},
            {"name": "only defaults"}, {"name": "nulls", "detail": None, "count": None, "day": None}]


def test_rows_given_by_their_values_are_the_rows_the_objects_make(db):
    """`add_row` in a bulk block (no ORM object), beside objects of the same table, and outside one (the
    unit of work's object): the same rows as `add` of the objects."""
    with db.session(Scope.system("g1")) as s:
        s.add_all(given())
    by_uow = rows_of(db)
    for bulk in (True, False):
        with db.session(Scope.system("g1")) as s:
            s.execute(delete(Row))
        with db.session(Scope.system("g1")) as s:
            if bulk:
                with bulk_inserts(s):
                    first, *rest = given_values()
                    add(s, Row(**first))
                    for values in rest:
                        add_row(s, Row, **values)
                    assert s.scalars(select(Row)).all() == []
            else:
                for values in given_values():
                    add_row(s, Row, **values)
        assert rows_of(db) == by_uow


def test_bulk_inserts_refuse_rows_of_another_group(db):
    with pytest.raises(ScopeViolation):
        with db.session(Scope.system("g1")) as s, bulk_inserts(s):
            add(s, Row(name="theirs", group_id="g2"))
    with pytest.raises(ScopeViolation):
        with db.session(Scope.system("g1")) as s, bulk_inserts(s):
            add_row(s, Row, name="theirs too", group_id="g2")
    assert rows_of(db) == []


def test_rows_that_leave_out_a_column_only_the_server_fills_are_refused(db):
    with pytest.raises(ValueError, match="state"):
        with db.session(Scope.system("g1")) as s:
            insert_rows(s, Row.__table__, [{"name": "a", "state": "old", "group_id": "g1"},
                                           {"name": "b", "group_id": "g1"}])
    assert rows_of(db) == []
    with db.session(Scope.system("g1")) as s:  # left out by every row: the server's default
        insert_rows(s, Row.__table__, [{"name": "a", "group_id": "g1"}])
    with db.session(Scope.system("g1")) as s:
        assert s.scalar(select(Row.state)) == "new"


def test_an_object_inserted_now_is_the_row_the_unit_of_work_writes_and_stays_in_the_session(db):
    """`insert_now` (a request's new lead): the same rows as the unit of work, defaults included; the object
    is then persistent in the session, a later change is saved as an UPDATE, and a column only the server
    fills is read back when asked for."""
    with db.session(Scope.system("g1")) as s:
        s.add_all(given())
    by_uow = rows_of(db)
    with db.session(Scope.system("g1")) as s:
        s.execute(delete(Row))
    with db.session(Scope.system("g1")) as s:
        objs = given()
        for obj in objs:
            insert_now(s, obj)
            assert inspect(obj).persistent and obj not in s.new
        assert sorted(s.scalars(select(Row.name))) == sorted(o.name for o in objs)  # written already
        assert objs[1].state == "new"  # the server's default, read back
        objs[2].count = 7  # changed after the insert: flushed at commit
    rows = rows_of(db)
    assert [r for r in rows if r[1] != "nulls"] == [r for r in by_uow if r[1] != "nulls"]
    assert [r[5] for r in rows if r[1] == "nulls"] == [7]
    nulls = next(r for r in by_uow if r[1] == "nulls")
    assert [r[:5] + r[6:] for r in rows if r[1] == "nulls"] == [nulls[:5] + nulls[6:]]


def test_an_object_inserted_now_passes_the_tenant_check_and_the_constraints(db):
    with pytest.raises(ScopeViolation):
        with db.session(Scope.system("g1")) as s:
            insert_now(s, Row(name="theirs", group_id="g2"))
    with db.session(Scope.system("g1")) as s:
        insert_now(s, Row(id="r1", name="first"))
    with pytest.raises(IntegrityError):
        with db.session(Scope.system("g1")) as s:
            insert_now(s, Row(id="r1", name="again"))
    assert [r[1] for r in rows_of(db)] == ["first"]


def test_a_moment_reads_back_aware_and_equal_on_either_database(db):
    """`UTCDateTime`: stored as UTC, read back aware (on PostgreSQL as psycopg reads a timestamptz, without a
    processor of ours; on SQLite, which forgets the zone, given UTC back), by the ORM and by a plain select."""
    at = datetime(2026, 1, 2, 11, 4, 5, 678, tzinfo=timezone(timedelta(hours=8)))
    with db.session(Scope.system("g1")) as s:
        s.add(Row(name="when", at=at))
    with db.session(Scope.system("g1")) as s:
        for read in (s.scalar(select(Row).where(Row.name == "when")).at, s.execute(select(Row.at)).scalar_one()):
            assert read.tzinfo is not None and read.utcoffset() is not None
            assert read == datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)
