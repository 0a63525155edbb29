"""Call-center use cases against a fake unit of work (tests/fake_uow.py), with the service's real message bus."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from services.callcenter.handlers import complaints, message_bus
from services.callcenter.adapters.models import Base, Complaint, StaffRef, StoreRef, Task
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.tenancy import Scope
from tests.fake_uow import GROUP, FakeDatabase, person, seed_stores

G, STORE, OTHER = GROUP, "store-pd", "store-xh"


@pytest.fixture(scope="module")
def fake_db() -> FakeDatabase:
    return FakeDatabase(Base.metadata, [m.class_ for m in Base.registry.mappers], message_bus())


@pytest.fixture
def db(fake_db):
    with fake_db.test_transaction() as db:
        seed_stores(db, StoreRef, StaffRef, (STORE, OTHER))
        yield db


AGENT, MGR, OTHER_MGR = (person("agent1", "cc_agent"), person(f"{STORE}.mgr", "store_manager", STORE),
                         person(f"{OTHER}.mgr", "store_manager", OTHER))


def open_one(db) -> str:
    with db.uow(AGENT.scope) as uow:
        c = complaints.open_from_agent(uow, AGENT, {"store_id": STORE, "severity": "high",
                                                    "summary": "  the car came back dirty  "})
        uow.commit()
        return c.id


def test_an_agents_complaint_goes_to_the_stores_manager_with_a_deadline_and_is_announced(db):
    cid = open_one(db)
    with db.uow(MGR.scope) as uow:
        c = uow.session.get_one(Complaint, cid)
        assert (c.status, c.assignee_id, c.summary, c.source) == ("open", MGR.user_id, "the car came back dirty", "agent")
        assert c.due_at > c.created_at
    assert db.types() == ["callcenter.complaint.opened"]


def test_a_complaint_needs_a_summary_and_a_known_store(db):
    with db.uow(AGENT.scope) as uow, pytest.raises(Invalid):
        complaints.open_from_agent(uow, AGENT, {"store_id": STORE, "severity": "high", "summary": "  "})
    with db.uow(AGENT.scope) as uow, pytest.raises(Invalid):
        complaints.open_from_agent(uow, AGENT, {"store_id": "nowhere", "severity": "high", "summary": "x"})
    assert db.emitted == []


def test_resolving_plans_the_follow_up_call_in_the_same_unit_of_work(db):
    cid = open_one(db)
    with db.uow(MGR.scope) as uow, pytest.raises(Invalid):
        complaints.transition_complaint(uow, MGR, cid, "resolve", "")  # say how
    with db.uow(MGR.scope) as uow:
        complaints.transition_complaint(uow, MGR, cid, "resolve", "cleaned and returned")
        uow.commit()
    with db.uow(Scope.system(G)) as uow:
        follow_ups = uow.session.scalars(select(Task).where(Task.task_type == "complaint_followup")).all()
    assert [t.detail["complaint_id"] for t in follow_ups] == [cid]  # the bus's subscriber, ComplaintResolved
    assert db.types() == ["callcenter.complaint.opened", "callcenter.complaint.resolved", "callcenter.task.created"]


def test_a_rolled_back_resolution_plans_nothing(db):
    cid = open_one(db)
    with db.uow(MGR.scope) as uow:
        complaints.transition_complaint(uow, MGR, cid, "resolve", "cleaned")
        uow.dispatch()  # the follow-up task is planned, then the unit of work is left without commit
    with db.uow(Scope.system(G)) as uow:
        assert uow.session.scalars(select(Task)).all() == []
        assert uow.session.get_one(Complaint, cid).status == "open"


def test_the_store_cannot_confirm_its_own_resolution_nor_touch_another_stores_complaint(db):
    cid = open_one(db)
    with db.uow(MGR.scope) as uow:
        complaints.transition_complaint(uow, MGR, cid, "resolve", "cleaned")
        uow.commit()
    with db.uow(MGR.scope) as uow, pytest.raises(Forbidden):
        complaints.transition_complaint(uow, MGR, cid, "confirm")
    with db.uow(OTHER_MGR.scope) as uow, pytest.raises(NotFound):
        complaints.transition_complaint(uow, OTHER_MGR, cid, "reopen")
    with db.uow(AGENT.scope) as uow:
        complaints.transition_complaint(uow, AGENT, cid, "confirm")
        uow.commit()
    with db.uow(AGENT.scope) as uow, pytest.raises(Conflict):
        complaints.transition_complaint(uow, AGENT, cid, "resolve", "again")  # confirmed: nothing left to resolve
