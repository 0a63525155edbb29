"""A minimal service on the real bus for the integration tests: one table, outbox, inbox, a consumer.

Also runnable as a process (`python -m tests.integration.busrig DB_URL AMQP_URL`) so that a test can
kill a consumer the hard way.
"""
from __future__ import annotations

import sys
import threading
import uuid

from sqlalchemy import String, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from shared.bus import bus_tables, emit
from shared.bus.consumer import Applier, EventConsumer, EventHandlers, PermanentError
from shared.bus.outbox import install_outbox
from shared.bus.publisher import Publisher
from shared.bus.relay import Relay
from shared.bus.tables import known_groups_of
from shared.db import Database, make_base, utcnow
from shared.events import Event
from shared.tenancy import Scope, Scoped

Base = make_base()
OUTBOX, INBOX = bus_tables(Base.metadata)
handlers = EventHandlers("test")
POISON = {"names": set()}  # names whose events fail permanently (tests flip this)


class Applied(Scoped, Base):
    __tablename__ = "applied"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


@handlers.on("leads.lead.created")
def apply_lead(s, ev: Event) -> None:
    if ev.data["name"] in POISON["names"]:
        raise PermanentError(f"cannot apply {ev.data['name']}")
    s.add(Applied(id=ev.data["lead_id"], group_id=ev.group_id, name=ev.data["name"]))


class Rig:
    def __init__(self, db_url: str, amqp_url: str, relay_url: str | None = None):
        self.db = Database(db_url, [Applied])
        install_outbox(self.db.factory, OUTBOX)
        Base.metadata.create_all(self.db.engine)
        self.know("g1")
        self.amqp_url = amqp_url
        self.relay = Relay(self.db.engine, OUTBOX, Publisher(relay_url or amqp_url))
        self.consumer: EventConsumer | None = None
        self.thread: threading.Thread | None = None

    def know(self, group: str) -> None:
        """Mark a group known, as a service's migration does with the groups it already holds (the
        consumer's tenant rule: events of other groups are dead-lettered)."""
        known = known_groups_of(INBOX)
        with self.db.engine.begin() as c:
            if c.execute(select(known.c.group_id).where(known.c.group_id == group)).first() is None:
                c.execute(insert(known).values(group_id=group, known_at=utcnow()))

    def write(self, name: str, group: str = "g1") -> str:
        lead_id = str(uuid.uuid4())
        with self.db.session(Scope.system(group)) as s:
            emit(s, Event(type="leads.lead.created", group_id=group, store_id="s1",
                          data={"lead_id": lead_id, "name": name, "phone": "+8613800138000", "source": "walk_in"}))
        return lead_id

    def start_consumer(self) -> EventConsumer:
        self.consumer = EventConsumer(self.amqp_url, Applier(self.db, INBOX, handlers), backoff=0.01)
        self.thread = threading.Thread(target=self.consumer.run, daemon=True)
        self.thread.start()
        assert self.consumer.ready.wait(10), "consumer did not start"
        return self.consumer

    def stop(self) -> None:
        if self.consumer:
            self.consumer.stop()
            self.thread.join(5)
        self.relay.publisher.close()
        self.db.engine.dispose()

    def applied(self) -> dict[str, int]:
        with self.db.session(Scope.system()) as s:
            return dict(s.execute(select(Applied.name, func.count()).group_by(Applied.name)).all())

    def unsent(self) -> int:
        with self.db.engine.connect() as c:
            return c.scalar(select(func.count()).select_from(OUTBOX).where(OUTBOX.c.sent_at.is_(None)))


if __name__ == "__main__":
    rig = Rig(sys.argv[1], sys.argv[2])
    rig.start_consumer()
    rig.thread.join()
