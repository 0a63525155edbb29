"""Leads use cases against a fake unit of work (tests/fake_uow.py): rules, not HTTP, in milliseconds."""
from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from sqlalchemy import func, select

from services.leads import handlers
from services.leads.handlers import importer
from services.leads.adapters.models import Base, ImportFileChunk, ImportJob, Lead, StaffRef, StoreRef
from shared import clock
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.tenancy import Scope

from tests.fake_uow import GROUP, FakeDatabase, person, seed_stores

G = GROUP
PD, XH = "store-pd", "store-xh"


@pytest.fixture(scope="module")
def fake_db() -> FakeDatabase:
    return FakeDatabase(Base.metadata, [m.class_ for m in Base.registry.mappers])


@pytest.fixture
def db(fake_db):
    with fake_db.test_transaction() as db:
        seed_stores(db, StoreRef, StaffRef, (PD, XH), consultants=2)
        yield db


MGR, SALES, OTHER_MGR = (person(f"{PD}.mgr", "store_manager", PD), person(f"{PD}.s1", "sales_consultant", PD),
                         person(f"{XH}.mgr", "store_manager", XH))
NEW = {"name": "周一", "phone": "13812340001", "source": "online"}


def new_lead(db, p: Principal = SALES, **data) -> str:
    with db.uow(p.scope) as uow:
        lead, _ = handlers.create_lead(uow.session, p, {**NEW, **data})
        uow.commit()
        return lead.id


def test_a_consultant_registers_a_lead_of_their_own_with_a_due_date_and_its_event(db):
    lead_id = new_lead(db)
    with db.uow(SALES.scope) as uow:
        lead = uow.session.get_one(Lead, lead_id)
        assert (lead.consultant_id, lead.store_id, lead.level, lead.phone) == (SALES.user_id, PD, "N", "+8613812340001")
        assert lead.due_on is not None
    assert db.types() == ["leads.lead.created"]
    assert db.emitted[0]["data"]["lead_id"] == lead_id and db.emitted[0]["store_id"] == PD


def test_a_retried_request_with_the_same_key_returns_the_first_lead_and_announces_nothing_again(db):
    with db.uow(SALES.scope) as uow:
        first, created = handlers.create_lead(uow.session, SALES, NEW, idempotency_key="k1")
        uow.commit()
    with db.uow(SALES.scope) as uow:
        again, created_again = handlers.create_lead(uow.session, SALES, NEW, idempotency_key="k1")
        uow.commit()
    assert created and not created_again and again.id == first.id
    assert db.types() == ["leads.lead.created"]


def test_an_uncommitted_unit_of_work_saves_nothing_and_emits_nothing(db):
    with db.uow(SALES.scope) as uow:
        handlers.create_lead(uow.session, SALES, NEW)  # a dry run: never committed
    with db.uow(SALES.scope) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Lead)) == 0
    assert db.emitted == []


def test_an_unknown_source_is_refused_with_the_field_named(db):
    with db.uow(SALES.scope) as uow, pytest.raises(Invalid) as refused:
        handlers.create_lead(uow.session, SALES, {**NEW, "source": "carrier_pigeon"})
    assert "source" in refused.value.errors


def test_another_stores_lead_is_not_found_for_its_manager(db):
    lead_id = new_lead(db)
    with db.uow(OTHER_MGR.scope) as uow, pytest.raises(NotFound):
        handlers.assign(uow.session, OTHER_MGR, lead_id, f"{XH}.s1")


def test_only_the_manager_assigns_and_the_new_owner_is_announced(db):
    lead_id = new_lead(db)
    with db.uow(SALES.scope) as uow, pytest.raises(Forbidden):
        handlers.assign(uow.session, SALES, lead_id, f"{PD}.s2")
    with db.uow(MGR.scope) as uow, pytest.raises(Invalid):
        handlers.assign(uow.session, MGR, lead_id, f"{XH}.s1")  # not a consultant of this store
    with db.uow(MGR.scope) as uow:
        handlers.assign(uow.session, MGR, lead_id, f"{PD}.s2")
        uow.commit()
    assert db.types() == ["leads.lead.created", "leads.lead.updated"]
    assert db.emitted[-1]["data"]["consultant_id"] == f"{PD}.s2"


def test_grading_follows_the_checklist_and_a_closed_lead_takes_no_follow_up(db):
    lead_id = new_lead(db)
    with db.uow(SALES.scope) as uow:
        handlers.grade(uow.session, SALES, lead_id, "C", [], "first talk")
        uow.commit()
    with db.uow(SALES.scope) as uow, pytest.raises(Invalid):
        handlers.grade(uow.session, SALES, lead_id, "O", [], None)  # O comes with an order
    with db.uow(SALES.scope) as uow:
        handlers.grade(uow.session, SALES, lead_id, "invalid", [], "wrong number")
        uow.commit()
    changes = [e["data"]["to_level"] for e in db.emitted if e["type"] == "leads.lead.level_changed"]
    assert changes == ["C", "invalid"]  # the refused grading announced nothing
    with db.uow(SALES.scope) as uow, pytest.raises(Conflict):
        handlers.log_follow_up(uow.session, SALES, lead_id, {"kind": "call", "outcome": "reached"})
    with db.uow(SALES.scope) as uow, pytest.raises(Conflict):
        handlers.grade(uow.session, SALES, lead_id, "A", [], None)


def test_one_worker_wins_an_import_and_another_takes_it_over_only_when_the_lease_ran_out(db):
    with db.uow(MGR.scope) as uow:
        job_id = importer.submit(uow.session, MGR, None, "a.csv", False, BytesIO(b"name,phone\n" * 3)).id
        uow.commit()
    with db.uow(Scope.system()) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ImportFileChunk)) == 1
        assert importer.claim(uow.session, "w1") == (job_id, G)
        assert importer.claim(uow.session, "w2") is None  # w1 holds it
        assert importer.claim(uow.session, "w1", job_id=job_id) == (job_id, G)  # w1 goes on with it
        uow.commit()
    clock.freeze(clock.now() + importer.LEASE + timedelta(seconds=1))
    try:
        with db.uow(Scope.system()) as uow:
            assert importer.claim(uow.session, "w2") == (job_id, G)
            assert uow.session.get_one(ImportJob, job_id).claimed_by == "w2"
    finally:
        clock.reset()


def test_an_empty_upload_is_refused_and_queues_nothing(db):
    with db.uow(MGR.scope) as uow, pytest.raises(Invalid):
        importer.submit(uow.session, MGR, None, "empty.csv", False, BytesIO(b""))
    with db.uow(SALES.scope) as uow, pytest.raises(Forbidden):
        importer.submit(uow.session, SALES, None, "a.csv", False, BytesIO(b"name,phone\n"))
