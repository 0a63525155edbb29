"""A source service's own daily counts, for analytics' reconciliation: the same shape everywhere.

Each service that publishes facts analytics counts (leads, callcenter, customers) answers, per store and
local day, the counts analytics derives from its events, counted from its own tables:
`GET /<service>/api/v1/stats/daily?from=&to=` (the caller's stores only), and the same rows in a
`<service>.stats.counted` event when analytics asks for them (`analytics.reconciliation.requested`, its
nightly run). When analytics finds drift it can ask the source to publish the facts of those days again
(`analytics.replay.requested`): the records the counter counted are the ones whose events are
re-published, so "which facts make a day" is written once per service. This module holds what they
share: the query, the row, the counter, the requests and the replay.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta

from marshmallow import Schema, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import clock
from shared.bus import emit
from shared.bus.outbox import outbox_table
from shared.bus.consumer import EventHandlers
from shared.events import Event
from shared.fields import DayRange

MAX_DAYS = 92
#: analytics asks every source for its counts of these days (its nightly run)
REQUESTED = "analytics.reconciliation.requested"
#: analytics asks one source to publish the facts of these days again (a repair of drift)
REPLAY = "analytics.replay.requested"
RESTATED = "facts.restated"
#: events published again per `<service>.facts.restated` message
CHUNK = 200


CountsQuery = DayRange  # the days of a source's counts (`from`, `to`)


def count_out(metrics: tuple[str, ...]) -> type[Schema]:
    """The schema of one row, naming the metrics of its service."""

    class CountOut(Schema):
        store_id = fields.String()
        day = fields.Date()
        metric = fields.String(metadata={"description": ", ".join(metrics)})
        value = fields.Integer()

    return CountOut


class DailyCounter:
    """Counts (store, local day, metric) within [day_from, day_to]; `window` is the instants to query
    (a day either side, for stores in other time zones)."""

    def __init__(self, day_from: date, day_to: date, timezones: dict[str, str] | None = None):
        self.day_from, self.day_to = day_from, day_to
        self.tzs = timezones or {}
        self.out: Counter = Counter()
        #: per store, the ids of the records whose facts were counted (what a replay re-publishes)
        self.records: dict[str, set[str]] = {}
        lo = datetime.combine(day_from - timedelta(days=1), datetime.min.time(), clock.zone())
        self.window = (lo, lo + timedelta(days=(day_to - day_from).days + 3))

    def day_of(self, store_id: str, instant: datetime) -> date:
        return instant.astimezone(clock.zone(self.tzs.get(store_id))).date()

    def add(self, store_id: str | None, day: date | None, metric: str, record: str | None = None, n: int = 1) -> None:
        """Count a fact of `record` (the id its events name) on a local day."""
        if store_id and day is not None and self.day_from <= day <= self.day_to:
            self.out[(store_id, day, metric)] += n
            if record:
                self.records.setdefault(store_id, set()).add(record)

    def at(self, store_id: str | None, instant: datetime | None, metric: str, record: str | None = None) -> None:
        """Count one fact of `record` that happened at `instant`, on its store's local day."""
        if store_id and instant is not None:
            self.add(store_id, self.day_of(store_id, instant), metric, record)

    def records_of(self, stores: set[str] | None) -> set[str]:
        """The ids of the records counted in these stores (None: every store)."""
        return {r for sid, ids in self.records.items() if stores is None or sid in stores for r in ids}

    def rows(self) -> list[dict]:
        return [{"store_id": sid, "day": day, "metric": metric, "value": n}
                for (sid, day, metric), n in sorted(self.out.items())]


def answer_requests(handlers: EventHandlers, service: str, count: Callable[[Session, date, date], DailyCounter]) -> None:
    """Register the consumers that answer analytics for `service`: its request for the counts of some days
    (`analytics.reconciliation.requested`) with a `<service>.stats.counted` event (the counts as the
    owner's tables hold them when the request arrives: after every event the service published before),
    and its request to publish the facts of some days again (`analytics.replay.requested`, see `replay`).
    `count` is the service's one rule for which of its records make which figure on which day."""

    @handlers.on(REQUESTED)
    def count_for_analytics(s: Session, ev: Event) -> None:
        _answer(s, ev, service, count(s, ev.data["day_from"], ev.data["day_to"]))

    @handlers.on(REPLAY)
    def replay_for_analytics(s: Session, ev: Event) -> None:
        if ev.data["source"] == service:
            replay(s, ev, service, count(s, ev.data["day_from"], ev.data["day_to"]))


def _answer(s: Session, ev: Event, service: str, counted: DailyCounter) -> None:
    emit(s, Event(type=f"{service}.stats.counted", group_id=ev.group_id,
                  data={"request_id": ev.data["request_id"], "source": service, "day_from": ev.data["day_from"],
                        "day_to": ev.data["day_to"], "counts": counted.rows()}))


def restated(service: str) -> str:
    """The event that carries a source's facts published again (`<service>.facts.restated`)."""
    return f"{service}.{RESTATED}"


def replay(s: Session, ev: Event, service: str, counted: DailyCounter) -> int:
    """Publish again, as they were published, the events about the records counted on the requested days
    (in the requested stores, or all): from the service's own outbox, every event naming one of those
    records' ids, with its original id and payload, wrapped in `<service>.facts.restated` events of at
    most `CHUNK` each (a wrapper has an id of its own, so a consumer's inbox lets it through even when it
    took the originals before; analytics logs each inner event once by its original id, so what it has
    is not counted twice and what it lacks is added). The service's counts of those days follow
    (`<service>.stats.counted`, same request id), for analytics to compare once it has rebuilt.
    Returns how many events were published again."""
    stores = set(ev.data.get("store_ids") or ()) or None
    messages = published_about(s, ev.group, counted.records_of(stores), counted.window[0])
    parts = [messages[i:i + CHUNK] for i in range(0, len(messages), CHUNK)] or [[]]
    for n, part in enumerate(parts, 1):
        emit(s, Event(type=restated(service), group_id=ev.group_id, data={
            "request_id": ev.data["request_id"], "part": n, "parts": len(parts), "events": part}))
    _answer(s, ev, service, counted)
    return len(messages)


def published_about(s: Session, group_id: str, records: set[str], since: datetime) -> list[dict]:
    """The messages in the session's outbox (oldest first) of `group_id`, written since `since`, whose
    payload names one of `records` (a top-level id field); never the answers to analytics themselves."""
    if not records:
        return []
    table = outbox_table(s)
    out = []
    for body in s.scalars(select(table.c.body).where(
            table.c.created_at >= since, table.c.routing_key.not_like("%.stats.counted"),
            table.c.routing_key.not_like(f"%.{RESTATED}")).order_by(table.c.seq)):
        message = json.loads(body)
        if message.get("group_id") == group_id and any(
                isinstance(v, str) and v in records for v in (message.get("data") or {}).values()):
            out.append(message)
    return out
