"""Leads tests run on identity + leads only (the services leads depends on), in embedded mode.

Faster than the full platform, and independent of the other services' consumers. The browser test
uses the full platform (`tests/browser_fixtures.py`).
"""
from __future__ import annotations

import importlib

import pytest

from shared import clock, config
from crm.embedded import Platform
from services.identity.entrypoints.seed import CONSULTANTS_PER_STORE, STORES
from shared.tenancy import Scope
from tests.conftest import FrozenClock, seeded_platform, wait_until


class LeadsPlatform(Platform):
    """The embedded platform with only the services the leads service needs."""

    SERVICES = ("identity", "leads")

    def __init__(self, env: dict | None = None):
        self.runtimes, self.apps, self.workers = {}, {}, []
        for svc in self.SERVICES:
            mod = importlib.import_module(f"services.{svc}.bootstrap")
            rt = mod.build(config.load(svc, env))
            self.runtimes[svc] = rt
            self.apps[svc] = mod.create_app(runtime=rt)


def _known(pf) -> tuple[int, int]:
    """How many stores and store staff the leads service has heard of from identity's events."""
    from sqlalchemy import func, select

    from services.leads.adapters.models import StaffRef, StoreRef

    with pf.runtimes["leads"].db.session(Scope.system()) as s:
        return (s.scalar(select(func.count(StoreRef.id))),
                s.scalar(select(func.count(StaffRef.id)).where(StaffRef.store_id.is_not(None))))


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    pf = seeded_platform(tmp_path_factory, LeadsPlatform)
    assert wait_until(lambda: _known(pf) == (len(STORES), len(STORES) * (CONSULTANTS_PER_STORE + 1)), 30), \
        "leads did not learn the demo stores and staff from identity"
    yield pf
    pf.stop()


USERS = ("hq.admin", "hq.analyst", "sh-toyota-pd.manager", "sh-lexus-xh.manager", "sh-lexus-xh.sales1") + tuple(
    f"sh-toyota-pd.sales{i}" for i in range(1, 6))


@pytest.fixture
def frozen_clock(api):
    """Move "now" in a test; always put it back. Tokens are issued first, on the real clock."""
    for user in USERS:
        api.token(user)
    yield FrozenClock()
    clock.reset()
