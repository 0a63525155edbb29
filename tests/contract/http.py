"""The contract tests' client over real HTTP: the same calls as the WSGI test client, to a running
platform (the production topology in tests/e2e: each service on its own port, as behind the gateway)."""
from __future__ import annotations

import json as jsonlib
from collections.abc import Callable

import requests

from tests.conftest import Api


class HttpResponse:
    """The part of werkzeug's test response the contract tests read."""

    def __init__(self, r: requests.Response):
        self._r = r
        self.status_code = r.status_code
        self.mimetype = r.headers.get("Content-Type", "").split(";")[0].strip()
        self.is_json = self.mimetype == "application/json"

    @property
    def json(self):
        return self._r.json() if self.is_json else None

    def get_data(self, as_text: bool = False):
        return self._r.text if as_text else self._r.content


class HttpClient:
    """`open/get/post` like werkzeug's `Client`, sent to `url_for(path)`."""

    def __init__(self, url_for: Callable[[str], str]):
        self.url_for = url_for
        self.session = requests.Session()

    def open(self, path: str, method: str = "GET", json=None, headers=None, data=None, content_type=None):
        headers = dict(headers or {})
        if json is not None:
            data, content_type = jsonlib.dumps(json).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        r = self.session.request(method, self.url_for(path), data=data, headers=headers, timeout=30,
                                 allow_redirects=False)
        return HttpResponse(r)

    def get(self, path: str, **kw):
        return self.open(path, "GET", **kw)

    def post(self, path: str, **kw):
        return self.open(path, "POST", **kw)


class HttpApi(Api):
    """`tests.conftest.Api` (tokens per user and group) over real HTTP, with the seeded password."""

    def __init__(self, url_for: Callable[[str], str], password: str):
        self.client = HttpClient(url_for)
        self._tokens = {}
        self.password = password

    def token(self, username: str, group: str = "demo", password: str | None = None) -> str:
        return super().token(username, group, password or self.password)
