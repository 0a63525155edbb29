"""The fault layer's fixtures: a RabbitMQ node of its own, the production topology on it, and the
summary of every fault's counts at the end of the run (so CI logs show them).

The node is started from the machine's RabbitMQ installation on ports of its own
(`tests/integration/rabbitcluster.py`, one node), so the last fault can really stop and restart the
broker without touching the machine's broker that other tests and other runs use.
"""
from __future__ import annotations

import pytest

from shared.config import SERVICES
from tests.conftest import _unavailable
from tests.integration.rabbitcluster import LocalCluster, scripts_dir
from tests.topology import production_topology

BOOT = 300.0  # s: a node boots in 5-30 s on 2 busy cores
SUMMARY: list[str] = []  # one line per fault: what was injected and the counts after


@pytest.fixture(scope="module")
def broker(tmp_path_factory, pg_admin_url):
    """One RabbitMQ node of the module's own (its data survives a restart: `restart_broker`)."""
    scripts = scripts_dir()
    if scripts is None:
        _unavailable("RabbitMQ (rabbitmq-server and rabbitmqctl, to run a node of the fault tests' own)",
                     FileNotFoundError("no rabbitmq-server script in /usr/lib/rabbitmq/bin"))
    node_set = LocalCluster(tmp_path_factory.mktemp("broker"), scripts, size=1, prefix="crmfault")
    try:
        node_set.start(BOOT)
    except Exception:
        print(node_set.log_tail())
        node_set.close()
        raise
    yield node_set
    node_set.close()


@pytest.fixture(scope="module")
def topo(tmp_path_factory, pg_admin_url, broker):
    """Every service's API (gunicorn) and worker as separate processes, on that node. Leads' API, whose
    workers a fault kills, has two gunicorn workers; the others one (less to start on two cores)."""
    workers = {svc: 2 if svc == "leads" else 1 for svc in SERVICES}
    with production_topology(tmp_path_factory.mktemp("faults"), pg_admin_url, broker.nodes[0].url, prefix="faults",
                             api_workers=workers, report_tracebacks=False,
                             start_timeout=600.0) as t:  # a loaded 2-core machine starts slowly
        yield t


def pytest_terminal_summary(terminalreporter) -> None:
    if SUMMARY:
        terminalreporter.section("fault tests: cross-service counts after each fault")
        for line in SUMMARY:
            terminalreporter.write_line(line)
