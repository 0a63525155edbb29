"""PostgreSQL itself keeps tenants apart: forced row-level security on every group-owned table, with
policies that read the group (and stores) the session's scope sets at the start of each transaction.

The service connects as a role that owns nothing (as `pg_roles` and `pg_migrated` give), as in production: whatever SQL it
runs — a raw SELECT without a WHERE, a Core statement the ORM hook never sees — reaches only the
rows of its scope, and it cannot switch the policies off.

One leads database serves the whole run (`pg_migrated`: migrated once, the two groups' rows
committed once); each test runs in a transaction rolled back at its end (`joined`), so what one
writes no other sees. The tests that open a connection of their own (`leads.db.engine`) see the
committed rows only, which is what they check.
"""
from __future__ import annotations

import uuid
from importlib import import_module

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from services.leads.adapters.models import Lead, StoreRef
from shared import config, rls
from shared.config import SERVICES
from shared.migrations import AppRoleError, grant_app_role
from shared.tenancy import Scope, widened
from tests.conftest import PG_APP, embedded_env, joined

pytestmark = pytest.mark.postgres

A, B = "group-a", "group-b"
A1, A2, B1 = "store-a1", "store-a2", "store-b1"


def runtime(svc: str, roles, tmp_path):
    """A service (migrated already) whose sessions run as the role that owns nothing."""
    owner, app = roles
    env = {**embedded_env(tmp_path), f"{svc.upper()}_DATABASE_URL": app, f"{svc.upper()}_MIGRATE_DATABASE_URL": owner}
    return import_module(f"services.{svc}.bootstrap").build(config.load(svc, env))


@pytest.fixture(scope="module")
def seeded(pg_migrated, tmp_path_factory):
    """The leads service with two groups: A with stores A1 and A2, B with store B1, two leads per store."""
    rt = runtime("leads", pg_migrated("leads"), tmp_path_factory.mktemp("leads"))
    for group, stores in ((A, (A1, A2)), (B, (B1,))):
        with rt.db.session(Scope.system(group)) as s:
            for store in stores:
                s.add(StoreRef(id=store, brand_id="brand", code=store, name=store))
                for n in range(2):
                    s.add(Lead(store_id=store, brand_id="brand", name=f"{store} {n}", phone=f"1380000{n}", source="walk_in"))
    yield rt
    with rt.db.session(Scope.system(None)) as s:  # the database serves the rest of the run
        s.execute(text("DELETE FROM leads"))
        s.execute(text("DELETE FROM store_refs"))
    rt.db.engine.dispose()


@pytest.fixture
def leads(seeded):
    with joined(seeded.db):
        yield seeded


def raw(session, sql: str) -> list[tuple]:
    return [tuple(r) for r in session.execute(text(sql))]


def test_a_raw_select_without_where_sees_only_the_sessions_group(leads):
    with leads.uow(Scope(group_id=A, role="group_admin")) as uow:
        assert {g for (g,) in raw(uow.session, "SELECT group_id FROM leads")} == {A}
        assert len(raw(uow.session, "SELECT id FROM leads")) == 4
        assert {i for (i,) in raw(uow.session, "SELECT id FROM store_refs")} == {A1, A2}
    with leads.db.session(Scope.system(B)) as s:  # a consumer or a command of group B
        assert {st for (st,) in raw(s, "SELECT store_id FROM leads")} == {B1}


def test_a_store_scoped_session_sees_only_its_stores_rows_of_store_owned_tables(leads):
    manager = Scope(group_id=A, store_ids=frozenset({A1}), user_id="m", role="store_manager")
    with leads.uow(manager) as uow:
        assert {st for (st,) in raw(uow.session, "SELECT store_id FROM leads")} == {A1}
        # a group-owned table: the whole group, the ORM hook narrows it where a model says so
        assert {i for (i,) in raw(uow.session, "SELECT id FROM store_refs")} == {A1, A2}
        with widened(uow.session, "store_open_lead", frozenset({A2})):
            assert {st for (st,) in raw(uow.session, "SELECT store_id FROM leads")} == {A2}
        assert {st for (st,) in raw(uow.session, "SELECT store_id FROM leads")} == {A1}


def test_without_a_setting_nothing_is_visible(leads):
    with leads.db.engine.connect() as conn:  # the service's role, no session, no scope
        assert conn.scalar(text("SELECT count(*) FROM leads")) == 0
        assert conn.scalar(text("SELECT count(*) FROM store_refs")) == 0
    with leads.db.factory() as s:  # a session nobody gave a scope
        assert raw(s, "SELECT id FROM leads") == []
    with leads.db.session(Scope(group_id=None, role="group_admin")) as s:
        assert raw(s, "SELECT id FROM leads") == []


def test_the_operators_all_groups_scope_is_explicit_and_sees_every_group(leads):
    with leads.db.session(Scope.system(None)) as s:
        assert {g for (g,) in raw(s, "SELECT group_id FROM leads")} == {A, B}


def insert_lead(s, group: str, store: str) -> None:
    s.execute(text("INSERT INTO leads (id, group_id, store_id, brand_id, name, phone, source, level, created_at, "
                   "defeat_pending) VALUES (gen_random_uuid()::text, :g, :st, 'brand', 'x', '1', 'walk_in', 'N', now(), "
                   "false)"), {"g": group, "st": store})


def test_the_database_refuses_a_row_of_another_group_or_store(leads):
    with pytest.raises(ProgrammingError, match="row-level security"), leads.db.session(Scope.system(A)) as s:
        insert_lead(s, B, B1)
    manager = Scope(group_id=A, store_ids=frozenset({A1}), user_id="m", role="store_manager")
    with pytest.raises(ProgrammingError, match="row-level security"), leads.db.session(manager) as s:
        insert_lead(s, A, A2)
    with pytest.raises(ProgrammingError, match="row-level security"), leads.db.session(Scope.system(A)) as s:
        s.execute(text("UPDATE leads SET group_id = :b"), {"b": B})  # moving A's rows to B
    with leads.db.session(Scope.system(A)) as s:  # its own group's row goes in
        insert_lead(s, A, A2)
    with leads.db.session(Scope.system(B)) as s:
        assert s.execute(text("DELETE FROM leads WHERE store_id = :st"), {"st": A1}).rowcount == 0
    with leads.db.session(Scope.system(None)) as s:
        assert s.scalar(text("SELECT count(*) FROM leads WHERE group_id = :a"), {"a": A}) == 5


@pytest.mark.parametrize("statement", [
    "ALTER TABLE leads DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE leads NO FORCE ROW LEVEL SECURITY",
    "DROP POLICY tenant ON leads",
    "CREATE POLICY everything ON leads USING (true)",
    "ALTER TABLE leads OWNER TO crm_test_app",
])
def test_the_services_role_cannot_switch_the_policies_off(leads, statement):
    with leads.db.engine.connect() as conn:
        assert conn.scalar(text("SELECT current_user")) == PG_APP
        with pytest.raises(ProgrammingError, match="must be owner|permission denied"):
            conn.execute(text(statement))


def test_turning_row_security_off_makes_a_query_fail_instead_of_seeing_everything(leads):
    with leads.db.engine.connect() as conn:
        conn.execute(text("SET row_security = off"))
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(text("SELECT count(*) FROM leads"))


def test_migrate_refuses_a_role_above_the_policies(pg_migrated):
    owner, _ = pg_migrated("leads")
    engine = create_engine(owner)
    with engine.begin() as conn, pytest.raises(AppRoleError, match="superuser or bypasses"):
        grant_app_role(conn, "postgres")
    with engine.begin() as conn, pytest.raises(AppRoleError, match="does not exist"):
        grant_app_role(conn, "no_such_role_here")
    engine.dispose()


@pytest.mark.parametrize("svc", SERVICES)
def test_every_group_owned_table_has_forced_row_security_and_its_policy(svc, pg_migrated, tmp_path):
    """The list comes from the models (`Scoped` / `StoreScoped`): a new group-owned table whose
    migration does not call `shared.migrations.protect` fails here."""
    rt = runtime(svc, pg_migrated(svc), tmp_path)
    expected = dict(rls.protected_tables(import_module(f"services.{svc}.adapters.models").Base.metadata))
    with rt.db.engine.connect() as conn:
        tables = {name: (on, forced) for name, on, forced in conn.execute(text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace"))}
        policies = {}
        for table, name, qual, check, cmd in conn.execute(text(
                "SELECT tablename, policyname, qual, with_check, cmd FROM pg_policies WHERE schemaname = current_schema()")):
            policies.setdefault(table, []).append((name, qual, check, cmd))
        owner = {t for (t,) in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tableowner = current_user"))}
    rt.db.engine.dispose()
    assert not owner, f"the service's role owns {owner}"
    unprotected = sorted(t for t in expected if tables.get(t) != (True, True) or len(policies.get(t, [])) != 1)
    assert not unprotected, f"{svc}: no forced row-level security or no single policy on {unprotected}"
    for table, kind in expected.items():
        [(name, qual, check, cmd)] = policies[table]
        assert (name, cmd) == (rls.POLICY_NAME, "ALL") and qual == check
        assert "crm.group_id" in qual and "crm.all_groups" in qual
        assert ("crm.store_ids" in qual) == (kind == "store"), f"{svc}.{table} is {kind}-owned: {qual}"
    # what is left unprotected is not group-owned: the bus's outbox and inbox, Alembic's version, the
    # groups a consumer has heard of, the users' token versions (ids and counters), identity's login
    # throttles (read before anyone is known), and the version of the reference data leads caches per
    # process (one number, `shared.refcache`)
    assert {t for t, (on, _) in tables.items() if not on} <= {
        "outbox", "inbox", "alembic_version", "known_groups", "session_versions", "login_throttles",
        "reference_version"}


def test_production_refuses_to_serve_as_the_tables_owner_or_a_superuser(leads, pg_migrated, pg_admin_url):
    from dataclasses import replace

    owner, app = pg_migrated("leads")
    rls.check_role(leads.db.engine)  # the role that owns nothing
    for url, why in ((owner, "owns tables"), (pg_admin_url.replace("postgresql://", "postgresql+psycopg://"), "superuser")):
        engine = create_engine(url)
        with pytest.raises(rls.UnsafeRole, match=why):
            rls.check_role(engine)
        engine.dispose()
    as_owner = import_module("services.leads.bootstrap").build(replace(leads.settings, database_url=owner))
    as_owner.settings = replace(as_owner.settings, mode="production")
    with pytest.raises(rls.UnsafeRole, match="owns tables"):
        as_owner.refuse_unsafe_role()  # what a production API or worker does at start
    as_owner.settings = replace(as_owner.settings, allow_owner_role=True)  # CRM_ALLOW_OWNER_ROLE=1: a trial
    as_owner.refuse_unsafe_role()
    as_owner.db.engine.dispose()


def test_a_widened_read_that_fails_leaves_the_session_narrow_again(leads):
    manager = Scope(group_id=A, store_ids=frozenset({A1}), user_id="m", role="store_manager")
    with leads.uow(manager) as uow:
        with pytest.raises(ProgrammingError, match="no_such_table"), widened(uow.session, "store_open_lead", None):
            assert {st for (st,) in raw(uow.session, "SELECT store_id FROM leads")} == {A1, A2}
            raw(uow.session, "SELECT * FROM no_such_table")  # the transaction fails inside the wider read
        assert uow.session.info["scope"] == manager
        uow.rollback()
        assert {st for (st,) in raw(uow.session, "SELECT store_id FROM leads")} == {A1}


def test_identitys_session_check_reads_its_users_under_the_tokens_group(pg_migrated, tmp_path):
    """Identity checks a token against its own users table, a tenant's table: the read sets the token's
    group for row-level security (the other services read their copy, no tenant's table, without it)."""
    from services.identity.adapters.models import Group, User
    from shared.sessions import SessionState

    rt = runtime("identity", pg_migrated("identity"), tmp_path)
    try:
        user_id = str(uuid.uuid4())
        with rt.db.session(Scope.system(A)) as s:
            s.add(Group(id=A, group_id=A, code=f"g-{user_id[:8]}", name="A"))
            s.flush()
            s.add(User(id=user_id, group_id=A, username=f"u-{user_id[:8]}", name="u", role="group_admin",
                       password_hash="x", token_version=3))
        rt.sessions.ttl = 0
        assert rt.sessions.state(A, user_id) == SessionState(3, active=True)
        assert rt.sessions.state(B, user_id) == SessionState(0, active=False)  # another group's token: no such user
    finally:
        with rt.db.session(Scope.system(None)) as s:  # the database serves the rest of the run
            s.execute(text("DELETE FROM users WHERE group_id = :g"), {"g": A})
            s.execute(text("DELETE FROM groups WHERE id = :g"), {"g": A})
        rt.db.engine.dispose()
