"""What one lead costs, end to end through the real processes (issue 16).

    .venv/bin/python bench/pipeline.py                       # ladder 10,20,40,80,150 /s, 30 s a point
    .venv/bin/python bench/pipeline.py --seconds 10 --rates 20,80
    .venv/bin/python bench/pipeline.py --no-bare --list-requests 0 --rates 10 --backlog 600   # CPU per lead, consumers
    .venv/bin/python bench/pipeline.py --no-bare --list-requests 0 --rates 10 --profile /tmp/prof  # + cProfile
    .venv/bin/python bench/pipeline.py --only api-cpu --seconds 20 --rates 10   # API CPU per request only

Starts the production topology as separate processes (`tests/topology.py`, as the e2e and fault tests:
one gunicorn with 2 workers and one `crm worker` per service) on the machine's PostgreSQL (fresh
databases) and RabbitMQ (a fresh vhost), and beside it the bare baseline (`bench/bare_app.py`: Flask
inserting one row with SQLAlchemy Core, the same gunicorn settings, a fresh database). Both are
driven open loop at each rate of the ladder: request i is due at start + i/rate whatever came
back before it, and its latency counts from that scheduled time. The platform is driven as a
consultant (`POST /leads/api/v1/leads` with a Bearer token); after each point the bench waits until
the pipeline has drained (every outbox row relayed, every consumer's inbox holding every event its
queue is bound to) and only then reads each process's CPU (utime + stime from /proc, a gunicorn
master with its workers). Then:

- per rate: achieved rate, p50/p99, errors, and CPU ms per lead of each process;
- API CPU per request for the create and for `GET /leads/api/v1/leads?per_page=50`, platform vs bare;
- each consumer's throughput through the real consumer: with the consuming workers stopped, leads
  are created until a backlog waits in RabbitMQ; then the workers are started one after the other
  (customers, callcenter, analytics, identity) and each one's rate is read from its inbox (events over
  the time between its first and last applied batch), beside its worker's CPU per event while it
  drained (the worker's relay included: customers relays what it emits for the others);
- the issue's goals, met / NOT met.

`--no-bare` leaves out the bare app (its ladder and its list), for a run of just the CPU per lead
and the consumers' backlog. `--profile DIR` starts the workers of the backlog part with their
consumer thread under cProfile (`bench/profile_worker.py`; `DIR/<service>.prof`, read with
`python -m pstats`); their rates are then the profiled ones, slower than without.

`--only api-cpu`: only the API CPU per request (create and list, platform vs bare). After the warm-up
the workers are stopped (their CPU is not what is measured, and they would compete for the cores), the
create is driven at each rate of `--rates` against both, then the list; no drain, no backlog.

The load generator runs in this process, on the same cores as everything it measures.
Ports: the APIs on --port-base + 1..5, the bare app on --port-base + 10 (default 9800).

Clean-up: the run's databases (BENCH_DB_PREFIX, `pipe_`, its pid), its vhost (`crmpipe_`, BENCH_PREFIX, its
pid) and its temp folder are removed on every way out — the end, an error, Ctrl-C or SIGTERM (a second one
during the clean-up is ignored); only SIGKILL leaves them, and the next run with the same prefixes removes
those whose process is gone, never a living run's (`bench/leftovers.py`).
"""
from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR, ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from importlib import import_module  # noqa: E402

import psycopg  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

from bench import leftovers  # noqa: E402
from bench.bare_app import create_table  # noqa: E402
from crm import datagen  # noqa: E402
from shared.bus.consumer import _topic_match  # noqa: E402
from shared.config import SERVICES  # noqa: E402
from tests.conftest import PG_ADMIN_URL, PG_APP, PG_OWNER, _ensure_role, _pg_database, as_role  # noqa: E402
from tests.topology import BIN, Proc, Topology, production_topology  # noqa: E402

RNG = random.Random(2026)
NAMES = datagen.People(2026, pool=500).names  # customers' names (Faker zh_CN), drawn before any timing
CONSULTANTS = ("sh-toyota-pd.sales1", "sh-lexus-xh.sales1", "hz-vw-xh.sales1", "sh-toyota-pd.sales2")
CONSUMERS = ("customers", "callcenter", "analytics", "identity", "leads")  # the services with a consumer
GOAL_CPU_PER_LEAD = 10.0  # ms, every process
GOAL_RATE, GOAL_P99 = 150.0, 200.0  # /s with p99 under ms
GOAL_API_RATIO = 2.0
GOAL_ANALYTICS = 5000.0  # events/s through its consumer
TICK = os.sysconf("SC_CLK_TCK")


# --- CPU of processes -------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(stat.parent.name))
    return kids


def cpu_seconds(pid: int, kids: dict[int, list[int]] | None = None) -> float:
    """utime + stime of `pid` and of all its descendants, living (their own) and reaped (cutime, cstime)."""
    kids = _children_map() if kids is None else kids
    f = _stat(pid)
    if f is None:
        return 0.0
    total = sum(int(x) for x in f[11:15]) / TICK
    return total + sum(cpu_seconds(c, kids) for c in kids.get(pid, ()))


def snapshot(procs: dict[str, int]) -> dict[str, float]:
    kids = _children_map()
    return {name: cpu_seconds(pid, kids) for name, pid in procs.items()}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- open-loop driver -------------------------------------------------------------------------------

@dataclass
class Point:
    rate: float
    seconds: float
    latencies: list[float] = field(default_factory=list)  # ms, from the scheduled send time, successes
    errors: int = 0
    elapsed: float = 0.0
    error_samples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def achieved(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))]

    def sustained(self) -> bool:
        return self.errors == 0 and self.achieved >= 0.95 * self.rate and self.pct(0.99) < GOAL_P99


def drive(port: int, method: str, path: str, rate: float, seconds: float, headers: list[dict], body,
          ok_status: int, threads: int = 200) -> Point:
    """Send `rate` requests a second for `seconds`, open loop; latency from each request's scheduled time."""
    total = max(1, int(rate * seconds))
    point = Point(rate, seconds)
    lock = threading.Lock()
    nxt = [0]
    t0 = time.monotonic() + 0.2

    def work() -> None:
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= total:
                return
            due = t0 + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            payload = json.dumps(body() if callable(body) else body) if body is not None else None
            hdrs = {"Content-Type": "application/json", **headers[i % len(headers)]}
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request(method, path, body=payload, headers=hdrs)
                r = conn.getresponse()
                data = r.read()
                conn.close()
                status = r.status
            except OSError as exc:
                status, data = 0, str(exc).encode()
            done = time.monotonic()
            with lock:
                if status == ok_status:
                    point.latencies.append((done - due) * 1000)
                else:
                    point.errors += 1
                    if len(point.error_samples) < 3:
                        point.error_samples.append(f"{status} {data[:200]!r}")
                point.elapsed = max(point.elapsed, done - t0)

    pool = [threading.Thread(target=work, daemon=True) for _ in range(min(threads, total))]
    for t in pool:
        t.start()
    for t in pool:
        while t.is_alive():  # a bounded join: Ctrl-C reaches the main thread (and the clean-up) at once
            t.join(0.5)
    point.elapsed = max(point.elapsed, seconds)
    return point


def lead_body() -> dict:
    return {"name": RNG.choice(NAMES), "phone": "+86 " + datagen.phone(RNG), "source": "walk_in",
            "model": RNG.choice(datagen.MODELS["toyota"])[0]}


# --- the pipeline's state ---------------------------------------------------------------------------

class Pipeline:
    """Reads the topology's databases as the superuser: outbox, inboxes; knows when it has drained."""

    def __init__(self, topo: Topology):
        self.topo = topo
        self.urls = {svc: make_url(as_role(topo.database_url(svc), "postgres")).set(drivername="postgresql")
                     .render_as_string(hide_password=False) for svc in SERVICES}
        self.patterns = {svc: import_module(f"services.{svc}.entrypoints.consumers").handlers.spec.patterns for svc in CONSUMERS}

    def _q(self, svc: str, sql: str, *args):
        with psycopg.connect(self.urls[svc], autocommit=True) as conn:
            return conn.execute(sql, args).fetchall()

    def state(self) -> tuple[int, dict[str, int], dict[str, int]]:
        """(outbox rows not sent, events each consumer should have by now, events in its inbox)."""
        unsent, keys = 0, {}
        for svc in SERVICES:
            for rk, n, pending in self._q(svc, "SELECT routing_key, count(*), count(*) FILTER (WHERE sent_at IS NULL) "
                                               "FROM outbox GROUP BY routing_key"):
                keys[rk] = keys.get(rk, 0) + n
                unsent += pending
        expected = {svc: sum(n for rk, n in keys.items() if any(_topic_match(p, rk) for p in pats))
                    for svc, pats in self.patterns.items()}
        have = {svc: self._q(svc, "SELECT count(*) FROM inbox WHERE consumer = %s", svc)[0][0] for svc in CONSUMERS}
        return unsent, expected, have

    def deliveries(self) -> int:
        return sum(self.state()[1].values())

    def drain(self, timeout: float = 900.0, only: tuple[str, ...] = CONSUMERS) -> float:
        """Wait until nothing is left to relay or apply (by the consumers in `only`); returns the wait."""
        t0 = time.monotonic()
        while True:
            unsent, expected, have = self.state()
            if unsent == 0 and all(have[c] >= expected[c] for c in only):
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"pipeline not drained after {timeout}s: unsent {unsent}, "
                                   f"expected {expected}, applied {have}\n{self.topo.tracebacks()}")
            time.sleep(0.2)

    def consumer_rate(self, svc: str, since) -> tuple[int, float]:
        """Events applied by `svc` since `since` (a database timestamp) and their rate per second
        between its first and last applied batch (the first batch's own time is not known: left out)."""
        rows = self._q(svc, "SELECT handled_at, count(*) FROM inbox WHERE consumer = %s AND handled_at >= %s "
                            "GROUP BY handled_at ORDER BY handled_at", svc, since)
        n = sum(c for _, c in rows)
        if len(rows) < 2:
            return n, float("nan")
        span = (rows[-1][0] - rows[0][0]).total_seconds()
        return n, (n - rows[0][1]) / span if span > 0 else float("nan")

    def now(self):
        return self._q("leads", "SELECT clock_timestamp()")[0][0]


# --- setup ------------------------------------------------------------------------------------------

#: this run's databases, vhost and temp folder carry its pid (bench/leftovers.py)
RUN = leftovers.RunNames("pipe")


def make_vhost(amqp_base: str) -> tuple[str, str | None]:
    """A fresh RabbitMQ vhost when rabbitmqctl is at hand (else the default one, with the topology's
    own namespace); returns (URL, vhost)."""
    if not shutil.which("rabbitmqctl"):
        return amqp_base + "/", None
    vhost = f"{RUN.mine(RUN.vhost_prefix)}{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True, timeout=60)
        subprocess.run(["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True,
                       capture_output=True, timeout=60)
    except (subprocess.SubprocessError, OSError):
        leftovers.drop_vhost(vhost)
        return amqp_base + "/", None
    return f"{amqp_base}/{vhost}", vhost


def own_database(stack: ExitStack) -> str:
    """A fresh database of this run (its owner's URL), dropped when `stack` closes."""
    gen = _pg_database(PG_ADMIN_URL, RUN.mine(RUN.db_prefix))
    url = next(gen)
    stack.callback(next, gen, None)
    return url


def wait_http(port: int, path: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"nothing answers on :{port}{path}")


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def fmt(x: float, digits: int = 1) -> str:
    return "-" if x != x else f"{x:,.{digits}f}"


# --- the run ----------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="10,20,40,80,150", help="the platform's ladder, leads/s")
    ap.add_argument("--bare-rates", default="", help="the bare app's ladder (default: the platform's and 300)")
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds per point")
    ap.add_argument("--backlog", type=int, default=1500, help="leads queued for the consumer throughput (0: skip)")
    ap.add_argument("--list-requests", type=int, default=300, help="GET /leads requests for the list's CPU (0: skip)")
    ap.add_argument("--no-bare", action="store_true", help="leave out the bare app (its ladder and list)")
    ap.add_argument("--profile", default="", help="directory: the backlog part's consumers under cProfile")
    ap.add_argument("--profile-ladder", default="",
                    help="directory: the consumers under cProfile from the warm-up on (the ladder's points)")
    ap.add_argument("--only", choices=("api-cpu",), help="api-cpu: only the API CPU per request (workers stopped)")
    ap.add_argument("--idle", type=float, default=0.0,
                    help="seconds of no traffic after the warm-up: each process's CPU while idle (0: skip)")
    ap.add_argument("--start-timeout", type=float, default=600.0, help="seconds for the topology to start")
    ap.add_argument("--port-base", type=int, default=int(os.environ.get("PIPE_PORT_BASE", 9800)))
    ap.add_argument("--amqp", default=os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672"),
                    help="RabbitMQ, without the vhost")
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r]
    bare_rates = [] if args.no_bare else [float(r) for r in args.bare_rates.split(",") if r] or sorted({*rates, 300.0})
    ports = {svc: args.port_base + 1 + i for i, svc in enumerate(SERVICES)}
    bare_port = args.port_base + 10
    loads = [loadavg()]

    leftovers.exit_on_signals()  # Ctrl-C, kill: the clean-up below runs
    for what in leftovers.remove_dead_runs(RUN, PG_ADMIN_URL):
        print(f"removed {what} (left by a run that died)", flush=True)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for role in (PG_OWNER, PG_APP):
            _ensure_role(conn, role)
    with ExitStack() as stack:  # on the way out, in reverse: the bare app, the topology, databases, vhost, folder
        tmp = Path(tempfile.mkdtemp(prefix=RUN.mine(RUN.tmp_prefix)))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        amqp_url, vhost = make_vhost(args.amqp.rstrip("/"))
        stack.callback(leftovers.drop_vhost, vhost)
        topo = stack.enter_context(production_topology(
            tmp, PG_ADMIN_URL, amqp_url, prefix="pipe", ports=ports, start_timeout=args.start_timeout,
            db_prefix=RUN.mine(RUN.db_prefix)))
        print(f"topology up in {topo.started_in:.0f}s (vhost {vhost or '/'}, namespace {topo.namespace}); "
              f"load average {loadavg()}", flush=True)
        bare = None if args.no_bare else start_bare(stack, tmp / "logs", bare_port)
        stack.callback(leftovers.quiet)  # runs first on the way out: a second Ctrl-C does not cut the clean-up short
        if args.only == "api-cpu":
            if bare is None:
                raise SystemExit("--only api-cpu compares with the bare app: leave out --no-bare")
            api_cpu(topo, bare, bare_port, rates, args, loads)
        else:
            run(topo, bare, bare_port, rates, bare_rates, args, loads)


def start_bare(stack: ExitStack, logs: Path, port: int) -> Proc:
    """The bare app on a fresh database, both gone when `stack` closes."""
    url = own_database(stack)
    create_table(url)
    bare = Proc("bare-api", [BIN / "gunicorn", "-c", "python:shared.gunicorn_conf", "-w", "2", "-b",
                             f"127.0.0.1:{port}", "bench.bare_app:create_app()"],
                {**os.environ, "BARE_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}, logs / "bare-api.log").start()
    stack.callback(bare.stop)
    wait_http(port, "/healthz")
    return bare


def run(topo: Topology, bare: Proc | None, bare_port: int, rates, bare_rates, args, loads: list[str]) -> None:
    pipe = Pipeline(topo)
    tokens = [topo.login(u) for u in CONSULTANTS]
    procs = {f"{svc}-api": p.pid for svc, p in topo.apis.items()} | {f"{svc}-worker": p.pid for svc, p in topo.workers.items()}
    lport = topo.ports["leads"]
    create = "/leads/api/v1/leads"
    if args.profile_ladder:
        procs |= profile_consumers(topo, args.profile_ladder)
    # warm up both (imports, caches, connection pools), then start from a drained pipeline
    drive(lport, "POST", create, 10, 3, tokens, lead_body, 201)
    if bare is not None:
        drive(bare_port, "POST", create, 10, 3, [{}], lead_body, 201)
    pipe.drain()
    if args.idle:
        idle_cpu(procs, args.idle, loads)

    print(f"\n== open loop, {args.seconds:.0f} s per point; latency from the scheduled send time ==")
    results: list[tuple[Point, dict[str, float], int, float]] = []  # point, CPU s by process, deliveries, drain
    bare_points: dict[float, tuple[Point, float]] = {}
    for rate in sorted({*rates, *bare_rates}):
        if rate in rates:
            before, d0 = snapshot(procs), pipe.deliveries()
            pt = drive(lport, "POST", create, rate, args.seconds, tokens, lead_body, 201)
            waited = pipe.drain()
            after, d1 = snapshot(procs), pipe.deliveries()
            loads.append(loadavg())
            results.append((pt, {k: after[k] - before[k] for k in procs}, d1 - d0, waited))
            per = {k: (after[k] - before[k]) * 1000 / max(pt.ok, 1) for k in procs}
            print(f"platform {rate:>5.0f}/s: achieved {pt.achieved:6.1f}/s  p50 {fmt(pt.pct(.5)):>7} ms  "
                  f"p99 {fmt(pt.pct(.99)):>7} ms  errors {pt.errors}  drained {waited:4.1f}s after; "
                  f"CPU ms/lead {sum(per.values()):.1f}  load {loads[-1]}", flush=True)
            print("    " + "  ".join(f"{k} {v:.1f}" for k, v in per.items() if v >= 0.05), flush=True)
            for e in pt.error_samples:
                print(f"    error: {e}")
        if rate in bare_rates and bare is not None:
            b0 = snapshot({"bare": bare.pid})["bare"]
            pt = drive(bare_port, "POST", create, rate, args.seconds, [{}], lead_body, 201)
            cpu = (snapshot({"bare": bare.pid})["bare"] - b0) * 1000 / max(pt.ok, 1)
            bare_points[rate] = (pt, cpu)
            print(f"bare     {rate:>5.0f}/s: achieved {pt.achieved:6.1f}/s  p50 {fmt(pt.pct(.5)):>7} ms  "
                  f"p99 {fmt(pt.pct(.99)):>7} ms  errors {pt.errors}  CPU ms/request {cpu:.2f}", flush=True)

    # API CPU per request: the create (from the ladder, at the rates both ladders ran: a request costs
    # less the higher the rate, so a mean over different ladders compares nothing) and the list
    total_ok = sum(pt.ok for pt, *_ in results)
    common = [(pt, c["leads-api"] * 1000 / max(pt.ok, 1), bare_points[pt.rate]) for pt, c, *_ in results
              if pt.rate in bare_points]
    api_create = (sum(ms * pt.ok for pt, ms, _ in common) / max(sum(pt.ok for pt, *_ in common), 1)
                  if common else float("nan"))
    bare_create = (sum(cpu * b.ok for *_, (b, cpu) in common) / max(sum(b.ok for *_, (b, _) in common), 1)
                   if common else float("nan"))
    api_list, bare_list = list_cpu(topo, bare, bare_port, tokens, args.list_requests)

    # each consumer through its real consumer, on a backlog queued in RabbitMQ
    consumer_rates: dict[str, tuple[int, float, float]] = {}
    if args.backlog:
        consumer_rates = backlog_rates(topo, pipe, tokens, args.backlog, loads, args.profile)

    # --- summary ---------------------------------------------------------------------------------
    print("\n== CPU per lead (ms), every point together, after the pipeline drained ==")
    total_cpu = {k: sum(c[k] for _, c, *_ in results) for k in procs}
    deliveries = sum(d for *_, d, _ in results)
    for k, v in sorted(total_cpu.items(), key=lambda kv: -kv[1]):
        print(f"  {k:<20} {v * 1000 / max(total_ok, 1):6.2f}")
    cpu_per_lead = sum(total_cpu.values()) * 1000 / max(total_ok, 1)
    print(f"  {'all processes':<20} {cpu_per_lead:6.2f}   ({deliveries / max(total_ok, 1):.1f} deliveries per lead)")

    best = max((pt.rate for pt, *_ in results if pt.sustained()), default=0.0)
    bare_best = max((r for r, (pt, _) in bare_points.items() if pt.sustained()), default=0.0)
    if bare is not None:
        print("\n== against the bare app, same run ==")
        print(f"  highest rate sustained (p99 < {GOAL_P99:.0f} ms, no errors, ≥95% achieved): platform {best:.0f}/s, "
              f"bare {bare_best:.0f}/s{'' if bare_best < max(bare_rates) else ' (its ladder’s top)'}, "
              f"ratio {fmt(ratio(best, bare_best), 2)}")
        print(f"  API CPU per create, at the rates both ran ({', '.join(f'{pt.rate:.0f}' for pt, *_ in common)} /s): "
              f"platform {fmt(api_create, 2)} ms, bare {fmt(bare_create, 2)} ms, ratio {fmt(ratio(api_create, bare_create), 2)}; "
              f"per rate {', '.join(f'{pt.rate:.0f}/s {fmt(ratio(ms, cpu), 2)}×' for pt, ms, (_, cpu) in common)}")
        print(f"  API CPU per list of 50: platform {fmt(api_list, 2)} ms, bare {fmt(bare_list, 2)} ms, "
              f"ratio {fmt(ratio(api_list, bare_list), 2)}")
    print("\n== the consumers on a backlog ==")
    for svc, (n, r, cpu) in consumer_rates.items():
        print(f"  {svc} consumer: {n} events from a backlog at {fmt(r, 0)} events/s, its worker's CPU "
              f"{fmt(cpu, 2)} ms/event")

    print("\n== the issue's goals ==")
    goals = [
        (f"CPU per lead across every process ≤ {GOAL_CPU_PER_LEAD:.0f} ms", cpu_per_lead <= GOAL_CPU_PER_LEAD,
         f"{cpu_per_lead:.1f} ms"),
    ]
    if bare is not None:
        goals += [(f"≥ {GOAL_RATE:.0f} leads/s with p99 < {GOAL_P99:.0f} ms and ≥ half the bare app",
         best >= GOAL_RATE and best >= bare_best / 2, f"{best:.0f}/s vs bare {bare_best:.0f}/s"),
        (f"API CPU per create ≤ {GOAL_API_RATIO:.0f}× bare", api_create <= GOAL_API_RATIO * bare_create,
         f"{fmt(ratio(api_create, bare_create), 2)}×"),
        (f"API CPU per list ≤ {GOAL_API_RATIO:.0f}× bare", api_list <= GOAL_API_RATIO * bare_list,
         f"{fmt(ratio(api_list, bare_list), 2)}×")]
    if "analytics" in consumer_rates:
        r = consumer_rates["analytics"][1]
        goals.append((f"analytics through its consumer ≥ {GOAL_ANALYTICS:,.0f} events/s", r >= GOAL_ANALYTICS,
                      f"{fmt(r, 0)} events/s"))
    for text, met, figure in goals:
        print(f"  {'met    ' if met else 'NOT met'}  {text}: {figure}")
    print(f"\nload average (1, 5, 15 min) at the start and after each point: {' | '.join(loads)}")
    print("(the load generator runs on the same 2 cores; the machine may be shared with other work)")


def idle_cpu(procs: dict[str, int], seconds: float, loads: list[str]) -> None:
    """Each process's CPU over `seconds` with no traffic at all (the drained pipeline): its idle loops."""
    time.sleep(2.0)  # the last batches' after-effects (acks, relays' follow-up looks) settle first
    before = snapshot(procs)
    time.sleep(seconds)
    after = snapshot(procs)
    loads.append(loadavg())
    per = {k: (after[k] - before[k]) * 1000 / seconds for k in procs}
    print(f"\n== idle for {seconds:.0f} s: CPU ms per second of each process (load {loads[-1]}) ==")
    print("    " + "  ".join(f"{k} {v:.1f}" for k, v in per.items()) + f"   all {sum(per.values()):.1f}", flush=True)


LIST = "/leads/api/v1/leads?per_page=50"


def list_cpu(topo: Topology, bare: Proc | None, bare_port: int, tokens, n: int) -> tuple[float, float]:
    """API CPU ms per `GET /leads` (a page of 50), platform and bare (if any), `n` requests each at 20/s."""
    if not n:
        return float("nan"), float("nan")
    r, api = 20.0, topo.apis["leads"].pid
    b = snapshot({"api": api})["api"]
    pt = drive(topo.ports["leads"], "GET", LIST, r, n / r, tokens, None, 200)
    api_list = (snapshot({"api": api})["api"] - b) * 1000 / max(pt.ok, 1)
    print(f"\nGET /leads (50 a page), platform: {pt.ok} ok, {pt.errors} errors, p50 {fmt(pt.pct(.5))} ms, "
          f"API CPU {api_list:.2f} ms/request", flush=True)
    if bare is None:
        return api_list, float("nan")
    b = snapshot({"bare": bare.pid})["bare"]
    pt = drive(bare_port, "GET", LIST, r, n / r, [{}], None, 200)
    bare_list = (snapshot({"bare": bare.pid})["bare"] - b) * 1000 / max(pt.ok, 1)
    print(f"GET /leads (50 a page), bare:     {pt.ok} ok, {pt.errors} errors, p50 {fmt(pt.pct(.5))} ms, "
          f"CPU {bare_list:.2f} ms/request", flush=True)
    return api_list, bare_list


def api_cpu(topo: Topology, bare: Proc, bare_port: int, rates, args, loads: list[str]) -> None:
    """`--only api-cpu`: the API CPU per create and per list, platform vs bare, with the workers stopped."""
    pipe = Pipeline(topo)
    tokens = [topo.login(u) for u in CONSULTANTS]
    lport, create = topo.ports["leads"], "/leads/api/v1/leads"
    api = topo.apis["leads"].pid
    # warm up both; the seeded group and enough leads for full pages (a consultant sees their own)
    drive(lport, "POST", create, 10, 3, tokens, lead_body, 201)
    drive(bare_port, "POST", create, 10, 3, [{}], lead_body, 201)
    pipe.drain()
    for proc in topo.workers.values():
        proc.stop()
    drive(lport, "POST", create, 20, 12, tokens, lead_body, 201)
    drive(bare_port, "POST", create, 20, 3, [{}], lead_body, 201)
    print(f"\n== API CPU per request, workers stopped; {args.seconds:.0f} s per rate ==", flush=True)
    platform, bare_ms = [], []
    for rate in rates:
        for name, port, pid, hdrs, out in (("platform", lport, api, tokens, platform),
                                          ("bare", bare_port, bare.pid, [{}], bare_ms)):
            b = snapshot({"p": pid})["p"]
            pt = drive(port, "POST", create, rate, args.seconds, hdrs, lead_body, 201)
            cpu = (snapshot({"p": pid})["p"] - b) * 1000 / max(pt.ok, 1)
            out.append((pt.ok, cpu))
            loads.append(loadavg())
            print(f"{name:<8} {rate:>5.0f}/s: achieved {pt.achieved:6.1f}/s  p50 {fmt(pt.pct(.5)):>7} ms  "
                  f"p99 {fmt(pt.pct(.99)):>7} ms  errors {pt.errors}  CPU ms/create {cpu:.2f}  load {loads[-1]}",
                  flush=True)
    api_list, bare_list = list_cpu(topo, bare, bare_port, tokens, args.list_requests)
    loads.append(loadavg())

    def mean(xs):
        return sum(n * c for n, c in xs) / max(sum(n for n, _ in xs), 1)

    api_create, bare_create = mean(platform), mean(bare_ms)
    print("\n== the issue's API goal ==")
    for what, a, b in (("create", api_create, bare_create), ("list of 50", api_list, bare_list)):
        met = a <= GOAL_API_RATIO * b
        print(f"  {'met    ' if met else 'NOT met'}  API CPU per {what} ≤ {GOAL_API_RATIO:.0f}× bare: "
              f"platform {fmt(a, 2)} ms, bare {fmt(b, 2)} ms, ratio {fmt(ratio(a, b), 2)}")
    print(f"\nload average (1, 5, 15 min) at the start and after each point: {' | '.join(loads)}")
    print("(the load generator runs on the same 2 cores; the machine may be shared with other work)")


def backlog_rates(topo: Topology, pipe: Pipeline, tokens, n: int, loads: list[str],
                  profile: str = "") -> dict[str, tuple[int, float, float]]:
    """Stop the consuming workers but leads' (its relay publishes the leads), queue `n` leads, then
    start the workers one by one and read each one's rate from its inbox, and its worker's CPU per
    event over the time it took (`profile`: a directory, the workers' consumer under cProfile)."""
    order = ("customers", "callcenter", "analytics", "identity")
    for svc in order:
        topo.workers[svc].stop()
    rate = 60.0
    pt = drive(topo.ports["leads"], "POST", "/leads/api/v1/leads", rate, n / rate, tokens, lead_body, 201)
    pipe.drain(only=("leads",))
    print(f"\n== consumers on a backlog: {pt.ok} leads queued ({pt.errors} errors) ==")
    out = {}
    for svc in order:
        since = pipe.now()
        worker = topo.workers[svc]
        if profile:
            worker = profiled(topo, svc, profile)
        logged = worker.log.stat().st_size if worker.log.exists() else 0
        worker.start()
        # its CPU from the moment it is up (the imports before are the start-up's, not the events')
        wait_worker(topo, svc, logged)
        cpu0, up = cpu_seconds(worker.pid), pipe.now()
        pipe.drain(only=("leads", *order[:order.index(svc) + 1]))
        cpu = cpu_seconds(worker.pid) - cpu0
        count, rate = pipe.consumer_rate(svc, since)
        after_up = pipe.consumer_rate(svc, up)[0]
        out[svc] = (count, rate, cpu * 1000 / after_up if after_up else float("nan"))
        loads.append(loadavg())
        print(f"  {svc:<11} {count:6d} events at {fmt(rate, 0)} events/s; worker CPU {fmt(out[svc][2], 2)} ms/event "
              f"({after_up} events after it was up)  (load {loads[-1]})", flush=True)
    if profile:  # the profiles are written when the workers stop
        for svc in order:
            topo.workers[svc].stop()
        print(f"  profiles in {profile}/<service>.prof", flush=True)
    return out


def profiled(topo: Topology, svc: str, directory: str, prefix: str = "") -> Proc:
    """`svc`'s worker replaced by `bench/profile_worker.py` (not started): DIR/<prefix><service>.prof."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    old = topo.workers[svc]
    topo.workers[svc] = Proc(f"{svc}-worker", [sys.executable, BENCH_DIR / "profile_worker.py", svc,
                                               str(Path(directory).resolve() / f"{prefix}{svc}.prof")],
                             old.env, old.log)
    return topo.workers[svc]


def profile_consumers(topo: Topology, directory: str) -> dict[str, int]:
    """The consuming workers started again with their consumer thread under cProfile
    (DIR/ladder-<service>.prof); returns their pids by process name."""
    for svc in CONSUMERS:
        topo.workers[svc].stop()
        worker = profiled(topo, svc, directory, "ladder-")
        logged = worker.log.stat().st_size if worker.log.exists() else 0
        worker.start()
        wait_worker(topo, svc, logged)
    return {f"{svc}-worker": topo.workers[svc].pid for svc in CONSUMERS}


def wait_worker(topo: Topology, svc: str, logged: int) -> None:
    """Until `svc`'s worker says it is running (in its log after byte `logged`)."""
    worker = topo.workers[svc]
    while "worker running" not in worker.log.read_bytes()[logged:].decode(errors="replace"):
        if not worker.alive():
            raise RuntimeError(f"{svc} worker exited\n{topo.tracebacks()}")
        time.sleep(0.05)


if __name__ == "__main__":
    main()
