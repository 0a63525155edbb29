"""The services' own OpenAPI documents, read as the contract tests' list of what to try.

Every test here walks the documents instead of a hand-kept list of endpoints, so a new endpoint is
covered the day it is added. `census` fingerprints every table of every service, to prove that
a refused request wrote nothing.
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import inspect, select

from shared.config import SERVICES

METHODS = ("get", "post", "put", "patch", "delete")
#: the counts each contract test measured, printed at the end of the run (conftest)
SUMMARY: list[str] = []
#: what every signed-in user may do to their own account, and which ends the session the tests run
#: on (logout, a password change bump the caller's token version): tried by their own tests instead
OWN_SESSION = {("post", "/identity/api/v1/auth/logout"), ("post", "/identity/api/v1/auth/password")}


@dataclass
class Operation:
    service: str
    method: str
    path: str  # the template, e.g. /leads/api/v1/leads/{lead_id}
    spec: dict = field(repr=False)
    doc: dict = field(repr=False)
    parameters: list[dict] = field(repr=False, default_factory=list)  # the path item's and the operation's

    @property
    def id_params(self) -> list[str]:
        return [p["name"] for p in self.parameters if p["in"] == "path"]

    @property
    def query_params(self) -> dict[str, dict]:
        return {p["name"]: self.resolve(p.get("schema", {})) for p in self.parameters if p["in"] == "query"}

    @property
    def body_schema(self) -> dict | None:
        body = self.spec.get("requestBody", {}).get("content", {}).get("application/json")
        return self.resolve(body["schema"]) if body else None

    @property
    def body_fields(self) -> dict[str, dict]:
        """The top-level properties of the JSON body (resolved), if it has any."""
        schema = self.body_schema or {}
        return {k: self.resolve(v) for k, v in schema.get("properties", {}).items() if not v.get("readOnly")}

    @property
    def writes(self) -> bool:
        """Anything but a GET, unless the document marks a POST as a query (`x-read-only`: a comparison
        whose input is too large for a query string changes nothing)."""
        return self.method != "get" and not self.spec.get("x-read-only")

    def url(self, ids: dict[str, str] | None = None, query: str = "") -> str:
        path = self.path
        for name in self.id_params:
            value = (ids or {}).get(name) or str(uuid.uuid4())
            path = path.replace("{" + name + "}", value)
        return path + (f"?{query}" if query else "")

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def documents(client) -> dict[str, dict]:
    """Each service's OpenAPI document, as it serves it."""
    out = {}
    for svc in SERVICES:
        r = client.get(f"/{svc}/api/v1/openapi.json")
        assert r.status_code == 200, (svc, r.status_code)
        out[svc] = r.json
    return out


def operations(docs: dict[str, dict], service: str | None = None) -> Iterator[Operation]:
    for svc, doc in docs.items():
        if service and svc != service:
            continue
        for path, item in doc["paths"].items():
            for method in METHODS:
                if method in item:
                    params = item.get("parameters", []) + item[method].get("parameters", [])
                    yield Operation(svc, method, path, item[method], doc, params)


def census(platform) -> dict[str, str]:
    """A fingerprint of every row of every table of every service (equal fingerprints: nothing written)."""
    out = {}
    for svc, rt in platform.runtimes.items():
        digest = hashlib.sha256()
        with rt.db.engine.connect() as conn:
            meta_tables = {t.name: t for t in rt.base.metadata.sorted_tables}
            meta_tables.update({rt.outbox.name: rt.outbox, rt.inbox.name: rt.inbox})
            for name in sorted(inspect(conn).get_table_names()):
                table = meta_tables.get(name)
                if table is None:
                    continue
                rows = sorted(repr(tuple(r)) for r in conn.execute(select(table)))
                digest.update(f"{name}:{len(rows)}:".encode())
                for row in rows:
                    digest.update(row.encode())
        out[svc] = digest.hexdigest()
    return out
