"""Is PostgreSQL from a pip-installed server reliable enough for `make run`? (issue 12)

Measures `crm.embedded_pg.EmbeddedPostgres` (the `pgserver` wheel: PostgreSQL 16's binaries, data
under a var dir, a Unix socket only) the way `crm serve` uses it, each start in a process of its own
as `crm serve` is: the first start (initdb), restarts and `--cycles` start/stop cycles (failures
counted), a `kill -9` of the process that started it (is the server orphaned? does the next start use
it, and can it stop it?), a `kill -9` of the server itself (stale `postmaster.pid`, crash recovery), a
`postmaster.pid` naming a live unrelated process (a reboot reused the pid) with and without the
wrapper's guard, two starts at once on one var dir and on two, LISTEN/NOTIFY round trips, and every
service's migrations with their row-level-security policies and the application role's standing.
Prints each figure with the machine's load average; exits 1 if any step failed.

    .venv/bin/python bench/embedded_pg.py                       # as the current user (root: see below)
    .venv/bin/python bench/embedded_pg.py --as-user crmbench    # as a normal user (created if missing)

As root, pgserver runs PostgreSQL as the system user `pgserver` (created with useradd if missing).
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAILURES: list[str] = []
LOG = None  # the children's log (pgserver's and PostgreSQL's messages), named at the end


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- the child: one process that starts the server, as `crm serve` does --------------------------------

def child(var_dir: str, raw: bool) -> None:
    """Start the server on `var_dir`, print {seconds, pid, admin_url}; then on stdin "stop" stop it and
    print {stop_seconds}; on "exit" leave it running (a process that ends without stopping it)."""
    t0 = time.monotonic()
    try:
        if raw:  # pgserver alone, without the wrapper's stale-pid guard
            import pgserver

            srv = pgserver.get_server(Path(var_dir) / "pg", cleanup_mode=None)
            admin = srv.get_uri()
            import psycopg

            psycopg.connect(admin, connect_timeout=10).close()
            pg = None
        else:
            from crm.embedded_pg import EmbeddedPostgres

            pg = EmbeddedPostgres(Path(var_dir))
            pg.start()
            admin = pg.admin_url()
        pid = int((Path(var_dir) / "pg" / "postmaster.pid").read_text().split()[0])
        print(json.dumps({"seconds": time.monotonic() - t0, "pid": pid, "admin_url": admin}), flush=True)
    except Exception as exc:  # noqa: BLE001 (reported to the parent)
        print(json.dumps({"error": f"{type(exc).__name__}: {str(exc)[:300]}", "seconds": time.monotonic() - t0}),
              flush=True)
        return
    for line in sys.stdin:
        if line.strip() == "stop" and pg is not None:
            t1 = time.monotonic()
            pg.stop()
            print(json.dumps({"stop_seconds": time.monotonic() - t1}), flush=True)
        elif line.strip() == "exit":
            return


class Holder:
    """A child process holding a started server."""

    def __init__(self, var_dir: Path, raw: bool = False, timeout: float = 180):
        self.proc = subprocess.Popen([sys.executable, __file__, "_child", str(var_dir)] + (["--raw"] if raw else []),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=LOG, text=True, cwd=ROOT)
        self.timeout = timeout
        self.result: dict = {}

    def started(self) -> dict:
        assert self.proc.stdout is not None
        line = _readline(self.proc, self.timeout)
        self.result = json.loads(line) if line else {"error": f"no answer within {self.timeout:.0f} s"}
        return self.result

    def stop(self) -> float | None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        line = _readline(self.proc, self.timeout)
        self.exit()
        return json.loads(line)["stop_seconds"] if line else None

    def exit(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("exit\n")
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                try:
                    f.close()
                except BrokenPipeError:
                    pass


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    import select

    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def alive(pid: int, zombie_counts: bool = False) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if zombie_counts:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, timeout: float = 60, zombie_counts: bool = False) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid, zombie_counts):
            return True
        time.sleep(0.1)
    return False


def step(name: str, ok: bool, text: str) -> None:
    print(f"{name:<40}{'ok  ' if ok else 'FAIL'}  {text}", flush=True)
    if not ok:
        FAILURES.append(name)


def secs(results: list[dict]) -> str:
    return ", ".join(f"{r.get('seconds', 0):.2f} s" for r in results)


def errs(results: list[dict]) -> str:
    return " ".join(r.get("error", "") for r in results)


# --- the measurements ------------------------------------------------------------------------------------

def measure(base: Path, cycles: int, migrations: bool) -> None:
    var = base / "a"
    var.mkdir()
    h = Holder(var)
    r = h.started()
    step("first start (initdb + start)", "error" not in r, f"{r.get('seconds', 0):.2f} s  {r.get('error', '')}  {load()}")
    if "error" in r:
        return
    stop_s = h.stop()
    step("stop", stop_s is not None and wait_gone(r["pid"], 10), f"{stop_s or 0:.2f} s")

    times, stops, errors = [], [], []
    for _ in range(cycles):
        h = Holder(var)
        r = h.started()
        if "error" in r:
            errors.append(r["error"])
            h.exit()
            continue
        times.append(r["seconds"])
        s = h.stop()
        if s is None or not wait_gone(r["pid"], 10):
            errors.append("stop failed")
        else:
            stops.append(s)
    if times:
        step(f"{cycles} start/stop cycles", not errors,
             f"{len(times)} started, {len(errors)} failed; start median {statistics.median(times):.2f} s, "
             f"max {max(times):.2f} s; stop median {statistics.median(stops or [0]):.2f} s  {load()}"
             + (f"; first error: {errors[0]}" if errors else ""))
    else:
        step(f"{cycles} start/stop cycles", False, f"none started: {errors[:1]}")

    # kill -9 of the process that started the server (crm serve killed)
    h = Holder(var)
    r = h.started()
    h.kill9()
    orphan = alive(r["pid"])
    step("kill -9 of the starting process", True, f"server left running (orphaned): {'yes' if orphan else 'no'}")
    h = Holder(var)
    r2 = h.started()
    reused = r2.get("pid") == r["pid"]
    stopped = h.stop() is not None and wait_gone(r["pid"], 10)
    step("  next start after it", "error" not in r2 and stopped,
         f"{r2.get('seconds', 0):.2f} s, uses the orphan: {'yes' if reused else 'no'}, then stopped: "
         f"{'yes' if stopped else 'NO'} {r2.get('error', '')}")

    # kill -9 of the server itself (a crash: stale postmaster.pid, crash recovery on the next start)
    h = Holder(var)
    r = h.started()
    h.kill9()
    t_kill = time.monotonic()
    os.kill(r["pid"], signal.SIGKILL)
    reaped = wait_gone(r["pid"], 60, zombie_counts=True)  # PostgreSQL takes a zombie's pid for a live server
    waited = time.monotonic() - t_kill
    stale = (var / "pg" / "postmaster.pid").exists()
    h = Holder(var)
    r2 = h.started()
    ok = "error" not in r2
    step("kill -9 of postgres itself", ok, f"stale postmaster.pid left: {'yes' if stale else 'no'}; its pid gone "
         f"after {waited:.2f} s{'' if reaped else ' (NOT gone)'}; next start {r2.get('seconds', 0):.2f} s "
         f"{r2.get('error', '')}")
    if ok:
        h.stop()
    else:
        h.exit()

    # a postmaster.pid that names a live process which is not the server (a reboot reused the pid)
    for raw in (True, False):
        sleeper = subprocess.Popen(["sleep", "600"])
        pid_file = var / "pg" / "postmaster.pid"
        lines = _fake_pid_file(var, sleeper.pid)
        pid_file.write_text(lines)
        h = Holder(var, raw=raw, timeout=90)
        r = h.started()
        who = "pgserver alone" if raw else "with the wrapper's guard"
        step(f"pid reused, {who}", raw or "error" not in r,  # pgserver alone: reported, not required
             f"{'starts' if 'error' not in r else 'fails'} ({r.get('seconds', 0):.2f} s) {r.get('error', '')[:160]}")
        if "error" not in r and not raw:
            h.stop()
        else:
            h.exit()
        sleeper.kill()
        sleeper.wait()
        if raw:  # leave a clean state: nothing runs, the file was fake
            pid_file.unlink(missing_ok=True)

    # two `make run`s at once: on the same var dir, and on two var dirs
    hs = [Holder(var), Holder(var)]
    rs = [h.started() for h in hs]
    same = len({r.get("pid") for r in rs}) == 1
    ok = all("error" not in r for r in rs)
    step("two starts at once, one var dir", ok and same,
         f"both started: {'yes' if ok else 'NO'}, one server: {'yes' if same else 'NO'}; "
         f"{secs(rs)} {errs(rs)}")
    hs[0].stop()
    hs[1].exit()
    wait_gone(rs[0].get("pid", 0) or 1, 10)
    other = base / "b"
    other.mkdir()
    hs = [Holder(var), Holder(other)]
    rs = [h.started() for h in hs]
    ok = all("error" not in r for r in rs) and len({r.get("pid") for r in rs}) == 2
    step("two starts at once, two var dirs", ok,
         f"{secs(rs)} (the second includes initdb) {errs(rs)}")
    for h in hs:
        h.stop() if h.result.get("pid") else h.exit()

    h = Holder(var)
    r = h.started()
    try:
        notify_round_trips(r["admin_url"])
        if migrations:
            migrate_and_check(var)
    finally:
        h.stop()


def _fake_pid_file(var: Path, pid: int) -> str:
    pg = var / "pg"
    return "\n".join([str(pid), str(pg), str(int(time.time())), "5432", str(pg), "", "  0 0", "ready", ""])


def notify_round_trips(admin_url: str, n: int = 200) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as listener, psycopg.connect(admin_url, autocommit=True) as sender:
        listener.execute("LISTEN bench_embedded")
        lat = []
        gen = listener.notifies(timeout=10)
        for i in range(n):
            t0 = time.perf_counter()
            sender.execute(f"NOTIFY bench_embedded, '{i}'")
            got = next(gen, None)
            if got is None or got.payload != str(i):
                break
            lat.append(time.perf_counter() - t0)
        gen.close()
    lat.sort()
    step("LISTEN/NOTIFY", len(lat) == n, f"{len(lat)}/{n} delivered; round trip p50 {lat[len(lat) // 2] * 1000:.2f} ms, "
         f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.2f} ms" if lat else "none delivered")


def migrate_and_check(var: Path) -> None:
    """Every service's migrations as the owner, then the application role's standing and the policies."""
    from importlib import import_module

    from sqlalchemy import text

    from crm.embedded_pg import EmbeddedPostgres
    from shared import config, rls

    pg = EmbeddedPostgres(var)
    env = {**os.environ, "CRM_MODE": "embedded", "CRM_VAR_DIR": str(var), **pg.start()}
    for svc in config.SERVICES:
        t0 = time.monotonic()
        rt = import_module(f"services.{svc}.bootstrap").build(config.load(svc, env))
        try:
            rt.migrate()
            took = time.monotonic() - t0
            rls.check_role(rt.db.engine)  # raises if the app role owns tables or bypasses the policies
            with rt.db.engine.connect() as c:
                forced = c.scalar(text("SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relrowsecurity AND "
                                       "relforcerowsecurity AND relnamespace = 'public'::regnamespace"))
                policies = c.scalar(text("SELECT count(*) FROM pg_policies WHERE policyname = 'tenant'"))
            step(f"migrations + RLS: {svc}", bool(forced) and forced == policies,
                 f"migrated in {took:.2f} s; {forced} tables with forced RLS, {policies} tenant policies; "
                 f"app role owns nothing, no BYPASSRLS")
        except Exception as exc:  # noqa: BLE001
            step(f"migrations + RLS: {svc}", False, f"{type(exc).__name__}: {str(exc)[:300]}")
        finally:
            rt.db.engine.dispose()


def as_user(user: str, argv: list[str]) -> int:
    """Run this script again as a normal user (created with useradd if missing)."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "-s", "/bin/bash", user], check=True)
    base = Path(tempfile.mkdtemp(prefix="embedded-pg-user-"))
    shutil.chown(base, user)
    cmd = ["runuser", "-u", user, "--", sys.executable, __file__, "--base", str(base), *argv]
    try:
        return subprocess.run(cmd, cwd="/").returncode
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--as-user", help="run as this normal user (created if missing; needs root)")
    ap.add_argument("--no-migrations", action="store_true", help="skip the services' migrations and RLS check")
    ap.add_argument("--base", type=Path, help=argparse.SUPPRESS)
    args, rest = ap.parse_known_args()
    if args.as_user:
        return as_user(args.as_user, [a for a in sys.argv[1:] if a not in ("--as-user", args.as_user)])
    base = args.base or Path(tempfile.mkdtemp(prefix="embedded-pg-"))
    work = Path(tempfile.mkdtemp(dir=base))
    global LOG
    log_path = base / "embedded_pg.log"
    LOG = log_path.open("ab")
    import pgserver

    print(f"pgserver {_version()} ({Path(pgserver.__file__).parent}); user {pwd.getpwuid(os.geteuid()).pw_name} "
          f"(uid {os.geteuid()}); {os.cpu_count()} cores, {load()}; var dirs under {work}", flush=True)
    t0 = time.monotonic()
    try:
        measure(work, args.cycles, not args.no_migrations)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        LOG.close()
    print(f"\n{len(FAILURES)} failed step(s){': ' + ', '.join(FAILURES) if FAILURES else ''}; "
          f"{time.monotonic() - t0:.0f} s in all; {load()}; pgserver's messages in {log_path}")
    return 1 if FAILURES else 0


def _version() -> str:
    from importlib.metadata import version

    return version("pgserver")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_child":
        child(sys.argv[2], raw="--raw" in sys.argv)
    else:
        sys.exit(main())
