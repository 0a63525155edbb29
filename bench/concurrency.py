"""50 people at once on the embedded default (`crm serve`, what `make run` starts): issue 12.

Starts `crm serve` on a fresh var dir (or targets a running one with `--url`), waits for the demo
group and its activity to be seeded, then `--users` people log in at the same moment and work at a
person's pace for `--seconds` (one action every 1–3 s): consultants create and list their leads and
search customers, store managers list their store's leads and search, call-center agents claim the
next callback task and give it back. `--hogs 2` runs two busy-loop processes beside it (started
after seeding, stopped at the end). Prints per kind of request: count, server errors (5xx),
connection errors, client errors (4xx), p50 and p99, beside the aims (0 server errors, login p99 <
2 s, every other kind p99 < 500 ms) with met / NOT met, and a reference measured in the same run
(`/identity/healthz` every 0.5 s: what the machine and the server answer at best); exits 1 when an aim
is not met.

    .venv/bin/python bench/concurrency.py --hogs 2
    .venv/bin/python bench/concurrency.py --url http://127.0.0.1:8000   # a running `make run`
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crm import datagen  # noqa: E402
PASSWORD = "demo-pass-2026"  # services/identity/entrypoints/seed.py: DEMO_PASSWORD (embedded mode only)
STORES = [code for code, *_ in datagen.STORES]  # the seeded demo group's stores
AGENTS = ["cc.agent1", "cc.agent2", "cc.sup"]
NAMES = datagen.People(2026, pool=500).names  # customers' names (Faker zh_CN), drawn before any timing
LOGIN_P99, OTHER_P99 = 2.0, 0.5


class Stats:
    """Latencies and outcomes per kind of request, from every user thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, dict[str, int]] = defaultdict(lambda: {"5xx": 0, "conn": 0, "4xx": 0})
        self.samples: dict[str, str] = {}

    def add(self, kind: str, seconds: float, status: int | None, detail: str = "") -> None:
        with self.lock:
            self.times[kind].append(seconds)
            bucket = "conn" if status is None else "5xx" if status >= 500 else "4xx" if status >= 400 else None
            if bucket:
                self.errors[kind][bucket] += 1
                self.samples.setdefault(f"{kind} {bucket}", detail[:300])


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))] if s else float("nan")


class User(threading.Thread):
    """One person: logs in when the start gun fires, then an action every 1–3 s until the deadline."""

    def __init__(self, base: str, username: str, role: str, stats: Stats, gun: threading.Barrier,
                 deadline: list[float], seed: int):
        super().__init__(daemon=True, name=username)
        self.url = urllib.parse.urlsplit(base)
        self.username, self.role, self.stats, self.gun, self.deadline = username, role, stats, gun, deadline
        self.rnd = random.Random(seed)
        self.token = ""
        self.conn: http.client.HTTPConnection | None = None
        self.phones: list[str] = []
        self.ok = False

    def call(self, kind: str, method: str, path: str, body: dict | None = None) -> tuple[int | None, dict | list | None]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        t0 = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=60)
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out: a connection error
            self.stats.add(kind, time.perf_counter() - t0, None, repr(exc))
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return None, None
        self.stats.add(kind, time.perf_counter() - t0, status, raw.decode(errors="replace"))
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def run(self) -> None:
        self.gun.wait()
        if self.role == "probe":
            while time.monotonic() < self.deadline[0]:
                self.act_probe()
                time.sleep(0.5)
            return
        status, body = self.call("login", "POST", "/identity/api/v1/auth/login",
                                 {"group": "demo", "username": self.username, "password": PASSWORD})
        if status != 200 or not isinstance(body, dict):
            return
        self.token, self.ok = body["access_token"], True
        while True:
            time.sleep(self.rnd.uniform(1.0, 3.0))  # a person's pace
            if time.monotonic() >= self.deadline[0]:
                break
            getattr(self, f"act_{self.role}")()

    def act_probe(self) -> None:
        """The reference: the cheapest request the server answers (no login, no database beyond SELECT 1)."""
        self.call("healthz (ref)", "GET", "/identity/healthz")

    def model(self) -> str:
        """A model of the consultant's brand from the catalogue (a name outside it is refused with 422)."""
        if getattr(self, "_model", None) is None:
            _, me = self.call(SETUP, "GET", "/identity/api/v1/auth/me")
            store = ((me or {}).get("store_ids") or [""])[0]
            _, models = self.call(SETUP, "GET", f"/leads/api/v1/catalogue?store_id={store}")
            self._model = self.rnd.choice(models)["name"] if models else "RAV4"
        return self._model

    def act_consultant(self) -> None:
        r = self.rnd.random()
        if r < 0.4:
            phone = datagen.phone(self.rnd)
            status, _ = self.call("lead create", "POST", "/leads/api/v1/leads", {
                "name": self.rnd.choice(NAMES), "phone": phone, "source": "walk_in", "model": self.model()})
            if status == 201:
                self.phones.append(phone)
        elif r < 0.8:
            self.call("lead list", "GET", "/leads/api/v1/leads?per_page=20")
        else:
            self.search()

    def act_manager(self) -> None:
        if self.rnd.random() < 0.6:
            self.call("manager list", "GET", "/leads/api/v1/leads?per_page=50&open=true")
        else:
            self.search()

    def act_agent(self) -> None:
        status, body = self.call("claim", "POST", "/callcenter/api/v1/tasks/next", {})
        task = body.get("task") if status == 200 and isinstance(body, dict) else None
        if task:
            time.sleep(self.rnd.uniform(0.2, 1.0))  # a glance at the task, then back to the queue
            self.call("release", "POST", f"/callcenter/api/v1/tasks/{task['id']}/release")

    def search(self) -> None:
        q = self.rnd.choice(self.phones) if self.phones and self.rnd.random() < 0.5 else self.rnd.choice(NAMES)[0]
        self.call("search", "GET", f"/customers/api/v1/customers?q={urllib.parse.quote(q)}&per_page=20")


def cast(n: int) -> list[tuple[str, str]]:
    """`n` people: 60 % consultants, 24 % store managers, the rest call-center agents (sessions of the
    demo's two agents and supervisor), spread over the twelve stores."""
    agents, managers = max(1, n * 16 // 100), max(1, n * 24 // 100)
    consultants = n - agents - managers
    people = [(f"{STORES[i % 12]}.sales{1 + (i // 12) % 5}", "consultant") for i in range(consultants)]
    people += [(f"{STORES[i % 12]}.manager", "manager") for i in range(managers)]
    people += [(AGENTS[i % len(AGENTS)], "agent") for i in range(agents)]
    return people


def request_json(base: str, method: str, path: str, body: dict | None = None, token: str = "") -> tuple[int, dict]:
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    c.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
    r = c.getresponse()
    raw = r.read()
    c.close()
    return r.status, (json.loads(raw) if raw else {})


def open_calling_window(base: str) -> None:
    """Claims should find work whatever the hour the bench runs at: the supervisor opens the window all day."""
    status, body = request_json(base, "POST", "/identity/api/v1/auth/login",
                                {"group": "demo", "username": "cc.sup", "password": PASSWORD})
    if status == 200:
        status, body = request_json(base, "PUT", "/callcenter/api/v1/settings",
                                    {"window_start": "00:00", "window_end": "24:00"}, body["access_token"])
    print(f"calling window 00:00–24:00: {status}", flush=True)


def start_server(port: int, var_dir: Path, processes: int | None) -> tuple[subprocess.Popen, Path]:
    log = var_dir / "serve.log"
    env = {**os.environ, "CRM_VAR_DIR": str(var_dir), "CRM_MODE": "embedded"}
    cmd = [str(ROOT / ".venv" / "bin" / "crm"), "serve", "--port", str(port)]
    if processes is not None:
        cmd += ["--processes", str(processes)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, log


def wait_ready(proc: subprocess.Popen | None, log: Path | None, base: str, timeout: float) -> None:
    """Until the server says it serves (after seeding the demo on a fresh var dir) and answers healthz."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"crm serve exited with {proc.returncode}; see {log}")
        said = log is None or "Dealer CRM (embedded mode) at" in log.read_text(errors="replace")
        if said:
            try:
                if request_json(base, "GET", "/identity/healthz")[0] == 200:
                    return
            except OSError:
                pass
        time.sleep(0.5)
    raise SystemExit(f"the server was not ready within {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children that ended, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    total = 0.0
    for child in [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]:
        try:
            total += cpu_seconds(child)
        except OSError:
            pass
    return total


#: the consultant's one-off look-up of their brand's models (not a kind of request with an aim)
SETUP = "catalogue (setup)"


def report(stats: Stats, people: int, logged_in: int, seconds: float) -> bool:
    order = ["login", "lead create", "lead list", "manager list", "search", "claim", "release", "healthz (ref)"]
    kinds = [k for k in order if k in stats.times] + sorted(set(stats.times) - set(order))
    total = sum(len(v) for k, v in stats.times.items() if k not in ("login", "healthz (ref)", SETUP))
    print(f"\n{people} users, {logged_in} logged in; {total} requests after login in {seconds:.0f} s "
          f"({total / seconds:.1f}/s)\n")
    head = f"{'kind':<14}{'count':>7}{'5xx':>6}{'conn':>6}{'4xx':>6}{'p50 ms':>9}{'p99 ms':>9}   aim"
    print(head)
    print("-" * (len(head) + 34))
    all_met = True
    for k in kinds:
        t, e = stats.times[k], stats.errors[k]
        if k == "healthz (ref)":
            print(f"{k:<14}{len(t):>7}{e['5xx']:>6}{e['conn']:>6}{e['4xx']:>6}{pct(t, 50) * 1000:>9.0f}"
                  f"{pct(t, 99) * 1000:>9.0f}   reference: one probe every 0.5 s, no aim")
            continue
        aim = LOGIN_P99 if k == "login" else OTHER_P99
        p99 = pct(t, 99)
        met = p99 < aim and e["5xx"] == 0 and e["conn"] == 0
        all_met &= met
        print(f"{k:<14}{len(t):>7}{e['5xx']:>6}{e['conn']:>6}{e['4xx']:>6}{pct(t, 50) * 1000:>9.0f}{p99 * 1000:>9.0f}"
              f"   0 server errors, p99 < {aim * 1000:.0f} ms: {'met' if met else 'NOT met'}")
    server = sum(stats.errors[k]["5xx"] + stats.errors[k]["conn"] for k in kinds)
    print(f"\nserver + connection errors: {server} (aim 0): {'met' if server == 0 else 'NOT met'}")
    for key, sample in sorted(stats.samples.items()):
        print(f"  first {key}: {sample}")
    return all_met and server == 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running embedded platform (default: start `crm serve` on a fresh var dir)")
    ap.add_argument("--port", type=int, default=8150, help="port for the server this bench starts")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--hogs", type=int, default=0, help="busy-loop processes to run beside the server")
    ap.add_argument("--processes", type=int, help="pass --processes to `crm serve` (default: its own)")
    ap.add_argument("--keep", action="store_true", help="keep the var dir (its path is printed)")
    ap.add_argument("--seeded", type=Path, help="start from a copy of this var dir (kept by an earlier --keep run)"
                    " instead of seeding a fresh one")
    args = ap.parse_args()

    proc = log = None
    var_dir = None
    if args.url:
        base = args.url.rstrip("/")
    else:
        var_dir = Path(tempfile.mkdtemp(prefix="crm-bench-concurrency-"))
        if args.seeded:
            shutil.copytree(args.seeded, var_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("serve.log"))
        base = f"http://127.0.0.1:{args.port}"
        proc, log = start_server(args.port, var_dir, args.processes)
        print(f"crm serve on {base}, var dir {var_dir}; waiting for the demo to be seeded…", flush=True)
    hogs: list[subprocess.Popen] = []
    try:
        t0 = time.monotonic()
        wait_ready(proc, log, base, timeout=1800)
        print(f"ready after {time.monotonic() - t0:.0f} s", flush=True)
        open_calling_window(base)
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.hogs)]
        stats = Stats()
        people = cast(args.users)
        gun = threading.Barrier(len(people) + 1)
        deadline = [float("inf")]
        users = [User(base, name, role, stats, gun, deadline, seed=i) for i, (name, role) in enumerate(people)]
        users.append(User(base, "probe", "probe", stats, gun, deadline, seed=-1))
        cpu0 = tree_cpu(proc.pid) if proc else None
        started = time.monotonic()
        deadline[0] = started + args.seconds
        for u in users:
            u.start()
        for u in users:
            u.join(timeout=args.seconds + 120)
        elapsed = time.monotonic() - started
        print(f"{args.hogs} busy-loop processes beside the server; load average {os.getloadavg()[0]:.1f}")
        if proc is not None and cpu0 is not None:
            print(f"server CPU during the run: {(tree_cpu(proc.pid) - cpu0) / elapsed:.2f} cores")
        met = report(stats, len(people), sum(u.ok for u in users if u.role != "probe"), elapsed)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
        if proc is not None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if var_dir is not None:
            if args.keep:
                print(f"var dir kept: {var_dir}")
            else:
                shutil.rmtree(var_dir, ignore_errors=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
