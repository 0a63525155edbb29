"""`crm serve` (what `make run` starts) as a real server in several processes: parallel logins all
answer, and what any of its processes saves reaches the other services."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from services.identity.entrypoints.seed import CONSULTANTS_PER_STORE, STORES
from tests.conftest import DEMO_PASSWORD, embedded_env, seeded_var, wait_until

pytestmark = [pytest.mark.e2e]
BIN = Path(sys.executable).parent


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`crm serve --processes 3` on a var dir where the demo group exists already (so that it does not
    spend minutes playing the demo activity): a copy of the run's seeded one; its address."""
    var = seeded_var(tmp_path_factory)
    with serving(var, embedded_env(var), processes=3, timeout=180, seeded=True) as (base, _proc):
        yield base


@contextmanager
def serving(var: Path, env: dict, processes: int, timeout: float,
            seeded: bool = False) -> Iterator[tuple[str, subprocess.Popen]]:
    """Seed the demo group on `env`'s databases (unless `seeded`: it is there already), then `crm serve` on
    them until every process serves; yields (its address, its process), stopped at the end."""
    from crm.embedded import Platform

    if not seeded:
        pf = Platform(env).prepare(seed=True)
        for rt in pf.runtimes.values():
            rt.db.engine.dispose()
    port = _port()
    log = (var / "serve.log").open("wb")
    proc = subprocess.Popen([str(BIN / "crm"), "serve", "--port", str(port), "--processes", str(processes)],
                            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        """Every process serves: the first one says so once the others are ready."""
        assert proc.poll() is None, (var / "serve.log").read_text()
        if b"Dealer CRM (embedded mode) at" not in (var / "serve.log").read_bytes():
            return False
        try:
            return requests.get(f"{base}/identity/healthz", timeout=5).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or not serving yet
            return False

    try:
        wait_until(up, timeout=timeout, interval=0.5)
        yield base, proc
    finally:
        if proc.poll() is None:
            stop(proc)
        log.close()


def stop(proc: subprocess.Popen) -> None:
    """Ctrl-C to `crm serve` and its serving processes (a session of their own), then a service manager's
    stop (SIGTERM, as orderly), then kill if need be; the process is always reaped."""
    for sig, grace in ((signal.SIGINT, 30), (signal.SIGTERM, 30)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _login(base: str, username: str) -> requests.Response:
    return requests.post(f"{base}/identity/api/v1/auth/login", timeout=120,
                         json={"group": "demo", "username": username, "password": DEMO_PASSWORD})


def test_it_serves_from_three_processes(served):
    port = served.rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    assert out.count("pid=") == 3, out


def test_thirty_parallel_logins_all_answer_200(served):
    users = [f"{code}.sales{i}" for code, *_ in STORES for i in range(1, CONSULTANTS_PER_STORE + 1)][:30]
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(lambda u: _login(served, u).status_code, users))
    assert answers == [200] * 30


def test_leads_saved_by_any_process_reach_the_customers_service(served):
    token = _login(served, "sh-vw-jd.sales1").json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    phones = [f"1367700{n:04d}" for n in range(9)]
    with ThreadPoolExecutor(max_workers=9) as pool:  # spread over the processes by the kernel
        created = list(pool.map(lambda p: requests.post(f"{served}/leads/api/v1/leads", headers=auth, timeout=60, json={
            "name": "吴先生", "phone": p, "source": "walk_in"}).status_code, phones))
    assert created == [201] * 9

    def all_known() -> bool:
        return all(requests.get(f"{served}/customers/api/v1/customers", params={"phone": p}, headers=auth,
                                timeout=60).json() for p in phones)

    assert wait_until(all_known, timeout=60, interval=0.5)
