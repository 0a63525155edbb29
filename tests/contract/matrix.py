"""The cross-tenant matrix, generated from the services' OpenAPI documents (run by
tests/contract/test_cross_tenant.py on the embedded platform and by tests/e2e on PostgreSQL).

Every operation with an id (in its path, or an id field in its body) is called by each attacker
below with the id of a record owned by `sh-toyota-pd` / `sh-toyota-pd.sales1` of the demo group,
and again with a random id: the two answers must be the same (404, or the same refusal), so a
foreign id can be neither read, changed nor told apart from one that does not exist. Every list
and export is read by each attacker and must contain nothing of the records foreign to them.
Every write by the read-only analyst is a 403. A new endpoint is covered the day it is documented.

The matrix needs only an HTTP client and a world built through the APIs (`world.py`), so the same
checks can run against the production topology as well as the embedded platform.
"""
from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from shared import clock

from .openapi import OWN_SESSION, SUMMARY, Operation, documents, operations
from .world import CONSULTANT_OWNED, NOT_IDS, World, mobile, vin

#: the records of the owner store, by the path parameter that names them
STORE_OWNED = ("store_id", "user_id", "lead_id", "td_id", "order_id", "defeat_id", "report_id", "job_id",
               "customer_id", "merge_id", "candidate_id", "task_id", "complaint_id", "target_id", "item_id")
LEADS_OWNED = ("lead_id", "td_id", "order_id", "defeat_id", "report_id", "job_id", "item_id")
EVERYTHING = STORE_OWNED + ("qid",)
#: the org tree (stores and colleagues' ids) is no secret inside a group
ORG = ("store_id", "user_id")
#: body fields that carry the id of a record, and the kind of record
BODY_IDS = {"customer_id": "customer_id", "other_id": "customer_id", "survivor_id": "customer_id",
            "lead_id": "lead_id", "lead_ids": "lead_id", "task_id": "task_id", "store_id": "store_id",
            "selling_store_id": "store_id", "preferred_store_id": "store_id", "node_id": "store_id",
            "consultant_id": "user_id", "from_consultant_id": "user_id", "to_consultant_id": "user_id",
            "preferred_consultant_id": "user_id"}


@dataclass(frozen=True)
class Attacker:
    label: str
    group: str
    username: str
    foreign: tuple[str, ...]  # kinds of the owner's records this caller must not see
    rows: bool = False  # their lists must show none of the owner's rows (names, phones, VINs, texts)
    lists_of: tuple[str, ...] = ()  # the services whose lists are checked (all when empty)


ATTACKERS = (
    Attacker("another store's manager", "demo", "sh-lexus-xh.manager", STORE_OWNED, rows=True),
    Attacker("another store's consultant", "demo", "sh-lexus-xh.sales1", STORE_OWNED, rows=True),
    # the customer is the store's, not the consultant's: a colleague sees them, not sales1's leads
    Attacker("a colleague consultant", "demo", "sh-toyota-pd.sales2", CONSULTANT_OWNED, lists_of=("leads",)),
    # the call center works the group's customers and tasks (which name their lead), never the leads
    Attacker("an agent", "demo", "cc.agent1", LEADS_OWNED, lists_of=("leads",)),
    Attacker("the read-only analyst", "demo", "hq.analyst", ()),
    Attacker("a second group's admin", "north", "hq.admin", EVERYTHING, rows=True),
    Attacker("a second group's consultant", "north", "sh-toyota-pd.sales1", EVERYTHING, rows=True),
)
READ_ONLY = ("hq.analyst",)
#: one's own to-do inbox and notification settings: every role keeps them, the read-only analyst too
OWN_INBOX = {("post", "/identity/api/v1/inbox/{item_id}/read"), ("post", "/identity/api/v1/inbox/{item_id}/done"),
             ("put", "/identity/api/v1/notify-settings")}
PUBLIC = {("post", "/identity/api/v1/auth/login")} | OWN_SESSION | OWN_INBOX


class Matrix:
    def __init__(self, api, world: World, docs: dict):
        self.api, self.world, self.docs = api, world, docs
        self.owner = world.ids["demo"]
        self.counts: Counter = Counter()
        self.leaks: list[str] = []
        self.errors: list[str] = []

    # --- requests ---------------------------------------------------------------------------------
    def call(self, who: Attacker, op: Operation, url: str, body):
        headers = self.api.headers(who.username, who.group)
        r = self.api.client.open(url, method=op.method.upper(), headers=headers,
                                 **({"json": body} if op.writes and body is not None else {}))
        try:
            answer = (r.status_code, r.json if r.is_json else _text(r))
        except ValueError:
            raise AssertionError(f"{op.method.upper()} {url} as {who.username}: {r.status_code} "
                                 f"{r.content_type} {r.get_data(as_text=True)[:200]!r}") from None
        if r.status_code >= 500:
            self.errors.append(f"{who.label} ({who.group}/{who.username}): {op.method.upper()} {url} "
                               f"{json.dumps(body, ensure_ascii=False)} -> {r.status_code}")
        return answer

    def _report(self, who: Attacker, what: str, op: Operation, url: str, body, got, random) -> None:
        self.leaks.append(f"{who.label} ({who.group}/{who.username}) {what}: {op.method.upper()} {url}"
                          + (f" body={json.dumps(body, ensure_ascii=False)}" if body else "")
                          + f"\n    foreign id -> {got[0]} {str(got[1])[:300]}\n    random id  -> {random[0]}"
                            f" {str(random[1])[:200]}")

    # --- the checks -------------------------------------------------------------------------------
    def path_ids(self, who: Attacker, op: Operation) -> None:
        foreign = [n for n in op.id_params if n in who.foreign and n in self.owner]
        if not foreign:
            return
        body = example_body(op, self.owner) if op.writes else None
        real = {**{n: self.owner.get(n, NOT_IDS.get(n)) for n in op.id_params}}
        fake = {**real, **{n: str(uuid.uuid4()) for n in foreign}}
        got, random = self.call(who, op, op.url(real), body), self.call(who, op, op.url(fake), body)
        self.counts["path ids"] += 1
        self.counts["reached the lookup"] += random[0] == 404
        if got != random:
            self._report(who, "tells a foreign id from a random one", op, op.url(real), body, got, random)

    def body_ids(self, who: Attacker, op: Operation) -> None:
        if not op.writes:
            return
        for name in op.body_fields:
            kind = BODY_IDS.get(name)
            if kind is None or kind not in who.foreign or kind not in self.owner:
                continue
            if kind in ORG and who.group == "demo":
                continue
            body = example_body(op, self.owner)
            ids = {n: NOT_IDS.get(n) or str(uuid.uuid4()) for n in op.id_params}
            value = self.owner[kind]
            real = {**body, name: [value] if name.endswith("_ids") else value}
            other = str(uuid.uuid4())
            fake = {**body, name: [other] if name.endswith("_ids") else other}
            url = op.url(ids)
            got, random = self.call(who, op, url, real), self.call(who, op, url, fake)
            self.counts["body ids"] += 1
            if got[0] < 300 and value in json.dumps(got[1]):
                self._report(who, f"has a foreign {name} accepted and attached", op, url, real, got, random)
            elif not (got[0] < 300 and random[0] < 300) and _masked(got, value) != _masked(random, other):
                self._report(who, f"is answered differently for a foreign {name}", op, url, real, got, random)

    def lists(self, who: Attacker, op: Operation) -> None:
        if op.writes or op.id_params or (who.lists_of and op.service not in who.lists_of):
            return
        secrets = [self.owner[k] for k in who.foreign if k in self.owner and not (k in ORG and who.group == "demo")]
        secrets += self.world.markers["demo"] if who.rows else []
        if not secrets:
            return
        query = "&".join(f"{p}={s['maximum']}" for p, s in op.query_params.items() if p == "per_page")
        status, body = self.call(who, op, op.url(query=query), None)
        self.counts["lists"] += 1
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        shown = [s for s in secrets if s in text]
        if shown:
            self.leaks.append(f"{who.label} ({who.group}/{who.username}) lists foreign rows: GET {op.url(query=query)}"
                              f" -> {status}, contains {shown[:5]}")

    def read_only_writes(self, who: Attacker, op: Operation) -> None:
        if who.username not in READ_ONLY or not op.writes or (op.method, op.path) in PUBLIC:
            return
        ids = {n: self.owner.get(n, NOT_IDS.get(n)) for n in op.id_params}
        body = example_body(op, self.owner)
        status, answer = self.call(who, op, op.url(ids), body)
        self.counts["read-only writes"] += 1
        if status != 403:
            self.leaks.append(f"{who.label} ({who.group}/{who.username}) may write: {op.method.upper()} {op.url(ids)}"
                              f" body={json.dumps(body, ensure_ascii=False)} -> {status} {str(answer)[:200]}")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _text(r) -> str:
    """A non-JSON answer as text to search: a workbook's cells (a spreadsheet download), else the body."""
    if r.mimetype == XLSX:
        import io

        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(r.get_data()), read_only=True)
        cells = [str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None]
        book.close()
        return "\n".join(cells)
    return r.get_data(as_text=True)


def _masked(answer, value: str):
    """The answer with the id it was asked about blanked (a message may quote the id back)."""
    status, body = answer
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, sort_keys=True)
    return status, text.replace(value, "<id>")


def example_body(op: Operation, ids: dict) -> dict | None:
    """A body the operation's schema accepts, where plain values can (required fields only)."""
    schema = op.body_schema
    return None if schema is None else _example(op, schema, "", ids)


def _example(op: Operation, schema: dict, name: str, ids: dict):
    schema = op.resolve(schema)
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    if "anyOf" in schema:
        return _example(op, schema["anyOf"][0], name, ids)
    kind, fmt = schema.get("type"), schema.get("format")
    today = clock.now().date()
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _example(op, props[k], k, ids) for k in schema.get("required", []) if k in props}
    if kind == "array":
        return [_example(op, schema.get("items", {}), name, ids) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return True
    if fmt == "date":
        return (today - timedelta(days=1)).isoformat()
    if fmt == "date-time":
        return clock.now().isoformat()
    special = {"phone": mobile(), "vin": vin(), "month": today.strftime("%Y-%m"), "username": f"u{uuid.uuid4().hex[:8]}",
               "code": f"c{uuid.uuid4().hex[:8]}", "key": "q1", "password": "long-enough-password",
               "email": "x@example.com", "timezone": "Asia/Shanghai"}
    if name in special:
        return special[name]
    if name in BODY_IDS:
        return ids.get(BODY_IDS[name]) or str(uuid.uuid4())
    return "x" * max(schema.get("minLength", 1), 2)


def run_matrix(api, world: World, where: str) -> Matrix:
    """Every attacker against every documented operation; the counts go to the run's summary."""
    docs = documents(api.client)
    matrix = Matrix(api, world, docs)
    ops = list(operations(docs))
    for who in ATTACKERS:
        for op in ops:
            matrix.path_ids(who, op)
            matrix.body_ids(who, op)
            matrix.lists(who, op)
            matrix.read_only_writes(who, op)
    c = matrix.counts
    checks = c["path ids"] + c["body ids"] + c["lists"] + c["read-only writes"]
    SUMMARY.append(f"cross-tenant matrix ({where}): {len(ops)} operations x {len(ATTACKERS)} callers, {checks} checks "
                   f"({c['path ids']} path ids, of which {c['reached the lookup']} reached the lookup; "
                   f"{c['body ids']} body ids; {c['lists']} lists and exports; {c['read-only writes']} read-only "
                   f"writes), {len(matrix.leaks)} leaks, {len(matrix.errors)} server errors")
    SUMMARY.extend("  " + line.split("\n")[0] for line in matrix.leaks + matrix.errors)
    return matrix


def assert_no_leak(matrix: Matrix) -> None:
    assert not matrix.errors, "server errors:\n" + "\n".join(matrix.errors)
    assert not matrix.leaks, f"{len(matrix.leaks)} leaks:\n" + "\n".join(matrix.leaks)
