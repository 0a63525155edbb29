"""Events of the reconciliation: analytics asks every source for its daily counts, each answers them; analytics
asks one source to publish the facts of some days again, it does."""
from marshmallow import fields, validate

from shared.events import PayloadSchema, payload, record_id

SOURCES = ("leads", "callcenter", "customers")


@payload("analytics.reconciliation.requested", 1)
class ReconciliationRequestedV1(PayloadSchema):
    """Analytics' nightly run: each source answers its own counts of these days (`<source>.stats.counted`)."""

    request_id = record_id(required=True)
    day_from = fields.Date(required=True)
    day_to = fields.Date(required=True)


@payload("analytics.replay.requested", 1)
class ReplayRequestedV1(PayloadSchema):
    """Analytics found drift: `source` publishes again the events of the facts it counts on these days, in
    these stores (none named: every store of the group) as `<source>.facts.restated`, then its counts."""

    request_id = record_id(required=True)
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    day_from = fields.Date(required=True)
    day_to = fields.Date(required=True)
    store_ids = fields.List(record_id(), load_default=list)


class FactsRestatedV1(PayloadSchema):
    """Events a source published before, again as they were (original ids and payloads), one part of the
    answer to `analytics.replay.requested`."""

    request_id = record_id(required=True)
    part = fields.Integer(required=True, validate=validate.Range(min=1))
    parts = fields.Integer(required=True, validate=validate.Range(min=1))
    events = fields.List(fields.Dict(), required=True)


class DailyCountV1(PayloadSchema):
    store_id = record_id(required=True)
    day = fields.Date(required=True)
    metric = fields.String(required=True, validate=validate.Length(min=1, max=40))
    value = fields.Integer(required=True)


class StatsCountedV1(PayloadSchema):
    """A source's own counts per store, day and metric (as `GET /<source>/api/v1/stats/daily` answers)."""

    request_id = record_id(required=True)
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    day_from = fields.Date(required=True)
    day_to = fields.Date(required=True)
    counts = fields.List(fields.Nested(DailyCountV1), required=True)


for _source in SOURCES:
    payload(f"{_source}.stats.counted", 1)(type(f"StatsCounted_{_source}_V1", (StatsCountedV1,), {}))
    payload(f"{_source}.facts.restated", 1)(type(f"FactsRestated_{_source}_V1", (FactsRestatedV1,), {}))
