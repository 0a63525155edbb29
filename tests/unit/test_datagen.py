"""The project's data generator (crm.datagen): the same data for a seed, and values the services accept."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

import shared.events.callcenter  # noqa: F401  (every payload schema registered)
import shared.events.customers  # noqa: F401
import shared.events.identity  # noqa: F401
import shared.events.leads  # noqa: F401
from crm import datagen
from crm.datagen import events as G
from services.identity.entrypoints.seed import STORES
from services.leads.domain import SOURCES
from services.leads.domain.catalogue import STARTER, STARTER_COMPETITORS
from shared.events import Event
from shared.phones import normalize


def history(seed: int) -> list[dict]:
    org = G.make_org(brands=2, stores_per_brand=2, consultants=2)
    return G.identity_messages(org, datetime(2026, 1, 1, tzinfo=UTC)) + list(
        G.history(org, date(2026, 9, 1), 20, leads_per_store_day=1.0, seed=seed))


def test_a_seed_gives_the_same_people_and_the_same_history():
    a, b = datagen.People(5, pool=50), datagen.People(5, pool=50)
    assert [(a.name(), a.phone(), a.vin("lexus")) for _ in range(30)] == [(b.name(), b.phone(), b.vin("lexus"))
                                                                          for _ in range(30)]
    strip = [{k: v for k, v in m.items() if k != "id"} for m in history(3)]  # ids of a few events are uuid4
    assert strip == [{k: v for k, v in m.items() if k != "id"} for m in history(3)]
    assert strip != [{k: v for k, v in m.items() if k != "id"} for m in history(4)]


def test_phones_are_valid_unique_chinese_mobiles_and_names_are_chinese():
    people = datagen.People(1)
    phones = [people.phone() for _ in range(2000)]
    assert len(set(phones)) == len(phones)
    assert all(normalize(p) == "+86" + p for p in phones)
    assert normalize(datagen.numbered_phone(12345, "137")) == "+8613700012345"
    name = people.name()
    assert 2 <= len(name) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in name)


def test_generated_events_carry_the_services_own_values_and_pass_their_schemas():
    msgs = history(11)
    catalogue = {name for models in STARTER.values() for _, name, _, _ in models}
    seeded = {code for code, *_ in STORES}
    leads = [m["data"] for m in msgs if m["type"] == "leads.lead.created"]
    assert leads and {d["source"] for d in leads} <= set(SOURCES) and {d["model"] for d in leads} <= catalogue
    assert all(normalize(d["phone"]) == d["phone"] for d in leads)
    assert {m["data"]["code"] for m in msgs if m["type"] == "identity.store.created"} <= seeded
    rivals = {(m["data"]["competitor_brand"], m["data"]["competitor_model"]) for m in msgs
              if m["type"] == "leads.defeat.approved" and m["data"]["reason"] == "competitor"}
    assert rivals <= set(STARTER_COMPETITORS)
    for m in msgs:
        Event.from_message(m)  # a payload its consumers would dead-letter fails here


def test_bulk_leads_hold_every_level_in_every_store_with_numbers_of_their_own():
    from crm.datagen.bulk import LEAD_COLUMNS, LEVELS, lead_rows

    consultants = {f"s{i}": [f"s{i}-c{j}" for j in range(3)] for i in range(4)}
    rows = list(lead_rows("g", "b", consultants, 400, seed=2))
    assert all(len(r) == len(LEAD_COLUMNS) for r in rows)
    col = {name: n for n, name in enumerate(LEAD_COLUMNS)}
    assert {(r[col["store_id"]], r[col["level"]]) for r in rows} == {(s, lv) for s in consultants for lv in LEVELS}
    assert len({r[col["phone"]] for r in rows}) == 400 and all(normalize(r[col["phone"]]) for r in rows)
    assert {r[col["source"]] for r in rows} <= set(SOURCES)
    assert all(r[col["consultant_id"]] in consultants[r[col["store_id"]]] for r in rows)
    assert all((r[col["due_on"]] is None) == (r[col["level"]] in ("delivered", "defeated")) for r in rows)


def test_bulk_rows_are_copied_under_row_level_security(pg_migrated):
    """COPY itself skips the policies; `copy_rows` moves the rows with an INSERT that they check."""
    import psycopg
    from sqlalchemy import create_engine

    from crm.datagen.bulk import LEAD_COLUMNS, copy_rows, lead_rows
    from shared import rls
    from shared.tenancy import Scope

    owner, _ = pg_migrated("leads")
    engine = create_engine(owner)
    consultants = {"s1": ["s1-c1"], "s2": ["s2-c1"]}
    try:
        with engine.connect() as c:
            tx = c.begin()
            rls.apply(c, Scope.system("g1"))
            with c.connection.driver_connection.cursor() as cur:
                assert copy_rows(cur, "leads", LEAD_COLUMNS, lead_rows("g1", "b", consultants, 50)) == 50
                cur.execute("SELECT count(*) FROM leads WHERE group_id = 'g1'")
                assert cur.fetchone()[0] == 50
                with pytest.raises(psycopg.errors.InsufficientPrivilege):  # another group's rows: refused
                    copy_rows(cur, "leads", LEAD_COLUMNS, lead_rows("g2", "b", consultants, 5, phone_prefix="138"))
            tx.rollback()
    finally:
        engine.dispose()


def test_bulk_leads_are_written_to_sqlite_through_the_tables_own_types():
    """No COPY on SQLite: `write_rows` inserts in batches, and the rows read back as the ORM wrote them."""
    from sqlalchemy import create_engine, select

    from crm.datagen.bulk import LEAD_COLUMNS, lead_rows, write_rows
    from services.leads.adapters.models import Base, Lead

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    rows = list(lead_rows("g", "b", {"s1": ["s1-c1"], "s2": ["s2-c1"]}, 25, seed=3))
    with engine.begin() as c:
        assert write_rows(c, Lead.__table__, LEAD_COLUMNS, iter(rows), batch=10) == 25
    with engine.connect() as c:
        stored = {r.id: r for r in c.execute(select(Lead.__table__))}
    engine.dispose()
    col = {name: n for n, name in enumerate(LEAD_COLUMNS)}
    assert set(stored) == {r[col["id"]] for r in rows}
    for r in rows:
        lead = stored[r[col["id"]]]
        assert (lead.phone, lead.level, lead.due_on) == (r[col["phone"]], r[col["level"]], r[col["due_on"]])
        assert lead.overdue_at == r[col["overdue_at"]]  # time zone kept (UTC)


def test_bulk_leads_are_written_with_copy_on_postgresql_under_row_level_security(pg_migrated):
    """On PostgreSQL `write_rows` goes through `copy_rows`: the connection's scope still decides."""
    import psycopg
    from sqlalchemy import create_engine

    from crm.datagen.bulk import LEAD_COLUMNS, lead_rows, write_rows
    from services.leads.adapters.models import Lead
    from shared import rls
    from shared.tenancy import Scope

    owner, _ = pg_migrated("leads")
    engine = create_engine(owner)
    consultants = {"s1": ["s1-c1"]}
    try:
        with engine.connect() as c:
            tx = c.begin()
            rls.apply(c, Scope.system("g1"))
            assert write_rows(c, Lead.__table__, LEAD_COLUMNS, lead_rows("g1", "b", consultants, 30)) == 30
            assert c.exec_driver_sql("SELECT count(*) FROM leads WHERE group_id = 'g1'").scalar() == 30
            with pytest.raises(psycopg.errors.InsufficientPrivilege):  # another group's rows: refused
                write_rows(c, Lead.__table__, LEAD_COLUMNS, lead_rows("g2", "b", consultants, 3, phone_prefix="138"))
            tx.rollback()
    finally:
        engine.dispose()
