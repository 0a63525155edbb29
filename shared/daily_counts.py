"""A source service's own daily counts, for analytics' reconciliation: the same shape everywhere.

Each service that publishes facts analytics counts (leads, callcenter, customers) answers, per store and
local day, the counts analytics derives from its events, counted from its own tables:
`GET /<service>/api/v1/stats/daily?from=&to=` (the caller's stores only), and the same rows in a
`<service>.stats.counted` event when analytics asks for them (`analytics.reconciliation.requested`, its
nightly run). This module holds what they share: the query, the row, the counter and the request.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta

from marshmallow import Schema, fields

from sqlalchemy.orm import Session

from shared import clock
from shared.bus import emit
from shared.bus.consumer import EventHandlers
from shared.events import Event
from shared.fields import DayRange

MAX_DAYS = 92
#: analytics asks every source for its counts of these days (its nightly run)
REQUESTED = "analytics.reconciliation.requested"


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
        lo = datetime.combine(day_from - timedelta(days=1), datetime.min.time(), clock.zone())
        self.window = (lo, lo + timedelta(days=(day_to - day_from).days + 3))

    def day_of(self, store_id: str, instant: datetime) -> date:
        return instant.astimezone(clock.zone(self.tzs.get(store_id))).date()

    def add(self, store_id: str | None, day: date | None, metric: str, n: int = 1) -> None:
        if store_id and day is not None and self.day_from <= day <= self.day_to:
            self.out[(store_id, day, metric)] += n

    def at(self, store_id: str | None, instant: datetime | None, metric: str) -> None:
        """Count one fact that happened at `instant`, on its store's local day."""
        if store_id and instant is not None:
            self.add(store_id, self.day_of(store_id, instant), metric)

    def rows(self) -> list[dict]:
        return [{"store_id": sid, "day": day, "metric": metric, "value": n}
                for (sid, day, metric), n in sorted(self.out.items())]


def answer_requests(handlers: EventHandlers, service: str, counts: Callable[[Session, date, date], list[dict]]) -> None:
    """Register the consumer that answers analytics' request for `service`'s counts of some days with a
    `<service>.stats.counted` event (the counts as the owner's tables hold them when the request arrives:
    after every event the service published before)."""

    @handlers.on(REQUESTED)
    def count_for_analytics(s: Session, ev: Event) -> None:
        day_from, day_to = ev.data["day_from"], ev.data["day_to"]
        emit(s, Event(type=f"{service}.stats.counted", group_id=ev.group_id,
                      data={"request_id": ev.data["request_id"], "source": service, "day_from": day_from,
                            "day_to": day_to, "counts": counts(s, day_from, day_to)}))
