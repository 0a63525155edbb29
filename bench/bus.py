"""Bus benchmark (issue 2): service write → outbox → relay → RabbitMQ → consumer with inbox.

Run against the machine's PostgreSQL and RabbitMQ:

    .venv/bin/python bench/bus.py --events 20000
    .venv/bin/python bench/bus.py --phases latency --rate 200 --seconds 20   # c) only

Measured in one run, on one broker, each stage in its own process as in production (the API that
writes, the producing service's worker that relays, the consuming service's worker):

a) end to end: N `leads.lead.created` events written like an import (`--write-batch` leads and their
   events per transaction, ORM rows + `emit_many`; `--write-batch 1` is the API style, `emit`),
   relayed with publisher confirms and applied by an `EventConsumer` (inbox + a handler writing a
   row); from the first write to the last applied event;
b) raw kombu: the same number of the same message bodies, persistent, pipelined confirms in batches
   of the relay's size, into a quorum queue of the same kind, consumed with manual acks at the same
   prefetch; no database;
c) latency from commit to applied (after the consumer's commit) at a steady `--rate` events/s,
   written one per transaction like an API, for `--seconds`;
d) idle: the relay and the consumer alone, nothing written: database commits per second
   (`bench/idle.py` measures the whole platform idle: every worker, the import queue and the notice
   sender included).

Each figure is printed beside its aim, with the busy time and CPU of every stage so that the line
"limited by" is measured, not guessed. A throwaway database and a unique BUS_NAMESPACE are created
for the run and removed at the end.
"""
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where a sibling benchmark's module name can
# shadow the standard library: take it off, and
# put the project root on instead.
BENCH_DIR, ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import math  # noqa: E402
import multiprocessing as mp  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime  # noqa: E402
from multiprocessing.synchronize import Event as MpEvent  # noqa: E402
from typing import Any  # noqa: E402

from kombu import Producer  # noqa: E402
from sqlalchemy import String, event, select, text  # noqa: E402
from sqlalchemy.orm import Mapped, Session, mapped_column  # noqa: E402

from shared.bus.consumer import Applier, EventConsumer, EventHandlers  # noqa: E402
from shared.bus.outbox import emit, emit_many, install_outbox  # noqa: E402
from shared.bus.publisher import OutgoingMessage, Publisher  # noqa: E402
from shared.bus.relay import LISTEN_FALLBACK_POLL, Relay  # noqa: E402
from shared.bus.tables import bus_tables, known_groups_of  # noqa: E402
from shared.bus.topology import (  # noqa: E402
    ConsumerSpec,
    connect,
    dead_letter_exchange,
    declare,
    events_exchange,
)
from shared.db import Database, id_column, make_base, make_engine, new_id, utcnow  # noqa: E402
from shared.events import Event  # noqa: E402
from shared.tenancy import Scope, Scoped, StoreScoped  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
#: BENCH_PREFIX: the throwaway database's and bus namespace's prefix (a machine shared by several runs)
PREFIX = os.environ.get("BENCH_PREFIX", "")
GROUP, BRAND, STORE, USER = "bench-group", "bench-brand", "bench-store", "bench-consultant"
EVENT_TYPE = "leads.lead.created"
RAW_KEY = "bench.raw.message"
BENCH_SPEC = ConsumerSpec("bench", (EVENT_TYPE,))
RAW_SPEC = ConsumerSpec("raw", (RAW_KEY,))

# --- the throwaway schema: a business row, what the consumer's handler writes, outbox and inbox ---

Base = make_base()


class BenchLead(Base, StoreScoped):
    """The business row of the "service write" (a lead, as the leads service would insert)."""

    __tablename__ = "bench_lead"
    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime]


class BenchApplied(Base, Scoped):
    """The consumer's effect: one row per applied event, stamped by the handler."""

    __tablename__ = "bench_applied"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(36))
    applied_at: Mapped[datetime]


OUTBOX, INBOX = bus_tables(Base.metadata)
MODELS = [BenchLead, BenchApplied]
WRITER_SCOPE = Scope(group_id=GROUP, store_ids=frozenset({STORE}), user_id=USER, role="sales_consultant")


def people(n: int = 500) -> list[tuple[str, str]]:
    """Names (Faker zh_CN) and valid E.164 mobile numbers from the project's generator, made before any timing
    starts."""
    from crm.datagen import People

    people = People(2026)
    return [(people.name(), people.e164()) for _ in range(n)]


def lead_event(lead: BenchLead) -> Event:
    return Event(
        type=EVENT_TYPE,
        data={"lead_id": lead.id, "name": lead.name, "phone": lead.phone, "source": lead.source, "level": "H"},
        group_id=GROUP,
        brand_id=BRAND,
        store_id=STORE,
        actor=USER,
    )


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


# --- stage 1: the service write ---


def writer_proc(db_url: str, n: int, batch: int, rate: float, writers: int, k: int, ready: MpEvent, go: MpEvent,
                start_at: Any, out: mp.Queue, record: bool) -> None:
    """Producer `k` of `writers`: insert leads and emit their events, `batch` per transaction, taking every
    `writers`-th transaction of the run's schedule (transaction j at `start_at` + j * batch / rate, or as
    fast as it can with no rate). Several producers commit concurrently, as an API's workers do: one
    producer waits for each commit (its fsync) before the next and cannot keep 200 transactions a second
    on a busy machine; each event is still its own business row and outbox row, committed on its own."""
    db = Database(db_url, MODELS)
    install_outbox(db.factory, OUTBOX)
    pool = people()
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    commits: list[tuple[str, float]] = []
    ready.set()
    go.wait()
    cpu0, t0, busy, late = cpu_seconds(), start_at.value, 0.0, 0.0
    for j in range(k, math.ceil(n / batch), writers):
        start = j * batch
        if rate:
            delay = t0 + start / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            late = max(late, -delay)
        k_rows = min(batch, n - start)
        began = time.perf_counter()
        with db.session(WRITER_SCOPE) as s:
            leads = []
            for i in range(start, start + k_rows):
                name, phone = pool[i % len(pool)]
                leads.append(BenchLead(id=new_id(), group_id=GROUP, store_id=STORE, name=name, phone=phone,
                                       source="walk_in", created_at=utcnow()))
            s.add_all(leads)
            events = [lead_event(lead) for lead in leads]
            if k_rows == 1:
                emit(s, events[0])
            else:
                emit_many(s, events)
        committed = time.time()
        busy += time.perf_counter() - began
        if record:
            commits.extend((ev.id, committed) for ev in events)
    out.put({"role": "writer", "start": t0, "end": time.time(), "busy": busy, "cpu": cpu_seconds() - cpu0,
             "commits": commits, "late": late})


def merge_writers(parts: list[dict]) -> dict:
    """The producers' reports as one: the run's first start and last end, busy and CPU summed, the
    latest any transaction began after its scheduled time."""
    return {"role": "writer", "start": min(p["start"] for p in parts), "end": max(p["end"] for p in parts),
            "busy": sum(p["busy"] for p in parts), "cpu": sum(p["cpu"] for p in parts),
            "commits": [c for p in parts for c in p["commits"]], "late": max(p["late"] for p in parts),
            "writers": len(parts)}


# --- stage 2: the relay (the producing service's worker) ---


class TimedPublisher(Publisher):
    """The shared publisher, timing publish + confirm wait."""

    busy = 0.0

    def publish_batch(self, messages: list[OutgoingMessage], exchange=None) -> None:
        began = time.perf_counter()
        try:
            super().publish_batch(messages, exchange)
        finally:
            self.busy += time.perf_counter() - began


class TimedRelay(Relay):
    """The shared relay, timing the batches that found rows."""

    busy = 0.0
    batches = 0
    rows = 0

    def run_once(self) -> int:
        began = time.perf_counter()
        n = super().run_once()
        if n:
            self.busy += time.perf_counter() - began
            self.batches += 1
            self.rows += n
        return n


def relay_proc(db_url: str, amqp_url: str, batch: int, ready: MpEvent, stop: MpEvent, out: mp.Queue) -> None:
    """Run the shared Relay until `stop`; report its busy time."""
    publisher = TimedPublisher(amqp_url)
    publisher._ensure()  # connect before the clock starts, as a long-running worker would be
    relay = TimedRelay(make_engine(db_url), OUTBOX, publisher, batch=batch)
    with relay.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    threading.Thread(target=lambda: (stop.wait(), relay.stop()), daemon=True).start()
    cpu0 = cpu_seconds()
    ready.set()
    relay.run_forever()
    out.put({"role": "relay", "busy": relay.busy, "publish": publisher.busy, "batches": relay.batches,
             "rows": relay.rows, "cpu": cpu_seconds() - cpu0})


# --- stage 3: the consumer (the consuming service's worker) ---


class TimedApplier(Applier):
    """The shared applier, timing each unit of work (inbox check, inbox row, handler, commit)."""

    busy = 0.0

    def apply(self, ev: Event) -> bool:
        began = time.perf_counter()
        try:
            return super().apply(ev)
        finally:
            self.busy += time.perf_counter() - began


class TimedConsumer(EventConsumer):
    """The shared consumer, counting messages in shared memory for the parent to watch."""

    busy = 0.0
    flushes = 0
    count: Any = None
    last: Any = None

    def flush(self) -> None:
        n = len(self.pending)
        began = time.perf_counter()
        super().flush()
        self.busy += time.perf_counter() - began
        self.flushes += 1
        self.count.value += n
        self.last.value = time.time()


def consumer_proc(db_url: str, amqp_url: str, kind: str, prefetch: int, ready: MpEvent, stop: MpEvent,
                  count: Any, last: Any, out: mp.Queue, record: bool) -> None:
    """Run an EventConsumer with a trivial handler until `stop`; report busy time and apply times."""
    db = Database(db_url, MODELS)
    applied_at: list[tuple[str, float]] = []

    @event.listens_for(db.factory, "after_commit")
    def _stamp(session: Session) -> None:
        ids = session.info.pop("bench_ids", None)
        if ids and record:
            now = time.time()
            applied_at.extend((i, now) for i in ids)

    handlers = EventHandlers("bench")

    @handlers.on(EVENT_TYPE)
    def on_lead_created(s: Session, ev: Event) -> None:
        s.add(BenchApplied(group_id=ev.group_id, event_id=str(ev.id), lead_id=ev.data["lead_id"],
                           applied_at=utcnow()))
        s.info.setdefault("bench_ids", []).append(str(ev.id))

    applier = TimedApplier(db, INBOX, handlers)
    batching = {k: float(os.environ[f"BENCH_CONSUMER_{k.upper()}"]) for k in ("linger", "hold")
                if os.environ.get(f"BENCH_CONSUMER_{k.upper()}")}  # --linger/--hold: another batching to compare
    consumer = TimedConsumer(amqp_url, applier, prefetch=prefetch, **batching)
    consumer.count, consumer.last = count, last
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))

    def watch() -> None:
        consumer.ready.wait()
        ready.set()
        stop.wait()
        consumer.should_stop = True

    threading.Thread(target=watch, daemon=True).start()
    cpu0 = cpu_seconds()
    consumer.run()
    consumer.stop()
    out.put({"role": "consumer", "busy": consumer.busy, "apply": applier.busy, "applied": consumer.applied,
             "batches": consumer.flushes,
             "cpu": cpu_seconds() - cpu0, "applied_at": applied_at})


# --- raw kombu, same broker, same guarantees, no database ---


def message_bodies(n: int) -> list[tuple[str, str]]:
    """(message id, JSON body) pairs shaped exactly like the relay's messages."""
    import json

    pool = people()
    out = []
    for i in range(n):
        name, phone = pool[i % len(pool)]
        lead = BenchLead(id=new_id(), name=name, phone=phone, source="walk_in")
        ev = lead_event(lead)
        out.append((ev.id, json.dumps(ev.to_message(), ensure_ascii=False, separators=(",", ":"))))
    return out


def raw_publisher_proc(amqp_url: str, n: int, batch: int, ready: MpEvent, go: MpEvent, out: mp.Queue) -> None:
    """Publish persistently in confirm mode, `batch` in flight, then wait for their acks (as Publisher)."""
    bodies = message_bodies(n)
    conn = connect(amqp_url)
    ch = conn.channel()
    ch.confirm_select()
    acked = [0]
    ch.events["basic_ack"].add(lambda tag, multiple: acked.__setitem__(0, max(acked[0], tag)))
    producer = Producer(ch, exchange=events_exchange(), auto_declare=False)
    ready.set()
    go.wait()
    cpu0, t0, sent = cpu_seconds(), time.time(), 0
    for start in range(0, n, batch):
        for msg_id, body in bodies[start:start + batch]:
            producer.publish(body, routing_key=RAW_KEY, content_type="application/json",
                             content_encoding="utf-8", delivery_mode=2, message_id=msg_id, headers={})
            sent += 1
        while acked[0] < sent:
            try:
                conn.drain_events(timeout=1.0)
            except TimeoutError:
                continue
    out.put({"role": "raw-publisher", "start": t0, "end": time.time(), "cpu": cpu_seconds() - cpu0})
    conn.release()


def raw_consumer_proc(amqp_url: str, n: int, prefetch: int, ready: MpEvent, out: mp.Queue) -> None:
    """Consume `n` messages with manual acks at the given prefetch."""
    got = [0, 0.0]

    def on_message(body, message) -> None:
        message.ack()
        got[0] += 1
        got[1] = time.time()

    with connect(amqp_url) as conn:
        queue = RAW_SPEC.queue(amqp=True)
        with conn.Consumer([queue], callbacks=[on_message], accept=["json"], prefetch_count=prefetch):
            ready.set()
            cpu0, idle_since = cpu_seconds(), time.monotonic()
            while got[0] < n and time.monotonic() - idle_since < 60:
                try:
                    conn.drain_events(timeout=1.0)
                    idle_since = time.monotonic()
                except TimeoutError:
                    continue
    out.put({"role": "raw-consumer", "count": got[0], "end": got[1], "cpu": cpu_seconds() - cpu0})


# --- measuring the machine: CPU by process, to say what limits a phase ---


def _proc_cpu() -> dict[int, tuple[str, float]]:
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[str, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields_ = raw[raw.rindex(")") + 2:].split()
        out[int(entry.name)] = (comm, (int(fields_[11]) + int(fields_[12])) / tick)
    return out


def _machine_busy() -> tuple[float, float, float]:
    """Busy, stolen (by the hypervisor) and total CPU seconds of the machine so far."""
    user, nice, system, idle, iowait, irq, softirq, steal = (
        float(x) / os.sysconf("SC_CLK_TCK") for x in Path("/proc/stat").read_text().split()[1:9])
    busy = user + nice + system + irq + softirq
    return busy, steal, busy + steal + idle + iowait


@dataclass
class CpuMeter:
    """CPU seconds spent during a phase by PostgreSQL, RabbitMQ, the bench stages and the machine."""

    stages: dict[str, list[int]] = field(default_factory=dict)  # stage name -> its processes' pids
    _start: dict[int, tuple[str, float]] = field(default_factory=dict)
    _machine: tuple[float, float, float] = (0.0, 0.0, 0.0)
    _t: float = 0.0

    def start(self) -> None:
        self._start, self._machine, self._t = _proc_cpu(), _machine_busy(), time.monotonic()

    def stop(self) -> dict[str, float]:
        end, (busy1, steal1, total1), wall = _proc_cpu(), _machine_busy(), time.monotonic() - self._t
        busy0, steal0, total0 = self._machine
        groups = {"postgres": 0.0, "rabbitmq": 0.0}
        by_pid = {pid: name for name, pids in self.stages.items() for pid in pids}
        for name in self.stages:
            groups[name] = 0.0
        for pid, (comm, secs) in end.items():
            delta = secs - self._start.get(pid, (comm, 0.0))[1]
            if pid in by_pid:
                groups[by_pid[pid]] += delta
            elif comm == "postgres":
                groups["postgres"] += delta
            elif comm in ("beam.smp", "erl_child_setup", "epmd"):
                groups["rabbitmq"] += delta
        ncpu = os.cpu_count() or 1
        groups["other processes"] = max(0.0, (busy1 - busy0) - sum(groups.values()))
        groups["machine %"] = 100.0 * (busy1 - busy0) / max(total1 - total0, 1e-9)
        groups["steal %"] = 100.0 * (steal1 - steal0) / max(total1 - total0, 1e-9)
        groups["wall"] = wall
        groups["cores"] = float(ncpu)
        return groups


def cpu_line(cpu: dict[str, float]) -> str:
    wall = cpu["wall"]
    skip = ("machine %", "steal %", "wall", "cores")
    parts = [f"{k} {100 * v / wall:.0f}%" for k, v in cpu.items() if k not in skip]
    return (f"machine busy {cpu['machine %']:.0f}% of {cpu['cores']:.0f} cores (stolen by the host "
            f"{cpu['steal %']:.0f}%); per process (100% = one core): " + ", ".join(parts))


# --- the run ---


@dataclass
class Bench:
    """One run: a throwaway database and namespace, the three phases, then cleanup."""

    events: int
    write_batch: int
    relay_batch: int
    prefetch: int
    rate: float
    seconds: float
    consumer: str
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    ctx: Any = field(default_factory=lambda: mp.get_context("spawn"))

    @property
    def dbname(self) -> str:
        return f"{PREFIX}_bus_{self.suffix}" if PREFIX else f"crm_bench_bus_{self.suffix}"

    @property
    def db_url(self) -> str:
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.dbname

    def setup(self) -> None:
        os.environ["BUS_NAMESPACE"] = f"{PREFIX or 'bench'}{self.suffix}"
        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.dbname}"'))
        admin.dispose()
        engine = make_engine(self.db_url)
        Base.metadata.create_all(engine)
        with engine.begin() as conn:  # the group as identity.group.created makes it known (the tenant rule)
            conn.execute(known_groups_of(INBOX).insert().values(group_id=GROUP, known_at=utcnow()))
        engine.dispose()
        with connect(AMQP_URL) as conn:
            declare(conn, [BENCH_SPEC, RAW_SPEC])

    def teardown(self) -> None:
        try:
            with connect(AMQP_URL) as conn, conn.channel() as ch:
                for spec in (BENCH_SPEC, RAW_SPEC):
                    spec.queue(amqp=True)(ch).delete()
                    spec.dead_letter_queue()(ch).delete()
                events_exchange()(ch).delete()
                dead_letter_exchange()(ch).delete()
        finally:
            admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)'))
            admin.dispose()

    def _collect(self, out: mp.Queue, procs: list, roles: int) -> dict[str, list[dict]]:
        """The reports of `roles` processes, by role (the producers report one each)."""
        results: dict[str, list[dict]] = {}
        for _ in range(roles):
            r = out.get(timeout=120)
            results.setdefault(r["role"], []).append(r)
        for p in procs:
            p.join(timeout=30)
        return results

    def raw(self) -> dict[str, Any]:
        """Phase b: raw kombu publish + consume, concurrently, same guarantees."""
        out, go = self.ctx.Queue(), self.ctx.Event()
        cons_ready, pub_ready = self.ctx.Event(), self.ctx.Event()
        cons = self.ctx.Process(target=raw_consumer_proc,
                                args=(AMQP_URL, self.events, self.prefetch, cons_ready, out))
        pub = self.ctx.Process(target=raw_publisher_proc,
                               args=(AMQP_URL, self.events, self.relay_batch, pub_ready, go, out))
        cons.start()
        pub.start()
        if not (cons_ready.wait(120) and pub_ready.wait(120)):
            raise RuntimeError("raw publisher or consumer did not start")
        time.sleep(0.5)  # let start-up work settle before the clock starts
        meter = CpuMeter({"publisher": [pub.pid], "consumer": [cons.pid]})
        meter.start()
        go.set()
        res = {role: r[0] for role, r in self._collect(out, [cons, pub], 2).items()}
        cpu = meter.stop()
        # both have exited by now: take the CPU they reported themselves
        cpu["publisher"], cpu["consumer"] = res["raw-publisher"]["cpu"], res["raw-consumer"]["cpu"]
        cpu["other processes"] = max(0.0, cpu["other processes"] - cpu["publisher"] - cpu["consumer"])
        rc = res["raw-consumer"]
        if rc["count"] != self.events:
            raise RuntimeError(f"raw consumer got {rc['count']} of {self.events}")
        secs = rc["end"] - res["raw-publisher"]["start"]
        return {"rate": self.events / secs, "secs": secs, "cpu": cpu,
                "publish_rate": self.events / (res["raw-publisher"]["end"] - res["raw-publisher"]["start"])}

    def pipeline(self, n: int, batch: int, rate: float, record: bool, writers: int = 1) -> dict[str, Any]:
        """Phases a and c: `writers` producer processes, relay and consumer; from first write to last applied."""
        ctx = self.ctx
        out, go, stop = ctx.Queue(), ctx.Event(), ctx.Event()
        relay_ready, cons_ready = ctx.Event(), ctx.Event()
        writer_ready = [ctx.Event() for _ in range(writers)]
        count, last = ctx.Value("q", 0, lock=False), ctx.Value("d", 0.0, lock=False)
        start_at = ctx.Value("d", 0.0, lock=False)
        procs = {
            "consumer": ctx.Process(target=consumer_proc, args=(self.db_url, AMQP_URL, self.consumer, self.prefetch,
                                                                cons_ready, stop, count, last, out, record)),
            "relay": ctx.Process(target=relay_proc, args=(self.db_url, AMQP_URL, self.relay_batch, relay_ready,
                                                          stop, out)),
        }
        producers = [ctx.Process(target=writer_proc, args=(self.db_url, n, batch, rate, writers, k, writer_ready[k],
                                                           go, start_at, out, record)) for k in range(writers)]
        for p in [*procs.values(), *producers]:
            p.start()
        if not all(e.wait(120) for e in (cons_ready, relay_ready, *writer_ready)):
            raise RuntimeError("writer, relay or consumer did not start")
        time.sleep(0.5)  # let start-up work settle before the clock starts
        meter = CpuMeter({**{k: [p.pid] for k, p in procs.items()}, "writer": [p.pid for p in producers]})
        meter.start()
        start_at.value = time.time()
        go.set()
        deadline = time.monotonic() + max(120.0, n / 50)
        while count.value < n:
            if time.monotonic() > deadline:
                stop.set()
                raise RuntimeError(f"only {count.value} of {n} events applied before the deadline")
            time.sleep(0.01)
        cpu = meter.stop()
        stop.set()
        res = self._collect(out, [*procs.values(), *producers], 2 + writers)
        w, rl, c = merge_writers(res["writer"]), res["relay"][0], res["consumer"][0]
        secs = last.value - w["start"]
        result = {"rate": n / secs, "secs": secs, "cpu": cpu, "writer": w, "relay": rl, "consumer": c,
                  "stages": {"writer": w["busy"] / writers, "relay": rl["busy"], "consumer": c["busy"]}}
        if record:
            commits = dict(w["commits"])
            applied = dict(c["applied_at"])
            engine = make_engine(self.db_url)
            with engine.connect() as conn:
                sent = {r.event_id: r.sent_at.timestamp() for r in conn.execute(
                    select(OUTBOX.c.event_id, OUTBOX.c.sent_at).where(OUTBOX.c.event_id.in_(list(commits))))}
            engine.dispose()
            both = [i for i in commits if i in applied and i in sent]
            result["latency"] = sorted(applied[i] - commits[i] for i in both)
            result["to_sent"] = sorted(sent[i] - commits[i] for i in both)
            result["sent_to_applied"] = sorted(applied[i] - sent[i] for i in both)
        return result


    def idle(self, seconds: float) -> dict[str, Any]:
        """Phase d: the relay and the consumer running with nothing to do: database commits and CPU."""
        ctx = self.ctx
        out, stop = ctx.Queue(), ctx.Event()
        relay_ready, cons_ready = ctx.Event(), ctx.Event()
        count, last = ctx.Value("q", 0, lock=False), ctx.Value("d", 0.0, lock=False)
        procs = {
            "consumer": ctx.Process(target=consumer_proc, args=(self.db_url, AMQP_URL, self.consumer, self.prefetch,
                                                                cons_ready, stop, count, last, out, False)),
            "relay": ctx.Process(target=relay_proc, args=(self.db_url, AMQP_URL, self.relay_batch, relay_ready,
                                                          stop, out)),
        }
        for p in procs.values():
            p.start()
        if not (cons_ready.wait(120) and relay_ready.wait(120)):
            raise RuntimeError("relay or consumer did not start")
        engine = make_engine(PG_ADMIN_URL)

        def counts() -> tuple[int, int]:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_stat_clear_snapshot()"))
                row = conn.execute(text("SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = :d"),
                                   {"d": self.dbname}).one()
                return int(row[0]), int(row[1])

        def commits() -> int:
            return counts()[0]

        # past start-up (the relay's first look at the outbox, LISTEN set up) and past the time an idle
        # backend may keep its counts before reporting them (PGSTAT_IDLE_INTERVAL, 10 s): start-up's
        # and the previous phase's commits would otherwise be counted as idle ones. Measured: with a
        # 2 s wait, 0.25-0.33 commits/s "idle", all of them start-up's, reported 10 s late
        still, last, deadline = time.monotonic(), commits(), time.monotonic() + 120
        while time.monotonic() - still < STATS_FLUSH and time.monotonic() < deadline:
            time.sleep(0.5)
            now = commits()
            if now != last:
                still, last = time.monotonic(), now
        meter = CpuMeter({k: [p.pid] for k, p in procs.items()})
        c0, r0 = counts()
        meter.start()
        time.sleep(seconds)
        cpu = meter.stop()
        time.sleep(STATS_FLUSH)  # the window's last transactions reach the statistics
        c1, r1 = counts()
        engine.dispose()
        stop.set()
        self._collect(out, list(procs.values()), 2)
        return {"commits_per_s": (c1 - c0) / seconds, "rollbacks_per_s": (r1 - r0) / seconds, "cpu": cpu,
                "seconds": seconds}


STATS_FLUSH = 12.0  # s: PostgreSQL's PGSTAT_IDLE_INTERVAL (10 s), with a margin
#: an idle relay's fallback look (once per LISTEN_FALLBACK_POLL) is one transaction on the connection it
#: keeps, ended by ROLLBACK: no commit (before, 2 per look: the pool's pre-ping and the look)
IDLE_AIM = 0.0


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return values[min(len(values) - 1, max(0, math.ceil(p / 100 * len(values)) - 1))]


def limit_line(res: dict[str, Any]) -> str:
    """Name the stage that was busy the longest share of the run, with its measured split."""
    secs = res["secs"]
    share = {k: v / secs for k, v in res["stages"].items()}
    top = max(share, key=share.get)
    detail = ", ".join(f"{k} busy {100 * v:.0f}%" for k, v in share.items())
    rl, c = res["relay"], res["consumer"]
    notes = {
        "writer": "the service write (ORM rows + outbox insert + commit)",
        "relay": f"the relay: {1000 * rl['busy'] / max(rl['batches'], 1):.1f} ms per batch of "
                 f"{rl['rows'] / max(rl['batches'], 1):.0f}, of which publish+confirm "
                 f"{100 * rl['publish'] / max(rl['busy'], 1e-9):.0f}%",
        "consumer": f"the consumer: {1000 * c['busy'] / max(res['consumer']['applied'], 1):.2f} ms per event, "
                    f"of which the database unit of work {100 * c['apply'] / max(c['busy'], 1e-9):.0f}%",
    }
    return f"limited by {notes[top]} ({detail} of the {secs:.1f} s)"


def latency_limit(to_sent: list[float], delivered: list[float], apply_secs: float) -> str:
    """Name the larger part of the p95 latency: waiting for the relay, or delivery and apply."""
    if pct(to_sent, 95) >= pct(delivered, 95):
        return (f"limited by the relay: p95 {pct(to_sent, 95):.0f} ms from commit to sent (woken by NOTIFY at "
                f"commit; each wake-up is a transaction that reads, publishes with confirms and marks rows sent)")
    return (f"limited by delivery and apply: p95 {pct(delivered, 95):.0f} ms from sent to applied (the consumer "
            f"applies what has arrived in one transaction per batch, {1000 * apply_secs:.1f} ms per event)")


def e2e_report(e2e: dict[str, Any], raw_rate: float, n: int, label: str) -> str:
    """Phase a's lines: the rate and the ratio beside their aims, stage rates, CPU and the limit."""
    ratio = e2e["rate"] / raw_rate
    w, rl, c = e2e["writer"], e2e["relay"], e2e["consumer"]
    return (
        f"\na) end to end, {label}:\n"
        f"   {e2e['rate']:8.0f} events/s   aim >= 1000/s   {'OK' if e2e['rate'] >= 1000 else 'BELOW AIM'}"
        f"  ({e2e['secs']:.2f} s from first write to last applied)\n"
        f"   ratio to raw kombu {ratio:.2f}   aim >= 0.33   {'OK' if ratio >= 1 / 3 else 'BELOW AIM'}\n"
        f"   each stage alone (events / its busy time): writer {n / max(w['busy'], 1e-9):.0f}/s, "
        f"relay {rl['rows'] / max(rl['busy'], 1e-9):.0f}/s ({rl['batches']} batches), "
        f"consumer {c['applied'] / max(c['busy'], 1e-9):.0f}/s ({c['batches']} batches of "
        f"{n / max(c['batches'], 1):.0f} on average)\n"
        f"   {cpu_line(e2e['cpu'])}\n   {limit_line(e2e)}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=20000, help="events for the throughput phases")
    ap.add_argument("--write-batch", type=int, default=100,
                    help="leads+events per write transaction in phase a (1 = API style)")
    ap.add_argument("--relay-batch", type=int, default=500, help="relay batch (the shared default is 500)")
    ap.add_argument("--prefetch", type=int, default=100, help="consumer prefetch (the shared default is 100)")
    ap.add_argument("--rate", type=float, default=200.0, help="steady rate for the latency phase")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the latency phase")
    ap.add_argument("--writers", type=int, default=4,
                    help="producer processes sharing the latency phase's schedule (an API's workers; one "
                         "producer waits out each commit before the next and falls behind 200/s when busy)")
    ap.add_argument("--idle-seconds", type=float, default=60.0,
                    help="length of the idle phase (two fallback polls of the relay)")
    ap.add_argument("--phases", default="throughput,latency,idle",
                    help="which to run, of throughput (a and b), latency (c), idle (d)")
    ap.add_argument("--linger", type=float, help="the consumer's linger, s (default the shared one: 0.001)")
    ap.add_argument("--hold", type=float, help="the consumer's hold, s (default the shared one: 0.01); "
                    "--linger 0.005 --hold 1e9 is the batching before issue 12 (flush after 5 ms of quiet)")
    args = ap.parse_args(argv)
    phases = set(args.phases.split(","))
    for name in ("linger", "hold"):
        if getattr(args, name) is not None:
            os.environ[f"BENCH_CONSUMER_{name.upper()}"] = repr(getattr(args, name))
    bench = Bench(args.events, args.write_batch, args.relay_batch, args.prefetch, args.rate, args.seconds,
                  "shared")
    n = args.events
    print(f"bus benchmark: {n} events, namespace {PREFIX or 'bench'}{bench.suffix}, database {bench.dbname}, "
          f"{os.cpu_count()} cores, prefetch {args.prefetch}, relay batch {args.relay_batch}, consumer linger "
          f"{args.linger if args.linger is not None else 'shared'}, hold "
          f"{args.hold if args.hold is not None else 'shared'}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    bench.setup()
    summary: list[str] = []
    try:
        if "throughput" in phases:
            raw = bench.raw()
            print(f"\nb) raw kombu (persistent, pipelined confirms in batches of {args.relay_batch}, quorum queue, "
                  f"manual acks, prefetch {args.prefetch}; publisher and consumer in parallel):\n"
                  f"   {raw['rate']:8.0f} events/s publish+consume ({raw['secs']:.2f} s; publish alone "
                  f"{raw['publish_rate']:.0f}/s)\n   {cpu_line(raw['cpu'])}", flush=True)
            summary.append(f"raw kombu publish+consume            {raw['rate']:8.0f} events/s   (the reference)")

            style = "API style: 1 lead + emit per transaction" if args.write_batch == 1 else \
                f"import style: {args.write_batch} leads + emit_many per transaction"
            e2e = bench.pipeline(n, args.write_batch, 0.0, record=False)
            print(e2e_report(e2e, raw["rate"], n, f"shared EventConsumer ({style})"), flush=True)
            summary.append(f"end to end, shared consumer          {e2e['rate']:8.0f} events/s   aim >= 1000   "
                           f"ratio {e2e['rate'] / raw['rate']:.2f} (aim >= 0.33)")

        if "latency" in phases:
            m = int(args.rate * args.seconds)
            lat = bench.pipeline(m, 1, args.rate, record=True, writers=args.writers)
            if len(lat["latency"]) != m:
                raise RuntimeError(f"latency: matched {len(lat['latency'])} of {m} events")
            ms = [1000 * x for x in lat["latency"]]
            to_sent = [1000 * x for x in lat["to_sent"]]
            delivered = [1000 * x for x in lat["sent_to_applied"]]
            p95 = pct(ms, 95)
            rl, w = lat["relay"], lat["writer"]
            print(f"\nc) commit -> applied at a steady {args.rate:.0f} events/s for {args.seconds:.0f} s "
                  f"({m} events, API style: one lead + emit per transaction, {w['writers']} producer processes; "
                  f"shared consumer):\n"
                  f"   p95 {p95:7.1f} ms   aim < 50 ms   {'OK' if p95 < 50 else 'ABOVE AIM'}\n"
                  f"   median {statistics.median(ms):.1f} ms, p99 {pct(ms, 99):.1f} ms, max {ms[-1]:.1f} ms; "
                  f"achieved {lat['rate']:.0f} events/s applied (producers committed {m / (w['end'] - w['start']):.0f}/s, "
                  f"at most {1000 * w['late']:.0f} ms behind their schedule)\n"
                  f"   split: commit -> relay marked sent: median {statistics.median(to_sent):.1f} ms, "
                  f"p95 {pct(to_sent, 95):.1f} ms; sent -> applied: median {statistics.median(delivered):.1f} ms, "
                  f"p95 {pct(delivered, 95):.1f} ms\n"
                  f"   relay: {rl['batches']} batches of {rl['rows'] / max(rl['batches'], 1):.1f} rows on average, "
                  f"{1000 * rl['busy'] / max(rl['batches'], 1):.1f} ms each; consumer "
                  f"{1000 * lat['consumer']['busy'] / m:.2f} ms per event, {lat['consumer']['batches']} batches of "
                  f"{m / max(lat['consumer']['batches'], 1):.1f} on average\n"
                  f"   {cpu_line(lat['cpu'])}\n"
                  f"   CPU per event (the stages' own processes; less dependent on the machine's load than the "
                  f"latency): " + ", ".join(f"{k} {1000 * lat['cpu'][k] / m:.2f} ms" for k in ("writer", "relay", "consumer"))
                  + "\n"
                  f"   {latency_limit(to_sent, delivered, lat['consumer']['busy'] / m)}", flush=True)
            summary.append(f"commit -> applied at {args.rate:.0f}/s, p95         {p95:8.1f} ms         aim < 50 ms   "
                           f"(median {statistics.median(ms):.1f} ms)")

        if "idle" in phases:
            idle = bench.idle(args.idle_seconds)
            print(f"\nd) idle for {idle['seconds']:.0f} s (relay and consumer running, nothing written):\n"
                  f"   {idle['commits_per_s']:6.3f} database commits/s   aim: none (the relay's fallback look, "
                  f"once per {LISTEN_FALLBACK_POLL:.0f} s, ends with ROLLBACK; {idle['rollbacks_per_s']:.3f} "
                  f"rollbacks/s)\n   {cpu_line(idle['cpu'])}",
                  flush=True)
            summary.append(f"idle database commits                {idle['commits_per_s']:8.3f} /s         "
                           f"aim: {IDLE_AIM:.0f} (the relay's look every {LISTEN_FALLBACK_POLL:.0f} s ends with ROLLBACK)")
    finally:
        bench.teardown()
    print("\nsummary\n   " + "\n   ".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
