"""Idempotency keys: a create that a client retries with the same `Idempotency-Key` gets the first answer.

A phone on a showroom's Wi-Fi loses the response to "sign the order" after the server committed it;
the retry must not answer 409 `has_order` (the client could never learn the order's id) nor create a
second order. So, for a view decorated with `@idempotent` and a request carrying the header:

1. the key is the caller's (user id + key): another user's identical key is another request;
2. if the caller used the key before for the same method and path, the stored answer is returned
   as it was (status and body, with `Idempotent-Replayed: true`); for another request, 422;
3. otherwise the view runs, and the key is written *in the view's own transaction* (the first commit
   that writes something), so the create and the key commit together or not at all; the answer is
   stored right after. If the process died in between, or the first request is still running, the
   retry gets 409 `idempotency_in_progress` with Retry-After instead of a second create.
"""
from __future__ import annotations

import logging
from functools import wraps

from flask import Response, current_app, g, has_request_context, request
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import UTCDateTime, utcnow
from shared.errors import Conflict, Invalid, database_unavailable

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
_PENDING = "idempotency_pending"  # g: (user, key, method, path, group) of the running request
_WRITTEN = "idempotency_written"  # g: the key row was written in a transaction of this request


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
        Column("status", Integer, nullable=True),  # NULL: committed, answer not stored yet
        Column("body", Text, nullable=True),
        Column("created_at", UTCDateTime(), nullable=False),
        info={"owned_by": "group"},  # it keeps answers (names, phones): row-level security by group (shared.rls)
    )


def install_idempotency(factory, table: Table) -> None:
    """Write the running request's key in the first transaction of this factory that writes rows."""

    @event.listens_for(factory, "after_flush")
    def _flushed(session: Session, _ctx) -> None:
        session.info["wrote_rows"] = True

    @event.listens_for(factory, "before_commit")
    def _key_with_the_create(session: Session) -> None:
        wrote = session.info.pop("wrote_rows", False) or session.info.get("outbox_pending") \
            or session.info.get("outbox_dirty")
        if not (wrote and has_request_context()) or g.get(_PENDING) is None or g.get(_WRITTEN):
            return
        user, key, method, path, group = g.get(_PENDING)
        session.execute(insert(table).values(user_id=user, key=key, group_id=group, method=method, path=path,
                                             created_at=utcnow()))
        g.setdefault(_WRITTEN, True)

    @event.listens_for(factory, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop("wrote_rows", None)


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
        with runtime.db.session(principal.scope) as s:  # in the caller's scope: the table is the group's
            row = s.execute(select(table).where(table.c.user_id == principal.user_id, table.c.key == raw)).first()
        if row is not None:
            return _replay(row, method, path)
        g.setdefault(_PENDING, (principal.user_id, raw, method, path, principal.group_id))
        try:
            response = view(*args, **kwargs)
        except IntegrityError as exc:
            if "idempotency_keys" in str(exc.orig):  # the same key, at the same moment, from a second request
                raise Conflict("a request with this Idempotency-Key is being applied; retry shortly",
                               "idempotency_in_progress") from exc
            raise
        if g.get(_WRITTEN) and isinstance(response, Response) and response.status_code < 300:
            try:
                with runtime.db.session(principal.scope) as s:
                    s.execute(update(table).where(table.c.user_id == principal.user_id, table.c.key == raw)
                              .values(status=response.status_code, body=response.get_data(as_text=True)))
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                # the create is committed: answer it (a 503 would say it was not); a retry is then told
                # 409 idempotency_in_progress, as after a crash at this point
                log.warning("idempotency: the answer to %s %s was not stored: %s", method, path, exc)
        return response

    return wrapper


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
