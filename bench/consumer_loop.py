"""The timed loop of the in-process consumer benches (`bench/analytics_consumer.py`,
`bench/identity_consumer.py`): what `EventConsumer.flush` does with each delivery, without the broker."""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from shared.bus.consumer import Applier
from shared.events import Event
from tests.conftest import PG_ADMIN_URL, PG_OWNER, _ensure_role, _pg_database

#: the issue's aim is 10 ms of CPU per lead across every process, for about 3 events per lead
LEAD_AIM = f"the issue's aim, 10 ms per lead of about 3 events across every process: {10_000 / 3:,.0f} µs per event"


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database on 127.0.0.1:5432, made as the tests make theirs, dropped after."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        _ensure_role(conn, PG_OWNER)
    database = _pg_database(PG_ADMIN_URL)
    try:
        yield next(database)
    finally:
        next(database, None)


def timed_deliveries(applier: Applier, bodies: list[str], batch: int, profile: int = 0) -> float:
    """Decode, validate and apply `bodies` in deliveries of `batch`; returns this process's CPU seconds.
    With `profile`, the run is under cProfile and its `profile` costliest functions are printed after."""
    prof = cProfile.Profile() if profile else None
    t0 = time.process_time()
    if prof:
        prof.enable()
    for i in range(0, len(bodies), batch):
        applier.apply_batch([Event.from_message(json.loads(b)) for b in bodies[i:i + batch]])
    if prof:
        prof.disable()
    cpu = time.process_time() - t0
    if prof:
        pstats.Stats(prof).sort_stats("tottime").print_stats(profile)
    return cpu


def report(events: int, batch: int, cpu: float, profile: int, aim: str, made: str = "") -> None:
    """The one line both benches print: CPU per event of this process beside the aim, and the load."""
    per = cpu / events * 1e6
    print(f"{events} events in deliveries of {batch}: {per:.0f} µs of CPU per event in this process "
          f"({1e6 / per:,.0f} events/s on one core; {aim}); load average {load_average()}"
          + (" (under cProfile)" if profile else "") + (f"; {made}" if made else ""))


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def loop_options(ap: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options both benches take: the delivery size and cProfile."""
    ap.add_argument("--batch", type=int, default=100, help="events per delivery (the consumer's prefetch)")
    ap.add_argument("--profile", type=int, default=0, help="print this many functions of a cProfile run")
    return ap
