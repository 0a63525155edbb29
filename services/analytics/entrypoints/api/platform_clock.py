"""The platform clock, moved through the public API (embedded mode only).

In embedded mode every service runs in one process on one clock (`shared.clock`), so moving it lets a
tester meet a deadline the way a user does: a lead becoming overdue, a report's 18:00 lock, a callback's
due time, a complaint's SLA. Production mode refuses it (403 `embedded_only`): there each process has its
own clock and time is the real time. Only the group admin moves it; tokens are checked against real time,
so moving the clock never signs anyone out.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared import clock
from shared.errors import fail
from shared.fields import AwareDateTime
from shared.permissions import require

from . import blp

#: a year either way is enough to cross any deadline the platform has
MAX_SECONDS = 366 * 24 * 3600


class ClockIn(Schema):
    at = AwareDateTime(metadata={"description": "move to this instant"})
    advance_seconds = fields.Integer(validate=validate.Range(min=-MAX_SECONDS, max=MAX_SECONDS),
                                     metadata={"description": "or move by this many seconds"})
    frozen = fields.Boolean(load_default=True, metadata={"description": "stop the clock there (default) or let it run"})

    @validates_schema
    def _one(self, data, **_):
        if ("at" in data) == ("advance_seconds" in data):
            raise ValidationError("give either at or advance_seconds", "_schema")


class ClockOut(Schema):
    now = fields.AwareDateTime()
    frozen = fields.Boolean()
    moved = fields.Boolean(metadata={"description": "whether the clock is not the run's own time"})


def _embedded_only() -> None:
    if not current_app.extensions["crm"].settings.embedded:
        fail(403, "the clock can only be moved in embedded mode", "embedded_only")


def _state() -> dict:
    return {"now": clock.now(), "frozen": clock.is_frozen(), "moved": clock.is_moved()}


@blp.route("/clock")
class Clock(MethodView):
    @require("analytics.admin")
    @blp.response(200, ClockOut)
    def get(self):
        """The platform's "now" (embedded mode only)."""
        _embedded_only()
        return _state()

    @require("analytics.admin")
    @blp.arguments(ClockIn)
    @blp.response(200, ClockOut)
    def put(self, body):
        """Move the platform clock to an instant or by some seconds, stopped there or running (embedded only)."""
        _embedded_only()
        target = body.get("at") or clock.now() + timedelta(seconds=body["advance_seconds"])
        (clock.freeze if body["frozen"] else clock.travel_to)(target)
        return _state()

    @require("analytics.admin")
    @blp.response(200, ClockOut)
    def delete(self):
        """Back to the run's own time (embedded only)."""
        _embedded_only()
        clock.reset()
        return _state()
