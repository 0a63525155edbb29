"""Tenant scoping is enforced by the session, whatever query a handler writes."""
from __future__ import annotations

import pytest
from sqlalchemy import String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Database, id_column, make_base
from shared.tenancy import Scope, ScopeViolation, StoreScoped

Base = make_base()


class Card(StoreScoped, Base):
    __tablename__ = "cards"
    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(40))


@pytest.fixture
def db(tmp_path):
    d = Database(f"sqlite:///{tmp_path / 't.sqlite'}", [Card])
    Base.metadata.create_all(d.engine)
    with d.session(Scope.system()) as s:
        s.add_all([
            Card(id="a1", group_id="g1", store_id="A", name="a"),
            Card(id="b1", group_id="g1", store_id="B", name="b"),
            Card(id="x1", group_id="g2", store_id="X", name="x"),
        ])
    return d


STORE_A = Scope(group_id="g1", store_ids=frozenset({"A"}), user_id="u", role="store_manager")


def test_a_store_reads_only_its_own_rows_in_every_query_form(db):
    with db.session(STORE_A) as s:
        assert [c.id for c in s.scalars(select(Card))] == ["a1"]
        assert s.scalar(select(func.count(Card.id))) == 1
        assert s.execute(select(Card.name)).scalars().all() == ["a"]
        assert s.get(Card, "b1") is None
        assert s.get(Card, "x1") is None


def test_hq_reads_its_whole_group_but_no_other_group(db):
    with db.session(Scope(group_id="g1", role="group_admin")) as s:
        assert sorted(c.id for c in s.scalars(select(Card))) == ["a1", "b1"]
        assert s.get(Card, "x1") is None


def test_bulk_update_cannot_reach_another_store(db):
    with db.session(STORE_A) as s:
        s.execute(update(Card).values(name="changed"))
    with db.session(Scope.system()) as s:
        assert {c.id: c.name for c in s.scalars(select(Card))} == {"a1": "changed", "b1": "b", "x1": "x"}


def test_new_rows_are_stamped_with_the_group_and_refused_outside_the_scope(db):
    with db.session(STORE_A) as s:
        s.add(Card(id="a2", store_id="A", name="new"))
    with db.session(Scope.system()) as s:
        assert s.get(Card, "a2").group_id == "g1"
    with pytest.raises(ScopeViolation), db.session(STORE_A) as s:
        s.add(Card(id="b2", store_id="B", name="intruder"))
    with pytest.raises(ScopeViolation), db.session(STORE_A) as s:
        s.add(Card(id="x2", group_id="g2", store_id="A", name="intruder"))
    with db.session(Scope.system()) as s:
        assert s.get(Card, "b2") is None and s.get(Card, "x2") is None


def test_moving_a_row_to_another_store_is_refused(db):
    with pytest.raises(ScopeViolation), db.session(STORE_A) as s:
        s.get(Card, "a1").store_id = "B"


def test_a_session_without_scope_cannot_read(db):
    with db.factory() as s, pytest.raises(ScopeViolation):
        s.scalars(select(Card)).all()
