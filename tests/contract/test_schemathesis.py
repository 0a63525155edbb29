"""Schemathesis against every service's OpenAPI document, on the embedded platform (WSGI, no server).

For each operation of each service, as HQ (`hq.admin`) and as a store consultant
(`sh-toyota-pd.sales1`), schemathesis generates `EXAMPLES` requests from the document with random
path ids, and as many again with the ids of records the world holds (so the 200s are checked too,
not only the 404s). Every answer must be no server error and match the document's schema for its
status. The counts are printed; `CONTRACT_EXAMPLES=50` runs a longer search.

Dates and date-times are drawn within the bounds the documents give them (`shared.fields`: years 1900 to
2199, said as a `pattern` beside the `format`). Schemathesis's own `date` / `date-time` generators draw
years 1 to 9999, so nearly every drawn value missed the pattern and Hypothesis threw the case away (4,427
of 5,953 cases drawn; `POST /analytics/api/v1/reconciliation` sent one example of four). The same RFC 3339
grammar, registered for the run with `schemathesis.openapi.format`, only inside the bounds.
"""
from __future__ import annotations

import os
from collections import Counter
from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup, ServerError
from schemathesis.specs.openapi import unregister_string_format
from schemathesis.specs.openapi.checks import response_schema_conformance

from shared import clock
from shared.config import SERVICES
from shared.fields import EARLIEST, LATEST

from .openapi import OWN_SESSION, SUMMARY
from .world import CONSULTANT, NOT_IDS

EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "4"))
CALLERS = ("hq.admin", CONSULTANT)
CHECKS = [not_a_server_error, response_schema_conformance]


def _digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


def _bounded_rfc3339() -> dict[str, st.SearchStrategy[str]]:
    """RFC 3339 `full-date` and `date-time` (section 5.6) with the date between EARLIEST and LATEST."""
    day = st.dates(min_value=EARLIEST, max_value=LATEST).map(date.isoformat)
    hour, minute = _digits(0, 23), _digits(0, 59)
    fraction = st.just("") | st.text(alphabet="0123456789", min_size=1, max_size=6).map(".".__add__)
    offset = st.just("Z") | st.builds("{}{}:{}".format, st.sampled_from("+-"), hour, minute)
    time = st.builds("{}:{}:{}{}{}".format, hour, minute, _digits(0, 59), fraction, offset)
    return {"date": day, "date-time": st.builds("{}T{}".format, day, time)}


@pytest.fixture
def bounded_dates():
    """The bounded generators in place of schemathesis's own `date` and `date-time`, for this test only."""
    formats = _bounded_rfc3339()
    for name, strategy in formats.items():
        schemathesis.openapi.format(name, strategy)
    yield
    for name in formats:
        unregister_string_format(name)


def _failures(exc: BaseException) -> list[Failure]:
    if isinstance(exc, FailureGroup):
        return [f for sub in exc.exceptions for f in _failures(sub)]
    return [exc] if isinstance(exc, Failure) else []


def _run(op, strategy, headers: dict, counts: Counter, found: list[str]) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=strategy)
    def examples(case):
        counts["examples"] += 1
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Failure, FailureGroup) as exc:
            for failure in _failures(exc):
                kind = "server errors" if isinstance(failure, ServerError) else "schema violations"
                counts[kind] += 1
                found.append(f"{kind}: {op.label} as {headers['X-Caller']}: {failure.title}\n"
                             f"    {case.as_curl_command(headers={'Authorization': '…'})}\n"
                             f"    {str(failure.message)[:400]}")

    examples()


@pytest.fixture(autouse=True)
def _clock_put_back():
    """`PUT /analytics/api/v1/clock` is one of the operations: whatever time it leaves, the next tests start
    from the run's own."""
    yield
    clock.reset()


@pytest.mark.timeout(max(300, 60 * EXAMPLES))
def test_every_operation_answers_as_its_document_says(platform, api, world, bounded_dates):
    counts: Counter = Counter()
    found: list[str] = []
    wsgi = platform.wsgi()
    known = {**world.ids["demo"], **NOT_IDS}
    for svc in SERVICES:
        schema = schemathesis.openapi.from_wsgi(f"/{svc}/api/v1/openapi.json", wsgi)
        for result in schema.get_all_operations():
            op = result.ok()
            if (op.method.lower(), op.path if op.path.startswith(f"/{svc}") else f"/{svc}/api/v1{op.path}") \
                    in OWN_SESSION:
                continue  # it would end the session the rest of the run signs its requests with
            counts["operations"] += 1
            names = [p.name for p in op.path_parameters]
            for user in CALLERS:
                headers = {**api.headers(user), "X-Caller": user}
                _run(op, op.as_strategy(), headers, counts, found)
                if names and all(n in known for n in names):
                    _run(op, op.as_strategy(path_parameters={n: known[n] for n in names}), headers, counts, found)
    SUMMARY.append(f"schemathesis: {counts['operations']} operations, {counts['examples']} examples, "
                   f"{counts['server errors']} server errors, {counts['schema violations']} schema violations")
    unique = list(dict.fromkeys(f.split("\n")[0] for f in found))
    assert not found, f"{len(unique)} distinct failures:\n" + "\n".join(
        next(f for f in found if f.startswith(u)) for u in unique)
