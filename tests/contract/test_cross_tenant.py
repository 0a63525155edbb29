"""The cross-tenant matrix on the embedded platform (see matrix.py for what it checks).

Every operation with an id × another store's manager and consultant, a colleague consultant, an
agent, the read-only analyst, a second group's admin and consultant: a foreign id answers exactly
as a random one (404 or the same refusal), lists and exports show no foreign row, and the
read-only analyst's writes are 403. Generated from the OpenAPI documents: a new endpoint is in.
"""
from __future__ import annotations

from .matrix import assert_no_leak, run_matrix


def test_no_caller_reaches_another_tenant(api, world):
    assert_no_leak(run_matrix(api, world, "embedded"))
