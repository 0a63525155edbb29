"""Errors: domain exceptions that handlers raise, and the one map that turns them into answers.

Handlers (use cases) raise `NotFound`, `Invalid`, `Conflict` or `Forbidden`: plain exceptions with no
HTTP in them, so a consumer or a command can call a handler too. The edge maps them once:
- the API and the pages (`shared.web`): JSON `{"code", "message", "errors"}` or the error page, with
  the exception's `status`; a page that shows the message itself catches `UserError`;
- the consumers (`shared.bus.consumer`): a domain error is permanent, so the event is dead-lettered
  with its message instead of being retried.
The edge also answers for the database itself (`database_unavailable`): a server that is down or
refuses connections, or a connection that died under a request, is 503 `database_unavailable` with
`Retry-After`, not 500: the request's transaction did not commit, and the same request may succeed
seconds later. A read-only request whose connection was lost is first tried once more
(`connection_lost`; `shared.web`).
`ApiError`/`fail()` remain for the entrypoints themselves (a request the web layer refuses).
"""
from __future__ import annotations

from typing import Any, NoReturn

from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, default_exceptions

SLUGS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    423: "locked",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class DomainError(Exception):
    """A rule said no. `code` is stable for clients; `errors` holds per-field reasons."""

    status = 400
    default_code = "bad_request"

    def __init__(self, message: str, code: str | None = None, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.errors = errors or {}

    @property
    def data(self) -> dict:
        """The error body (the same attribute `ApiError` has, so pages read either alike)."""
        return {"code": self.code, "message": self.message, "errors": self.errors}


class NotFound(DomainError):
    """Not there, or not the caller's to see (another tenant's record answers the same)."""

    status, default_code = 404, "not_found"

    def __init__(self, what: str = "resource", code: str | None = None):
        super().__init__(f"{what} not found", code)


class Invalid(DomainError):
    """The input breaks a rule (a field error, a date out of range, an unknown reference)."""

    status, default_code = 422, "validation_error"


class Conflict(DomainError):
    """The record's state does not allow it (already decided, has an order, locked)."""

    status, default_code = 409, "conflict"


class Forbidden(DomainError):
    """The caller's role may not do this."""

    status, default_code = 403, "forbidden"



#: seconds a client is asked to wait after a 503 `database_unavailable` (the pool reconnects on the
#: next request; a database restarting takes a few seconds)
DATABASE_RETRY_AFTER = 3


def connection_lost(exc: BaseException) -> bool:
    """The database connection died under the statement (terminated, server restarted, network cut).

    Through SQLAlchemy: its error for a connection it invalidated (it then invalidates every pooled one
    opened before it, so the next checkout connects afresh, and `pool_pre_ping` tests a connection
    before handing it out). From code that drives psycopg's connection itself (the outbox relay's
    pipelined batch, `shared.bus.relay`): psycopg's `OperationalError`, what it raises for a connection
    that is gone (a server that ended the session says why, e.g. 57P01 `admin_shutdown`). The one test
    of it for every caller: the web's retry of a read, the session check, the relay's reconnection.
    """
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated
    try:
        import psycopg
    except ImportError:  # pragma: no cover (a SQLite-only install)
        return False
    return isinstance(exc, psycopg.OperationalError)


#: SQLSTATE classes of PostgreSQL errors that pass: a connection (08), a transaction rolled back for
#: a concurrent one (40: serialization failure, deadlock), resources (53: too many connections, disk
#: full, out of memory), an operator or the server stopping a statement (57: statement timeout,
#: shutdown, starting up), an I/O error (58)
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
#: single SQLSTATEs that pass: a lock not available (55P03), a read-only transaction on a standby
#: during a failover (25006), a table missing (42P01: a migration or a restore in progress; the same
#: code with the table in place works)
TRANSIENT_SQLSTATES = frozenset({"55P03", "25006", "42P01"})
#: SQLite's transient failures (its errors carry no code in Python 3.11): busy, I/O, a table missing
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "disk i/o error",
                     "unable to open database file", "no such table")


def database_unavailable(exc: BaseException) -> bool:
    """A failure of the database rather than of the request, which the same request may not meet a
    moment later: no connection could be made (server down, not accepting connections), the
    connection was lost, or the server refused the statement for a reason that passes (SQLite busy, a
    statement timeout, a serialization failure, a table missing while a migration runs: see
    `TRANSIENT_SQLSTATE_CLASSES`). A permanent error that SQLAlchemy also calls `OperationalError`
    (PostgreSQL's program limits, SQLite's syntax errors) is not: it is the code's, a 500, and a
    consumer parks the message after its few retries instead of retrying it for minutes."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if connection_lost(exc) or isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    if sqlstate:
        return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES or sqlstate in TRANSIENT_SQLSTATES
    if type(orig).__module__ == "sqlite3":
        message = str(orig).lower()
        return any(m in message for m in _SQLITE_TRANSIENT)
    return isinstance(exc, OperationalError)  # no code: the connection could not be made at all


def as_http(exc: DomainError) -> ApiError:
    """The edge's one mapping from a domain error to an HTTP error with the project's body."""
    return ApiError(exc.status, exc.message, exc.code, exc.errors)

class ApiError(HTTPException):
    """An error a handler raises on purpose; rendered as JSON on API paths."""

    def __init__(self, status: int, message: str, code: str | None = None, errors: dict | None = None):
        super().__init__(description=message)
        self.code = status
        self.data: dict[str, Any] = {"code": code or SLUGS.get(status, "error"), "message": message, "errors": errors or {}}


def fail(status: int, message: str, code: str | None = None, errors: dict | None = None) -> NoReturn:
    raise ApiError(status, message, code, errors)


def not_found(what: str = "resource") -> NoReturn:
    fail(404, f"{what} not found")


def error_body(exc: HTTPException) -> dict:
    """Turn any HTTP exception (ours, webargs' 422, werkzeug's) into the project's error body."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    if isinstance(exc, ApiError):
        return dict(exc.data)
    errors = {}
    messages = data.get("messages")
    if isinstance(messages, dict):
        for location, errs in messages.items():
            if isinstance(errs, dict):
                errors.update(errs)
            else:
                errors[location] = errs
    message = data.get("message") or exc.description or default_exceptions.get(status, HTTPException).description
    if status == 422 and errors:
        fields = ", ".join(sorted(errors))
        message = f"invalid input: {fields}"
    return {"code": SLUGS.get(status, "error"), "message": message, "errors": errors}


class ErrorBody(Schema):
    """The body of every error answer of every API (documented once, as every operation's error response)."""

    code = fields.String(required=True, metadata={"description": "stable for clients: a status slug "
                                                                  "(not_found, validation_error) or the rule's own code"})
    message = fields.String(required=True, metadata={"description": "the reason, for a person"})
    errors = fields.Dict(keys=fields.String(), required=True,
                         metadata={"description": "per field (or `json`, `query`, `path`): the reasons"})


#: what a page catches to show the reason beside its form instead of an error page
UserError = (ApiError, DomainError)  # the exact types, so that `except UserError as exc` knows `exc.data`
