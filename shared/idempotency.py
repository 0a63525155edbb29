"""Idempotency keys: a create that a client retries with the same `Idempotency-Key` gets the first answer.

A phone on a showroom's Wi-Fi loses the response to "sign the order" after the server committed it;
the retry must not answer 409 `has_order` (the client could never learn the order's id) nor create a
second order. So, for a view decorated with `@idempotent` and a request carrying the header:

1. the key is the caller's (user id + key): another user's identical key is another request;
2. if the caller used the key before for the same method and path, the stored answer is returned
   as it was (status and body, with `Idempotent-Replayed: true`); for another request, 422;
3. otherwise the view runs inside one unit of work (`Database.enclosing`) that its own sessions
   join, and its answer (status and body) is written in that same transaction: the create and its
   stored answer commit together or not at all. A worker that dies after the commit leaves an
   answer to replay, never a key without one (a key "in progress" forever);
4. the same key sent again while the first request runs waits for it (PostgreSQL holds the second
   insert of the key until the first commits), then gets the first answer; if the first request
   failed meanwhile, the retry gets 409 `idempotency_in_progress` with Retry-After.

Keys without an answer (`status` NULL) come only from the code before rule 3, which committed the key
with the create and stored the answer in a transaction after it: such a key says the create WAS
applied and its answer was lost (that code's worker died, or its database went away, in between).
Letting the create proceed would apply it twice, and its answer cannot be rebuilt in general, so:
while such a key is younger than `ANSWER_WAIT` (an old-version worker may still be storing the
answer, during a rolling upgrade) the retry gets 409 `idempotency_in_progress` with Retry-After;
after that, a final 409 `idempotency_answer_lost` without Retry-After (applied; look the record up,
do not send it again), instead of "retry shortly" for ever.
"""
from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import Response, current_app, g, request
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import UTCDateTime, utcnow
from shared.errors import Conflict, Invalid
from shared.permissions import require

HEADER = "Idempotency-Key"
#: longer than any request runs (gunicorn ends a worker's request after 30 s): a key without an answer
#: older than this is not a request still running
ANSWER_WAIT = timedelta(seconds=60)
RETRY_AFTER = 2  # seconds: a retry of a key whose first request is still running


class InProgress(Conflict):
    """The first request with this key has not answered yet: retry in `RETRY_AFTER` seconds."""

    retry_after = RETRY_AFTER

    def __init__(self, message: str):
        super().__init__(message, "idempotency_in_progress")


def idempotency_table(metadata: MetaData) -> Table:
    """The service's table of keys (declared beside the outbox by `shared.bus.tables.bus_tables`)."""
    if "idempotency_keys" in metadata.tables:
        return metadata.tables["idempotency_keys"]
    return Table(
        "idempotency_keys", metadata,
        Column("user_id", String(36), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("group_id", String(36), nullable=False),
        Column("method", String(10), nullable=False),
        Column("path", String(300), nullable=False),
        Column("status", Integer, nullable=True),  # NULL only in keys written before answers were stored with them
        Column("body", Text, nullable=True),
        Column("created_at", UTCDateTime(), nullable=False),
        info={"owned_by": "group"},  # it keeps answers (names, phones): row-level security by group (shared.rls)
    )


def idempotent_create(blp, action: str, out, body=None, status: int = 201):
    """The decorators of a create a client may retry, in their one right order: the caller must be allowed
    `action` (`shared.permissions.require`); `@idempotent` above the smorest decorators (a replay returns the
    stored answer as it is); then the request's schema `body` (if any) and the answer's schema `out`."""

    def decorate(view):
        view = blp.response(status, out)(view)
        if body is not None:
            view = blp.arguments(body)(view)
        return require(action)(idempotent(view))

    return decorate


def idempotent(view):
    """Replay the first answer to a retried create (see the module's doc). Put it above the smorest
    decorators, so that a replay returns the stored response as it is."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        raw = request.headers.get(HEADER)
        principal = g.get("principal")
        if raw is None or principal is None:
            return view(*args, **kwargs)
        # its form (1-80 visible ASCII characters) was checked at the edge: shared.input_guard
        runtime = current_app.extensions["crm"]
        table = idempotency_table(runtime.base.metadata)
        method, path = request.method, request.path[:300]
        try:
            with runtime.db.enclosing(principal.scope) as s:
                row = _stored(s, table, principal.user_id, raw)
                if row is not None:
                    return _replay(row, method, path)
                response = current_app.make_response(view(*args, **kwargs))
                if response.status_code < 500:
                    s.execute(insert(table).values(
                        user_id=principal.user_id, key=raw, group_id=principal.group_id, method=method,
                        path=path, status=response.status_code, body=response.get_data(as_text=True),
                        created_at=utcnow()))
        except IntegrityError as exc:
            if "idempotency_keys" not in str(exc.orig):
                raise
            # the same key from a second request at the same moment: the first one committed first
            with runtime.db.session(principal.scope) as s:
                row = _stored(s, table, principal.user_id, raw)
            if row is None:
                raise InProgress("a request with this Idempotency-Key is being applied; retry shortly") from exc
            return _replay(row, method, path)
        return response

    return wrapper


def _stored(session: Session, table: Table, user_id: str, key: str):
    return session.execute(select(table).where(table.c.user_id == user_id, table.c.key == key)).first()


def _replay(row, method: str, path: str) -> Response:
    if (row.method, row.path) != (method, path):
        raise Invalid("this Idempotency-Key was already used for another request; use a new key",
                      "idempotency_key_reused", {HEADER: [f"used for {row.method} {row.path}"]})
    if row.status is None:  # written by the code before answers were stored with the create (module doc)
        if utcnow() - row.created_at < ANSWER_WAIT:
            raise InProgress("the first request with this Idempotency-Key was applied but its answer is not "
                             "stored yet; retry shortly")
        raise Conflict("the first request with this Idempotency-Key was applied, but its answer was not kept; "
                       "look the record up instead of sending the request again", "idempotency_answer_lost")
    resp = Response(row.body, status=row.status, mimetype="application/json")
    resp.headers["Idempotent-Replayed"] = "true"
    return resp
