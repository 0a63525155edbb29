"""The Flask app factory every service uses: API, pages, auth, CSRF, errors, i18n, health."""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from flask import Blueprint, Flask, g, jsonify, make_response, redirect, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import Babel, get_locale
from flask_compress import Compress
import flask_smorest as smorest
from flask_smorest import Api
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader
from marshmallow import fields
from sqlalchemy import text
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.response import Response as BaseResponse

from shared import clock
from shared.auth import InvalidToken, Principal, TokenVerifier, current_principal
from shared.config import DEFAULT_TIMEZONE
from shared.db import ReadsFirst, WroteInReadOnly
from shared.errors import (
    DATABASE_RETRY_AFTER,
    ApiError,
    DomainError,
    ErrorBody,
    as_http,
    connection_lost,
    database_unavailable,
    error_body,
)
from shared.input_guard import check_request
from shared.nav import nav_for, role_label
from shared.permissions import can
from shared.redirects import same_site_path
from shared.tenancy import Scope, ScopeViolation

log = logging.getLogger(__name__)
SHARED_DIR = Path(__file__).resolve().parent
LANGUAGES = ("zh_CN", "en")
COOKIE = "crm_token"
UPLOAD_TYPES = ("multipart/form-data", "text/csv")
READ_ONLY = ("GET", "HEAD")


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON answers (`jsonify`, every API response) written by orjson: a page of 50 leads in
    0.04 ms instead of 0.2 (issue 16). The same JSON as Flask's: keys sorted (numbers as keys by their
    text), dates, dataclasses, Decimal and the rest through Flask's own `default` (HTTP dates); non-ASCII
    text as UTF-8 instead of `\\u` escapes (the same strings once parsed). What orjson refuses (an
    integer beyond 64 bits) and debug mode's indented output go through Flask's provider. `dumps` (the
    templates' `tojson`) stays Flask's."""

    _OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
                | orjson.OPT_PASSTHROUGH_DATACLASS)

    def response(self, *args, **kwargs) -> BaseResponse:
        if self._app.debug:
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(obj, default=self.default, option=self._OPTIONS) + b"\n"
        except TypeError:
            return super().response(*args, **kwargs)
        app: Any = self._app  # a Flask app (typed as its sans-IO base)
        return app.response_class(body, mimetype=self.mimetype)


class CrmFlask(Flask):
    """Flask, plus one more try of a read-only request whose database connection was lost.

    A connection terminated under a request (`pg_terminate_backend`, a database restart, a network
    cut) fails that request's statement; SQLAlchemy then drops the pool's older connections, so a
    second try connects afresh. Only GET and HEAD are tried again: they change nothing, so running
    them twice is harmless. A write is never repeated here: its transaction was rolled back, and the
    edge answers 503 with Retry-After (`database_unavailable`), so the client decides to send it again
    (with its Idempotency-Key).
    """

    json_provider_class = FastJSONProvider

    def preprocess_request(self):
        return _once_more_if_connection_lost(super().preprocess_request)

    def dispatch_request(self):
        return _once_more_if_connection_lost(super().dispatch_request)


def _once_more_if_connection_lost(step):
    try:
        return step()
    except Exception as exc:
        if request.method not in READ_ONLY or g.get("db_retried") or not connection_lost(exc):
            raise
        g.db_retried = True
        log.warning("%s %s: database connection lost (%s); trying once more", request.method, request.path,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return step()


class CrmApi(Api):
    """flask-smorest Api whose errors carry the project's body, and HTML on page paths.

    Its OpenAPI document tells the truth about what goes over the wire: every error answer is
    `ErrorBody` (`code` is a string slug), and a Decimal is a string where it is dumped as one
    (money) and a number with numeric bounds where it is read.
    """

    ERROR_SCHEMA = ErrorBody

    def __init__(self, app=None, **kw):
        super().__init__(app, **kw)
        self.ma_plugin.converter.add_attribute_function(_decimal_as_sent)

    def handle_http_exception(self, error: HTTPException):
        return render_error(error)


class ApiBlueprint(smorest.Blueprint):
    """flask-smorest's Blueprint, whose `arguments` schemas are made once, when the view is declared:
    given a schema class, webargs makes an instance of it on every request (a deep copy of each of its
    fields, about 0.15 ms for a lead's body or the list's query string)."""

    def arguments(self, schema, *args, **kwargs):
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)


DECIMAL_STRING = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}


def _decimal_as_sent(converter, field, ret, **_) -> dict:
    """What a Decimal really is on the wire (apispec says "number", with bounds serialised as strings).

    Dumped, a Decimal is always a string ("189800.00": the JSON encoder writes Decimals as strings, so
    no client rounds money through a float); read, it is a number or a numeric string.
    """
    if not isinstance(field, fields.Decimal):
        return {}
    bounds = {key: float(ret.pop(key)) for key in ("minimum", "maximum") if ret.get(key) is not None}
    ret.pop("type", None)
    if ret.get("default") is not None:
        ret["default"] = float(ret["default"])
    if field.as_string:
        return dict(DECIMAL_STRING)
    return {"anyOf": [{"type": "number", **bounds}, dict(DECIMAL_STRING)]}


def render_error(error: HTTPException):
    status = error.code or 500
    if _is_api_request():
        resp = jsonify(error_body(error))
        resp.status_code = status
        if status == 401:
            resp.headers["WWW-Authenticate"] = "Bearer"
        return resp
    if status == 401:
        return redirect(f"/identity/login?next={quote(request.full_path.rstrip('?'))}")
    body = error_body(error)
    return render_template("error.html", status=status, message=body["message"]), status


def _is_api_request() -> bool:
    prefix = g.get("service_prefix", "")
    return request.path.startswith(f"{prefix}/api/") or request.path.endswith("/healthz")


def select_locale() -> str:
    """The cookie set by the language switch, else the browser's preference, else Chinese.

    Babel reads 'zh_CN' as zh_Hans_CN, whose catalogs gettext finds under translations/zh/.
    """
    lang = request.cookies.get("lang")
    if lang in LANGUAGES:
        return lang
    return request.accept_languages.best_match(list(LANGUAGES), default="zh_CN")


def local_time(value: datetime | str | None, fmt: str = "%m-%d %H:%M") -> str:
    """Jinja's `local`: a UTC instant (naive means UTC; or its ISO text, as a complaint's history keeps it)
    in the group's time zone (shared.clock.zone), e.g. `{{ lead.created_at|local('%Y-%m-%d') }}`."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(clock.zone()).strftime(fmt)


def spaced_phone(value: str | None) -> str:
    """Jinja's `phone`: +8613912345678 → +86 139 1234 5678, easier to read out and dial (a masked number is
    spaced already and stays as it is)."""
    if value and value.startswith("+86") and len(value) == 14 and value[1:].isdigit():
        return f"+86 {value[3:6]} {value[6:10]} {value[10:]}"
    return value or ""


def create_service_app(runtime, api_blueprints=(), page_blueprints=(), service_dir: Path | None = None) -> Flask:
    """Build one service's Flask app; `runtime` holds its settings and database."""
    s = runtime.settings
    runtime.refuse_unsafe_role()
    name = s.service
    prefix = f"/{name}"
    app = CrmFlask(name, static_folder=None)
    if runtime.db.is_sqlite:  # GETs read without SQLite's write lock; one that writes runs again as a writer
        app.wsgi_app = ReadsFirst(app.wsgi_app)  # type: ignore[method-assign]
    if s.proxy_hops:  # behind the gateway: the client's address is the one it puts in X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=s.proxy_hops)  # type: ignore[method-assign]
    _configure(app, s, prefix, service_dir)
    app.extensions["crm"] = runtime
    Babel(app, locale_selector=select_locale)
    # brotli or gzip where the client accepts it, for pages and their scripts and styles (the dashboard's
    # chart library goes from 1.3 MB to about 420 kB). API answers stay as they are: API clients driving
    # the WSGI app directly (the contract tests) do not decode a compressed body.
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config["COMPRESS_REGISTER"] = False
    compress = Compress(app)
    csrf = CSRFProtect(app)
    verifier = TokenVerifier(s.jwt_public_key_file.read_bytes(), s.jwt_issuer, s.jwt_audience)
    app.extensions["crm_verifier"] = verifier
    _static_files(app, prefix, service_dir)
    _request_hooks(app, runtime, verifier, csrf, prefix)
    _response_hooks(app, compress)

    @app.context_processor
    def _layout():
        p = g.get("principal")
        return {"principal": p, "nav_items": nav_for(p.role if p else None), "service": name,
                "get_locale": get_locale, "role_label": role_label,
                "current_path": request.path, "languages": LANGUAGES,
                "can": lambda action: bool(p and can(p.role, action))}  # what the page may offer this user

    api = CrmApi(app, spec_kwargs={"info": {"description": f"The {name} service of the dealer-group CRM."},
                                   "security": [{"bearer": []}]})  # a public operation says `security: []`
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for bp in api_blueprints:
        api.register_blueprint(bp)
    for bp in page_blueprints:
        app.register_blueprint(bp)
    _error_handlers(app)
    _service_routes(app, runtime, name, prefix)
    return app


def _configure(app: Flask, s, prefix: str, service_dir: Path | None) -> None:
    """Flask's, the API's, the session cookie's and Babel's settings; the templates and their filters."""
    app.config.update(
        SECRET_KEY=s.secret_key,
        MAX_CONTENT_LENGTH=s.max_body_bytes,
        API_TITLE=f"{s.service} API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=f"{prefix}/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_NAME="crm_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=s.cookie_secure,
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_DEFAULT_TIMEZONE=DEFAULT_TIMEZONE,
        BABEL_TRANSLATION_DIRECTORIES=";".join(
            str(p) for p in [SHARED_DIR / "translations", (service_dir or SHARED_DIR) / "translations"]
        ),
    )
    loaders = [FileSystemLoader(str(SHARED_DIR / "templates"))]
    if service_dir is not None:
        loaders.insert(0, FileSystemLoader(str(service_dir / "templates")))
    app.jinja_loader = ChoiceLoader(loaders)
    app.add_template_filter(local_time, "local")
    app.add_template_filter(spaced_phone, "phone")
    app.jinja_env.globals["default_timezone"] = DEFAULT_TIMEZONE  # the example a time-zone field shows


def _static_files(app: Flask, prefix: str, service_dir: Path | None) -> None:
    """The shared scripts and styles under `<prefix>/_shared`, the service's own under `<prefix>/static`."""
    shared_static = Blueprint("shared_static", __name__, static_folder=str(SHARED_DIR / "static"),
                              static_url_path=f"{prefix}/_shared")
    app.register_blueprint(shared_static)
    if service_dir is not None and (service_dir / "static").exists():
        own = Blueprint("own_static", __name__, static_folder=str(service_dir / "static"),
                        static_url_path=f"{prefix}/static")
        app.register_blueprint(own)


def _request_hooks(app: Flask, runtime, verifier: TokenVerifier, csrf: CSRFProtect, prefix: str) -> None:
    """Before a view: who is calling (a bearer token or the session cookie, and the session still open),
    the CSRF check, the body's type, hostile input refused."""

    def _signed_in(token: str) -> Principal:
        """The caller a token names, if its signature holds and its session has not ended since."""
        p = verifier.verify(token)
        if not runtime.sessions.admits(p):
            raise InvalidToken("the session has ended (logged out, or access changed); log in again")
        return p

    @app.before_request
    def _authenticate():
        g.service_prefix = prefix
        g.principal = None
        g.via_cookie = False
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                return render_error(_http(401, "use 'Authorization: Bearer <token>'"))
            try:
                g.principal = _signed_in(token.strip())
            except InvalidToken as exc:
                return render_error(_http(401, f"invalid token: {exc}"))
        elif request.cookies.get(COOKIE):
            try:
                g.principal = _signed_in(request.cookies[COOKIE])
                g.via_cookie = True
            except InvalidToken:
                g.principal = None  # pages then ask to log in again; the API answers 401
        unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
        if unsafe and not header and (not _is_api_request() or request.cookies.get(COOKIE)):
            csrf.protect()  # pages, and API calls riding on the session cookie, need a CSRF token
        if _is_api_request() and request.method in ("POST", "PUT", "PATCH") and request.content_length:
            if request.mimetype != "application/json" and request.mimetype not in UPLOAD_TYPES:
                return render_error(_http(415, "send the body as application/json"))

    @app.before_request
    def _refuse_hostile_input():
        check_request(request)  # NUL, lone surrogates, non-UTF-8, absurd JSON: 400 before any view


def _response_hooks(app: Flask, compress: Compress) -> None:
    """After a view: pages and their files compressed, security headers on every answer."""

    @app.after_request
    def _compress(resp):
        if _is_api_request():
            return resp
        body = resp.response  # a static file's wrapper, which flask-compress replaces by its compressed stream
        out = compress.after_request(resp)
        if out.response is not body and hasattr(body, "close"):
            out.call_on_close(body.close)  # unclosed otherwise: flask-compress 1.25 drops the file it read from
        return out

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'",
        )
        return resp


def _error_handlers(app: Flask) -> None:
    """Every error answered the same way (JSON for the API, a page for pages): domain errors mapped once."""
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(ScopeViolation, lambda e: render_error(_http(404, "not found")))
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(CSRFError, lambda e: render_error(_http(400, f"CSRF check failed: {e.description}")))

    @app.errorhandler(WroteInReadOnly)
    def _wrote_in_read(exc):
        if request.method not in ReadsFirst.SAFE:  # a `read_only` block that writes: a bug
            log.exception("a write in a read-only block")
        return render_error(InternalServerError("internal error; nothing was saved"))  # a GET: run again

    @app.errorhandler(Exception)
    def _crash(exc):
        if isinstance(exc, HTTPException):
            return render_error(exc)
        if database_unavailable(exc):
            return _database_unavailable(exc)
        log.exception("unhandled error")
        return render_error(InternalServerError("internal error; nothing was saved"))


def _service_routes(app: Flask, runtime, name: str, prefix: str) -> None:
    """The health check and the language switch every service has."""

    @app.get(f"{prefix}/healthz")
    def healthz():
        """Liveness and database check."""
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "service": name}

    @app.get(f"{prefix}/lang/<code>")
    def set_language(code: str):
        """Switch the UI language (zh_CN / en) and go back."""
        resp = redirect(same_site_path(request.args.get("next")))
        if code in LANGUAGES:
            resp.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", path="/")
        return resp


def _domain_error(exc: DomainError):
    """The edge's answer to a rule saying no; a refusal for a while (429) says when to try again."""
    resp = make_response(render_error(as_http(exc)))
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


def _database_unavailable(exc: Exception):
    """503 with Retry-After: the database is down, or the connection died before the request could finish
    (its transaction was rolled back by the server)."""
    log.warning("%s %s: database unavailable: %s", request.method, request.path,
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    resp = make_response(render_error(ApiError(
        503, f"the database is unavailable, the request was not completed; try again in {DATABASE_RETRY_AFTER} s "
             "(a create sent again with the same Idempotency-Key is applied at most once)", "database_unavailable")))
    resp.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return resp


def _http(status: int, message: str) -> HTTPException:
    return ApiError(status, message)


def caller_scope() -> Scope:
    """The tenant scope of the signed-in caller (401 if nobody is signed in)."""
    return current_principal().scope


def page_roles(*roles: str):
    """Guard a page: redirect to login when signed out, 403 page for a role that may not see it."""
    from functools import wraps

    from flask import abort

    def deco(fn):
        @wraps(fn)
        def wrapper(*a, **kw):
            p = g.get("principal")
            if p is None:
                return redirect(f"/identity/login?next={quote(request.full_path.rstrip('?'))}")
            if roles and p.role not in roles:
                abort(403)
            return fn(*a, **kw)

        return wrapper

    return deco
