"""While `crm serve` prepares the platform: the port answers at once with the start's progress.

The first start migrates, creates the demo group and plays two months of demo activity (minutes on a
busy machine). Meanwhile the port is open: a web page shows the steps and a percentage and reloads
itself; an API call (a path with `/api/`, a health check, or a client that asks for JSON) gets 503
with Retry-After. When the platform is ready the same listening socket serves it (`StartGate.open`):
no second bind, so nothing is refused in between.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from shared.redirects import same_site_path

THREADS = 8  # request threads per serving process (each process's engines pool 5 + 10 SQLite connections per service)
if TYPE_CHECKING:
    from jinja2 import Template

RETRY_AFTER = 5  # seconds: what an API client is told to wait
REFRESH = 2  # seconds: how often the progress page reloads itself
LANGUAGES = ("zh_CN", "en")  # as shared.web: the `lang` cookie, else Accept-Language, else Chinese


@dataclass
class Step:
    key: str
    weight: int  # share of the whole start, in percent
    state: str = "waiting"  # waiting, running, done, skipped
    done: int = 0  # a counter, for a step that has one (the demo activity's planned actions)
    total: int = 0


#: the steps of a start, in order, with their rough share of its time on a first start
STEPS = (("databases", 4), ("demo_group", 4), ("relays", 4), ("activity", 80), ("dashboards", 8))


@dataclass
class StartProgress:
    """What the start has done so far; written by the preparing thread, read by the progress page."""

    steps: list[Step] = field(default_factory=lambda: [Step(k, w) for k, w in STEPS])
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)

    def begin(self, key: str) -> None:
        with self._lock:
            for s in self.steps:  # steps before it are over
                if s.key == key:
                    break
                if s.state in ("waiting", "running"):
                    s.state = "done" if s.state == "running" else "skipped"
            self._step(key).state = "running"

    def count(self, key: str, done: int, total: int) -> None:
        with self._lock:
            s = self._step(key)
            s.done, s.total = done, total

    def finish(self) -> None:
        with self._lock:
            for s in self.steps:
                s.state = "done" if s.state == "running" else ("skipped" if s.state == "waiting" else s.state)

    def percent(self) -> int:
        with self._lock:
            todo = sum(s.weight for s in self.steps if s.state != "skipped")
            got = 0.0
            for s in self.steps:
                if s.state == "done":
                    got += s.weight
                elif s.state == "running" and s.total:
                    got += s.weight * s.done / s.total
            return min(99, int(100 * got / todo)) if todo else 0

    def snapshot(self) -> dict[str, Any]:
        pct = self.percent()
        with self._lock:
            return {"percent": pct, "seconds": int(time.monotonic() - self.started),
                    "steps": [{"key": s.key, "state": s.state, "done": s.done, "total": s.total} for s in self.steps]}




@cache
def _page(lang: str) -> Template:
    """The progress page's template in `lang` (its strings are in shared's catalogue); made on first use."""
    from babel.support import NullTranslations, Translations
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    catalog = Translations.load(str(Path(__file__).parents[1] / "shared" / "translations"), ["zh"]) \
        if lang == "zh_CN" else NullTranslations()
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                      autoescape=select_autoescape(), extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    return env.get_template("starting.html")


def _locale(request: Request) -> str:
    lang = request.cookies.get("lang")
    if lang in LANGUAGES:
        return lang
    return request.accept_languages.best_match(list(LANGUAGES), default="zh_CN") or "zh_CN"


def _wants_json(request: Request) -> bool:
    path = request.path
    if "/api/" in path or path.endswith("/healthz") or path == "/_start":
        return True
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


class StartGate:
    """A WSGI app: the progress answers until `open(app)`, then `app` for every request."""

    def __init__(self, progress: StartProgress) -> None:
        self.progress = progress
        self.app: Any = None

    def open(self, app: Any) -> None:
        self.progress.finish()
        self.app = app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        app = self.app
        if app is not None:
            return app(environ, start_response)
        return self.answer(Request(environ))(environ, start_response)

    def answer(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if len(parts) == 3 and parts[1] == "lang":  # the language switch, as each service offers it
            resp = redirect(same_site_path(request.args.get("next")))
            if parts[2] in LANGUAGES:
                resp.set_cookie("lang", parts[2], max_age=365 * 86400, samesite="Lax", path="/")
            return resp
        snap = self.progress.snapshot()
        headers = {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
        if _wants_json(request):
            body = {"code": "starting", "message": "the platform is starting; try again shortly",
                    "errors": {}, "progress": snap}
            return Response(json.dumps(body), 503, headers=headers, content_type="application/json")
        lang = _locale(request)
        html = _page(lang).render(
            progress=snap, lang=lang, refresh=REFRESH, next=request.full_path.rstrip("?"))
        return Response(html, 503, headers=headers, content_type="text/html; charset=utf-8")


class EarlyListener:
    """The port, bound and answering before the platform's modules are even imported (`crm serve` makes
    it first): a socket of its own on the port (SO_REUSEPORT, as every serving process has), served by
    waitress in a thread with the start's progress until `gate.open(app)`; it is never closed while
    serving, so no connection is refused between the progress and the platform."""

    def __init__(self, host: str, port: int) -> None:
        from waitress import create_server

        socket.create_server((host, port)).close()  # the port is free: not even another `crm serve` shares it
        sock = socket.create_server((host, port), backlog=1024, reuse_port=True)
        self.progress = StartProgress()
        self.gate = StartGate(self.progress)
        self.server = create_server(self.gate, sockets=[sock], threads=THREADS, ident="dealer-crm")
        self.thread = threading.Thread(target=self.server.run, name="serve", daemon=True)
        self.thread.start()

    def wait(self) -> None:
        """Until the server ends, or Ctrl-C (which ends `crm serve` quietly, as waitress's own loop does)."""
        try:
            while self.thread.is_alive():
                self.thread.join(1)
        except KeyboardInterrupt:
            pass

    def close(self) -> None:
        self.server.close()
