"""Customers test fixtures: the embedded platform once the store list has reached the customers service."""
from __future__ import annotations

import pytest

import shared.events.callcenter  # noqa: F401  (the registry loads lazily only while empty: register all;
import shared.events.customers  # noqa: F401   a service importing one module first would hide the rest)
import shared.events.identity  # noqa: F401
import shared.events.leads  # noqa: F401
from shared import clock
from shared.bus.relay import wait_until
from tests.conftest import FrozenClock

from .helpers import stores_known


@pytest.fixture(scope="module")
def customers_ready(platform):
    wait_until(lambda: stores_known(platform), timeout=20)
    return platform


@pytest.fixture
def frozen_clock():
    yield FrozenClock()
    clock.reset()
