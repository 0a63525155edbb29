"""The contract tests' world: the demo group and a second group, `north`, with known records."""
from __future__ import annotations

import pytest

from .openapi import SUMMARY
from .world import GROUPS, World, build_group


def pytest_terminal_summary(terminalreporter) -> None:
    """The counts of the schemathesis run, the cross-tenant matrix and the hostile-input sweep, even under -q."""
    if SUMMARY:
        terminalreporter.section("contract tests")
        for line in SUMMARY:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def world(platform, api) -> World:
    """Records owned by sh-toyota-pd / sales1 in both groups (built through the APIs)."""
    from services.identity.entrypoints.seed import seed_group

    seed_group(platform.runtimes["identity"], "north", "华北汽车集团")
    platform.wait_until_consumed()
    w = World()
    for group in GROUPS:
        w.ids[group], w.markers[group] = build_group(api, group)
    platform.wait_until_consumed()
    return w
