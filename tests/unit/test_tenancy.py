"""Tenant scoping is enforced by the session, whatever query a handler writes."""
from __future__ import annotations

import pytest
from sqlalchemy import String, delete, exists, func, select, update
from sqlalchemy.orm import Mapped, aliased, mapped_column

from shared.db import Database, id_column, make_base
from shared.tenancy import Scope, Scoped, ScopeViolation, StoreScoped

Base = make_base()


class Card(StoreScoped, Base):
    __tablename__ = "cards"
    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(40))


class Note(StoreScoped, Base):
    """A second scoped model: statements naming both must be filtered on both."""
    __tablename__ = "notes"
    id: Mapped[str] = id_column()
    card_id: Mapped[str] = mapped_column(String(36))


class Tag(Scoped, Base):
    """Group-owned, visible to a store through the notes it may read: its criteria read another scoped
    model and lean on that model's own criteria (as customers' rows lean on store relationships)."""
    __tablename__ = "tags"
    id: Mapped[str] = id_column()
    card_id: Mapped[str] = mapped_column(String(36))

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.store_ids is not None:
            crit = crit & exists(select(Note.id).where(Note.card_id == cls.card_id))
        return crit


@pytest.fixture
def db(tmp_path):
    d = Database(f"sqlite:///{tmp_path / 't.sqlite'}", [Card, Note, Tag])
    Base.metadata.create_all(d.engine)
    with d.session(Scope.system()) as s:
        s.add_all([
            Card(id="a1", group_id="g1", store_id="A", name="a"),
            Card(id="b1", group_id="g1", store_id="B", name="b"),
            Card(id="x1", group_id="g2", store_id="X", name="x"),
            # notes about a card of store A written at store A, at store B, and in another group
            Note(id="na", group_id="g1", store_id="A", card_id="a1"),
            Note(id="nb", group_id="g1", store_id="B", card_id="a1"),
            Note(id="nx", group_id="g2", store_id="X", card_id="a1"),
            # a note of store A about cards the store cannot see
            Note(id="nab", group_id="g1", store_id="A", card_id="b1"),
            Note(id="nax", group_id="g1", store_id="A", card_id="x1"),
            Note(id="nc", group_id="g1", store_id="B", card_id="c9"),  # the only note about c9: store B's
            Tag(id="t1", group_id="g1", card_id="a1"),
            Tag(id="t9", group_id="g1", card_id="c9"),
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


def test_a_statement_naming_two_scoped_models_is_filtered_on_both(db):
    """The filter is added for every scoped model a statement names (join, subquery, alias, count),
    not only for the entity it returns."""
    with db.session(STORE_A) as s:
        joined = s.execute(select(Card.id, Note.id).join(Note, Note.card_id == Card.id)).all()
        assert sorted(joined) == [("a1", "na")]
        assert s.execute(select(Note.id, Card.id).join(Card, Card.id == Note.card_id)).all() == [("na", "a1")]
        assert s.scalars(select(Card.id).where(Card.id.in_(select(Note.card_id)))).all() == ["a1"]
        assert sorted(s.scalars(select(Note.id).where(Note.card_id.in_(select(Card.id))))) == ["na"]
        other = aliased(Note)
        assert sorted(s.scalars(select(other.id).where(other.card_id == "a1"))) == ["na"]
        assert s.scalar(select(func.count(Note.id))) == 3  # na, nab, nax: store A's own notes
    with db.session(Scope(group_id="g1", role="group_admin")) as s:
        joined = s.execute(select(Card.id, Note.id).join(Note, Note.card_id == Card.id)).all()
        assert sorted(joined) == [("a1", "na"), ("a1", "nb"), ("b1", "nab")]


def test_a_statement_run_again_is_filtered_again_for_each_scope(db):
    """The models a statement names are worked out once per shape of statement (its cache key): the
    same shapes again, with other values and in other scopes, are filtered as the first time."""
    store_b = Scope(group_id="g1", store_ids=frozenset({"B"}), user_id="u", role="store_manager")
    for other in ("zz", "yy"):  # the same two shapes twice, with another value the second time
        # store B's own notes are about a1, which it cannot see, and c9, which no one has
        for scope, notes, cards in ((STORE_A, ["na"], ["a1"]), (store_b, [], ["b1"])):
            with db.session(scope) as s:
                assert s.scalars(select(Note.id).where(Note.card_id.in_(select(Card.id)), Note.id != other)).all() \
                    == notes
                assert s.scalars(select(Card.id).where(Card.name != other)).all() == cards


def test_get_of_another_groups_or_stores_id_returns_none_in_a_fresh_session(db):
    """Session.get is a statement of its own: filtered even as the first statement of a session."""
    with db.session(STORE_A) as s:
        assert s.get(Note, "nx") is None
    with db.session(STORE_A) as s:
        assert s.get(Note, "nb") is None
    with db.session(Scope(group_id="g1", role="group_admin")) as s:
        assert s.get(Note, "nx") is None and s.get(Card, "x1") is None
        assert s.get(Note, "nb").store_id == "B"
    with db.session(Scope(group_id=None, role="group_admin")) as s:  # group unknown: nothing at all
        assert s.get(Note, "na") is None


def test_bulk_statements_on_a_second_model_are_filtered(db):
    with db.session(STORE_A) as s:
        s.execute(update(Note).where(Note.card_id.in_(select(Card.id))).values(card_id="moved"))
        s.execute(delete(Note).where(Note.id.in_(["nb", "nx"])))
    with db.session(Scope.system()) as s:
        assert {n.id: n.card_id for n in s.scalars(select(Note))} == {
            "na": "moved", "nb": "a1", "nx": "a1", "nab": "b1", "nax": "x1", "nc": "c9"}


def test_a_user_of_two_stores_reads_both_and_no_third(db):
    with db.session(Scope(group_id="g1", store_ids=frozenset({"A", "B"}), user_id="u", role="store_manager")) as s:
        assert sorted(s.scalars(select(Card.id))) == ["a1", "b1"]
        assert sorted(s.scalars(select(Note.id))) == ["na", "nab", "nax", "nb", "nc"]
        assert s.get(Note, "nx") is None


def test_criteria_that_read_another_scoped_model_are_filtered_by_its_criteria_too(db):
    """A statement naming only Tag: Tag's criteria read Note, and Note's own criteria hold inside them."""
    with db.session(STORE_A) as s:
        assert s.scalars(select(Tag.id)).all() == ["t1"]
        assert s.get(Tag, "t9") is None
    with db.session(Scope(group_id="g1", role="group_admin")) as s:
        assert sorted(s.scalars(select(Tag.id))) == ["t1", "t9"]
