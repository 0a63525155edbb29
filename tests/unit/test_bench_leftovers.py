"""A bench run's throwaway resources: gone on every way out, and a dead run's removed by the next one."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from bench import leftovers

ROOT = Path(__file__).resolve().parents[2]


def gone_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def test_only_a_name_of_this_kind_whose_process_is_gone_is_a_dead_run():
    dead, alive = gone_pid(), os.getpid()
    assert leftovers.dead_run(f"crm_b_x_pipe_{dead}_0123456789ab", "crm_b_x_pipe_", leftovers.DB_TAIL)
    assert not leftovers.dead_run(f"crm_b_x_pipe_{alive}_0123456789ab", "crm_b_x_pipe_", leftovers.DB_TAIL)
    assert not leftovers.dead_run(f"crm_b_y_pipe_{dead}_0123456789ab", "crm_b_x_pipe_", leftovers.DB_TAIL)
    assert not leftovers.dead_run(f"crm_b_x_pipe_{dead}_0123456789ab_more", "crm_b_x_pipe_", leftovers.DB_TAIL)
    assert not leftovers.dead_run("crm_b_x_pipe_0123456789ab", "crm_b_x_pipe_", leftovers.DB_TAIL)


def test_the_next_run_removes_a_dead_runs_databases_and_vhost_and_keeps_a_living_ones(pg_admin_url, monkeypatch):
    import psycopg

    monkeypatch.setenv("BENCH_DB_PREFIX", f"crm_t_left{uuid.uuid4().hex[:6]}_")
    monkeypatch.setenv("BENCH_PREFIX", f"left{uuid.uuid4().hex[:6]}_")
    names = leftovers.RunNames("pipe")
    dead, alive = gone_pid(), os.getpid()
    dbs = {who: f"{names.db_prefix}{pid}_{uuid.uuid4().hex[:12]}" for who, pid in (("dead", dead), ("alive", alive))}
    rabbit = shutil.which("rabbitmqctl") is not None
    vhosts = {who: f"{names.vhost_prefix}{pid}_{uuid.uuid4().hex[:8]}" for who, pid in (("dead", dead), ("alive", alive))}
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        for db in dbs.values():
            conn.execute(f'CREATE DATABASE "{db}"')
    if rabbit:
        for vhost in vhosts.values():
            subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    try:
        removed = leftovers.remove_dead_runs(names, pg_admin_url)
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            present = {n for (n,) in conn.execute("SELECT datname FROM pg_database").fetchall()}
        assert dbs["dead"] not in present and dbs["alive"] in present
        assert f"database {dbs['dead']}" in removed
        if rabbit:
            assert vhosts["dead"] not in leftovers.vhosts() and vhosts["alive"] in leftovers.vhosts()
    finally:
        for db in dbs.values():
            leftovers.drop_database(pg_admin_url, db)
        for vhost in vhosts.values() if rabbit else ():
            leftovers.drop_vhost(vhost)


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_runs_the_clean_up_and_a_second_one_does_not_cut_it_short(tmp_path, signame):
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from bench import leftovers
        leftovers.exit_on_signals()
        try:
            print("ready", flush=True)
            while True:
                time.sleep(0.05)
        finally:
            os.kill(os.getpid(), signal.{signame})  # a second signal, during the clean-up
            time.sleep(0.2)
            open({str(tmp_path / "cleaned")!r}, "w").close()
    """)
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(getattr(signal, signame))
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + getattr(signal, signame), err
    assert f"stopped by {signame}" in err
    assert (tmp_path / "cleaned").exists()
