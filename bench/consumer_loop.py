"""The timed loop of the in-process consumer benches (`bench/analytics_consumer.py`,
`bench/identity_consumer.py`): what `EventConsumer.flush` does with each delivery, without the broker."""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from pathlib import Path

from shared.bus.consumer import Applier
from shared.events import Event


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
