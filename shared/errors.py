"""JSON errors with a stable `code`, a human `message` and per-field `errors`."""
from __future__ import annotations

from typing import NoReturn

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


class ApiError(HTTPException):
    """An error a handler raises on purpose; rendered as JSON on API paths."""

    def __init__(self, status: int, message: str, code: str | None = None, errors: dict | None = None):
        super().__init__(description=message)
        self.code = status
        self.data = {"code": code or SLUGS.get(status, "error"), "message": message, "errors": errors or {}}


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
