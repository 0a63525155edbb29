"""The leads API keeps each group's stores, rules and model catalogues in the process (`shared.refcache`):
a change any process commits is seen by every other process's next transaction, on the embedded
engine and on PostgreSQL; a cached entry never reaches another group; nothing uncommitted is cached.

Two runtimes on one database stand for two API processes (each has its own cache), as gunicorn's
workers or two machines behind the proxy would be.
"""
from __future__ import annotations

import dataclasses
from importlib import import_module

import pytest
from sqlalchemy import text

from services.leads.adapters.models import GroupSettings, StoreRef, VehicleModel
from services.leads.handlers import catalogue, common
from shared import config, refcache, rls
from shared.auth import Principal
from shared.config import DEFAULT_TIMEZONE
from shared.errors import Invalid, NotFound
from shared.tenancy import Scope
from tests.conftest import embedded_env

G1, G2 = "group-1", "group-2"
S1, S2 = "store-1", "store-2"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_processes(request, tmp_path):
    """(runtime A, runtime B) of the leads service on one migrated database; G1 owns S1, G2 owns S2."""
    env = embedded_env(tmp_path)
    if request.param == "postgres":
        owner, app = request.getfixturevalue("pg_roles")
        env = {**env, "LEADS_DATABASE_URL": app, "LEADS_MIGRATE_DATABASE_URL": owner}
    bootstrap = import_module("services.leads.bootstrap")
    a = bootstrap.build(config.load("leads", env))
    a.migrate()
    b = bootstrap.build(config.load("leads", env))
    for group, store in ((G1, S1), (G2, S2)):
        with b.db.session(Scope.system(group)) as s:
            s.add(StoreRef(id=store, brand_id="toyota", code=store, name="浦东店", timezone=DEFAULT_TIMEZONE))
    yield a, b
    for rt in (a, b):
        rt.db.engine.dispose()


def hq(group: str = G1) -> Principal:
    return Principal(user_id="u-hq", username="hq.admin", group_id=group, group_code=group, role="group_admin",
                     store_ids=None)


def cache(rt):
    return rt.db.factory.kw["info"][common.REFERENCE]


def read(rt, p: Principal, store_id: str = S1):
    """What a create reads first: the store, the group's rules, the brand's catalogue (in one transaction)."""
    with rt.db.session(p.scope) as s:
        store = common.resolve_store(s, p, store_id)
        return store, common.rules_of(s, p.group_id), catalogue.resolver(s, store.brand_id)


def test_a_change_another_process_commits_is_seen_by_the_next_transaction(two_processes):
    a, b = two_processes
    store, rules, models = read(a, hq())
    assert (store.timezone, store.round_robin, models.kept) == (DEFAULT_TIMEZONE, False, False)
    assert "walk_in" in rules.sources
    hits = cache(a).hits
    assert read(a, hq()) == (store, rules, models)
    assert cache(a).hits == hits + 3, "the second request read the database again: nothing is cached"

    with b.db.session(Scope.system(G1)) as s:  # another process: a store option, the rules, the catalogue
        s.get_one(StoreRef, S1).round_robin = True
        s.add(GroupSettings(id=G1, data={"sources": ["phone", "online"]}))
        s.add(VehicleModel(brand_id="toyota", name="凯美瑞", series="Camry"))
    store, rules, models = read(a, hq())
    assert store.round_robin is True
    assert "walk_in" not in rules.sources and "phone" in rules.sources
    assert models.kept and models.find("凯美瑞") is not None

    with b.db.session(Scope.system(None)) as s:  # a plain UPDATE, not the ORM
        s.execute(text("UPDATE store_refs SET timezone = 'Asia/Urumqi' WHERE id = :id"), {"id": S1})
    assert read(a, hq())[0].timezone == "Asia/Urumqi"


def test_the_round_robin_pointer_does_not_drop_the_cache(two_processes):
    """Every create by the reception moves the store's round-robin pointer: not a reason to read the
    stores, rules and catalogues again in every process."""
    a, b = two_processes
    read(a, hq())
    with b.db.session(Scope.system(G1)) as s:
        s.get_one(StoreRef, S1).last_assigned_id = "u-sales1"
    hits = cache(a).hits
    read(a, hq())
    assert cache(a).hits == hits + 3
    with b.db.session(Scope.system(G1)) as s:
        s.get_one(StoreRef, S1).name = "浦东新店"
    assert read(a, hq())[0].name == "浦东新店"


def test_an_entry_never_reaches_another_group(two_processes):
    a, _ = two_processes
    assert read(a, hq(G2), S2)[0].id == S2  # S2 is now in A's cache, as G2's
    with pytest.raises(Invalid, match="unknown store"):
        read(a, hq(G1), S2)
    consultant = Principal(user_id="u-s1", username="s1", group_id=G1, group_code=G1, role="consultant",
                           store_ids=frozenset({S1}))
    with pytest.raises(NotFound):
        read(a, consultant, S2)


def test_nothing_uncommitted_is_cached(two_processes):
    """A transaction that wrote reads its own changes from the database and keeps none of them: rolled
    back, they reach no other request."""
    a, _ = two_processes
    read(a, hq())
    with pytest.raises(RuntimeError, match="rolled back"):
        with a.db.session(hq().scope) as s:
            assert common.resolve_store(s, hq(), S1).name == "浦东店"  # from the cache
            s.get_one(StoreRef, S1).name = "未提交"
            s.flush()
            assert common.resolve_store(s, hq(), S1).name == "未提交"
            raise RuntimeError("rolled back")
    assert read(a, hq())[0].name == "浦东店"


def test_the_cached_store_columns_are_the_ones_whose_change_renews_the_version():
    """`StoreInfo` holds what the migration's trigger watches (an UPDATE of any other column, the
    round-robin pointer, does not renew the version): a column added to one must be added to the other."""
    migration = import_module("services.leads.migrations.versions.d3a8f61c2b90_reference_version")
    fields = {f.name for f in dataclasses.fields(common.StoreInfo)} - {"id"}
    assert fields == set(migration.TABLES["store_refs"])
    assert set(StoreRef.__table__.columns.keys()) - fields == {"id", "last_assigned_id"}


def test_on_postgresql_the_version_comes_in_the_round_trip_that_opens_the_transaction(two_processes, monkeypatch):
    """What the cache saves is round trips: the version is read in the statement that sets the row-security
    settings (one per transaction already), not in one of its own."""
    a, _ = two_processes
    sent: list[str] = []
    real = rls.on_driver

    def on_driver(connection, sql, params, pipelined=False):
        sent.append(sql)
        return real(connection, sql, params, pipelined)

    monkeypatch.setattr(rls, "on_driver", on_driver)
    read(a, hq())
    read(a, hq())
    if a.db.is_sqlite:
        assert sent == []  # no row-security settings; the version is a read in the process
    else:
        assert len(sent) == 2 and all("set_config" in sql and refcache.TABLE in sql for sql in sent), sent


def test_an_operators_session_of_every_group_reads_and_keeps_nothing(two_processes):
    """An entry belongs to the one group whose scope read it: a session that sees every group (login by
    group code, migrations, cross-group jobs) always reads, and what it reads is kept for no one."""
    a, _ = two_processes
    loads: list[str] = []

    def load():
        loads.append("read")
        return "a value read across groups"

    for _ in range(2):
        with a.db.session(Scope.system(None)) as s:
            assert cache(a).get(s, ("kind", "key"), load) == "a value read across groups"
    with a.db.session(Scope.system(G1)) as s:
        assert cache(a).get(s, ("kind", "key"), load) == "a value read across groups"
    with a.db.session(Scope.system(G1)) as s:
        cache(a).get(s, ("kind", "key"), load)
    assert loads == ["read"] * 3  # twice for every group, once for G1, then G1's entry
