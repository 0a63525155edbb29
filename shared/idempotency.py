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
"""
from __future__ import annotations

from functools import wraps

from flask import Response, current_app, g, request
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import UTCDateTime, utcnow
from shared.errors import Conflict, Invalid

HEADER = "Idempotency-Key"


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
                raise Conflict("a request with this Idempotency-Key is being applied; retry shortly",
                               "idempotency_in_progress") from exc
            return _replay(row, method, path)
        return response

    return wrapper


def _stored(session: Session, table: Table, user_id: str, key: str):
    return session.execute(select(table).where(table.c.user_id == user_id, table.c.key == key)).first()


def _replay(row, method: str, path: str) -> Response:
    if (row.method, row.path) != (method, path):
        raise Invalid("this Idempotency-Key was already used for another request; use a new key",
                      "idempotency_key_reused", {HEADER: [f"used for {row.method} {row.path}"]})
    if row.status is None:
        raise Conflict("the first request with this Idempotency-Key was applied but its answer is not stored "
                       "yet; retry shortly, or look the record up", "idempotency_in_progress")
    resp = Response(row.body, status=row.status, mimetype="application/json")
    resp.headers["Idempotent-Replayed"] = "true"
    return resp
