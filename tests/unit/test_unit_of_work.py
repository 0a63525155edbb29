"""The unit of work saves nothing unless told to, and follow-on effects share its transaction."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Database, id_column, make_base
from shared.tenancy import Scope, Scoped
from shared.uow import MessageBus, UnitOfWork

Base = make_base()


class Note(Scoped, Base):
    __tablename__ = "notes"
    id: Mapped[str] = id_column()
    text: Mapped[str] = mapped_column(String(40))


@dataclass(frozen=True)
class NoteWritten:
    text: str


@pytest.fixture
def db(tmp_path):
    d = Database(f"sqlite:///{tmp_path / 'uow.sqlite'}", [Note])
    Base.metadata.create_all(d.engine)
    return d


def _texts(db) -> list[str]:
    with UnitOfWork(db.factory, Scope.system("g1")) as uow:
        return sorted(uow.session.scalars(select(Note.text)))


def test_nothing_is_saved_without_commit(db):
    with UnitOfWork(db.factory, Scope.system("g1")) as uow:
        uow.session.add(Note(text="dry run"))
        uow.session.flush()
    assert _texts(db) == []


def test_a_subscriber_runs_in_the_same_transaction_and_is_saved_with_it(db):
    bus = MessageBus()

    @bus.subscribe(NoteWritten)
    def echo(uow, ev):
        if ev.text == "first":
            uow.session.add(Note(text="follow-on"))
            uow.record(NoteWritten("follow-on"))  # events recorded by a subscriber are dispatched too

    with UnitOfWork(db.factory, Scope.system("g1"), bus) as uow:
        uow.session.add(Note(text="first"))
        uow.record(NoteWritten("first"))
        uow.commit()
    assert _texts(db) == ["first", "follow-on"]


def test_a_failing_subscriber_rolls_back_the_whole_unit(db):
    bus = MessageBus()

    @bus.subscribe(NoteWritten)
    def boom(uow, ev):
        raise RuntimeError("follow-on failed")

    with pytest.raises(RuntimeError), UnitOfWork(db.factory, Scope.system("g1"), bus) as uow:
        uow.session.add(Note(text="first"))
        uow.record(NoteWritten("first"))
        uow.commit()
    assert _texts(db) == []


def test_extras_are_attributes_and_reach_the_session(db):
    with UnitOfWork(db.factory, Scope.system("g1"), pii="keys") as uow:
        assert uow.pii == "keys" and uow.session.info["pii"] == "keys"
        assert uow.session.info["scope"] == Scope.system("g1")


def test_what_an_uncommitted_unit_loaded_stays_readable_after_it(db):
    """A read (or a dry run's preview) is serialised after its unit of work ended without commit."""
    with UnitOfWork(db.factory, Scope.system("g1")) as uow:
        uow.session.add(Note(text="kept"))
        uow.commit()
    with UnitOfWork(db.factory, Scope.system("g1")) as uow:
        note = uow.session.scalar(select(Note))
        preview = Note(text="dry run")
        uow.session.add(preview)
        uow.session.flush()
    assert note.text == "kept" and preview.text == "dry run"
    assert _texts(db) == ["kept"]
