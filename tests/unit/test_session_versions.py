"""Session validity: a token older than its user's token version is refused; each service's copy of the
versions only moves forward, whatever order identity's events arrive in."""
from __future__ import annotations

from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.events import Event
from shared.sessions import SessionCheck, SessionState, remember_versions, session_table, with_session_copy
from shared.bus.consumer import EventHandlers


def _p(version: int) -> Principal:
    return Principal("u1", "sh-toyota-pd.sales1", "g1", "demo", "sales_consultant", frozenset({"s1"}), "", version)


def test_a_token_at_or_above_the_users_version_stands_and_an_older_one_does_not():
    state = SessionState(version=3)
    assert state.admits(_p(3)) and state.admits(_p(4))
    assert not state.admits(_p(2))


def test_no_token_of_an_inactive_user_stands():
    assert not SessionState(version=3, active=False).admits(_p(3))


def _user(version: int, active: bool = True) -> Event:
    return Event(type="identity.user.updated", group_id="g1",
                 data={"id": "u1", "username": "x", "name": "x", "role": "store_manager", "active": active,
                       "token_version": version})


def test_the_copy_keeps_the_newest_version_whatever_order_events_arrive_in():
    md = MetaData()
    table = session_table(md)
    engine = create_engine("sqlite://")
    md.create_all(engine)
    remember = remember_versions(table)
    with Session(engine) as s:
        remember(s, _user(2, active=False))
        remember(s, _user(1, active=True))  # late: an older change changes nothing
        assert s.execute(select(table.c.token_version, table.c.active)).one() == (2, False)
        remember(s, Event(type="identity.session.ended", group_id="g1", data={"user_id": "u1", "token_version": 3}))
        assert s.execute(select(table.c.token_version, table.c.active)).one() == (3, False)
        remember(s, _user(4, active=True))
        assert s.execute(select(table.c.token_version, table.c.active)).one() == (4, True)


def test_the_check_reads_a_users_state_at_most_once_per_interval():
    reads = []

    def read(conn, group_id, user_id):
        reads.append(user_id)
        return SessionState(1)

    check = SessionCheck(create_engine("sqlite://"), read, ttl=60)
    assert not check.admits(_p(0)) and not check.admits(_p(0)) and check.admits(_p(1))
    assert reads == ["u1"]


def test_a_user_the_service_has_not_heard_of_yet_passes_on_the_signature():
    assert SessionCheck(create_engine("sqlite://"), lambda *a: None).admits(_p(0))


def test_every_service_gets_the_handler_without_its_own_routing_table_changing():
    own = EventHandlers("leads")
    own.on("identity.store.*")(lambda s, ev: None)
    table = session_table(MetaData())
    combined = with_session_copy(own, "leads", table)
    assert len(own.handlers) == 1
    assert combined.for_type("identity.user.updated") and combined.for_type("identity.session.ended")
    assert set(combined.spec.patterns) >= {"identity.store.*", "identity.user.*", "identity.session.*"}
