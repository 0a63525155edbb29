"""Each service's worker consumes with the gathering window and delivery size its routing table sets (issue 16)."""
from __future__ import annotations

from importlib import import_module

import pytest

from shared import config


@pytest.mark.parametrize("service", ["leads", "customers", "callcenter", "analytics", "identity"])
def test_the_runtime_keeps_the_services_gathering_window(service, tmp_path):
    """The runtime adds the session-version copy to a service's handlers; the window must survive it (it
    was dropped, so analytics' and the call center's gathering never ran in a worker)."""
    own = import_module(f"services.{service}.entrypoints.consumers").handlers
    rt = import_module(f"services.{service}.bootstrap").build(
        config.load(service, {"CRM_MODE": "embedded", "CRM_VAR_DIR": str(tmp_path)}))
    try:
        assert own.gather > 0
        assert rt.handlers.gather == own.gather and rt.handlers.batch == own.batch
        consumer = rt.consumer()
        assert consumer is not None and consumer.hold == own.gather
        assert consumer.batch == own.batch and consumer.prefetch == 2 * own.batch
        consumer.stop()
    finally:
        rt.db.engine.dispose()
