"""Reading beyond the caller's stores happens only in reviewed places, for a reviewed reason.

A request never builds a group-wide scope by hand: it calls `shared.tenancy.widened(session, why)`
with a reason from `WIDENINGS`. This test lists every such call and every hand-built system scope in
request code; a new one fails here until someone reviews it and adds it below.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Database, id_column, make_base
from shared.tenancy import WIDENINGS, Scope, ScopeViolation, StoreScoped, widened

ROOT = Path(__file__).resolve().parents[2]

#: (file, reason) of every reviewed widening
REVIEWED = {
    ("services/leads/handlers/leads.py", "store_open_lead"),
    ("services/customers/handlers/matching.py", "match_customer"),
    ("services/analytics/views/reports.py", "group_average_per_store"),
}

#: files where a system scope is the point: the runtime's wiring (daily jobs) and commands. A caller who
#: is not signed in (login, the customer's survey link) gets the scope of its one group from
#: `ServiceRuntime.scope_of_unsigned`; handlers and pages take their scope from their caller.
SYSTEM_SCOPE_ALLOWED = {
    "services/customers/bootstrap.py",  # the daily care schedules: one scope per group (group_scopes)
    "services/analytics/entrypoints/rebuild.py",  # crm rebuild-analytics
    "services/analytics/bootstrap.py",  # the daily job: compaction, the nightly reconciliation request
    "services/leads/bootstrap.py",  # the daily job: reports missed at their deadline
    "services/leads/entrypoints/worker.py",  # the leads worker's queue of imports (every group's jobs)
    "services/identity/entrypoints/delivery.py",  # the identity worker sending the inbox notices (every group's)
}



def _request_code() -> list[Path]:
    skip = ("consumers.py", "cli.py", "seed.py", "/migrations/")
    return [p for p in sorted((ROOT / "services").rglob("*.py")) if not any(k in str(p) for k in skip)]


def test_every_widening_is_reviewed():
    found = set()
    for path in _request_code():
        for why in re.findall(r"widened\([^,]+,\s*\"([a-z_]+)\"", path.read_text()):
            found.add((str(path.relative_to(ROOT)), why))
    assert found == REVIEWED
    assert {why for _, why in found} <= set(WIDENINGS)


def test_no_request_code_builds_a_group_scope_by_hand():
    found = {str(p.relative_to(ROOT)) for p in _request_code() if "Scope.system(" in p.read_text()}
    assert found <= SYSTEM_SCOPE_ALLOWED, found - SYSTEM_SCOPE_ALLOWED


Base = make_base()


class Card(StoreScoped, Base):
    __tablename__ = "cards"
    id: Mapped[str] = id_column()
    text: Mapped[str] = mapped_column(String(20))


@pytest.fixture
def db(tmp_path):
    d = Database(f"sqlite:///{tmp_path / 'w.sqlite'}", [Card])
    Base.metadata.create_all(d.engine)
    with d.session(Scope.system("g")) as s:
        s.add_all([Card(store_id="a", text="mine"), Card(store_id="b", text="theirs")])
    return d


def test_a_widened_read_sees_the_group_but_writes_stay_in_the_callers_stores(db):
    me = Scope("g", frozenset({"a"}), "u1", "store_manager")
    with db.session(me) as s:
        assert s.scalars(select(Card.text)).all() == ["mine"]
        with widened(s, "match_customer"):
            assert sorted(s.scalars(select(Card.text))) == ["mine", "theirs"]
            s.add(Card(store_id="b", text="forged"))
            with pytest.raises(ScopeViolation):
                s.flush()
            s.rollback()
        assert s.info["scope"] == me and "write_scope" not in s.info


def test_an_unreviewed_reason_is_refused(db):
    with db.session(Scope("g", frozenset({"a"}), "u1", "store_manager")) as s, pytest.raises(ValueError):
        with widened(s, "because I can"):
            pass
