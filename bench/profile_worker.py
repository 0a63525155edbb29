"""`crm worker <service>` with its consumer thread under cProfile (issue 16), for `bench/pipeline.py --profile`.

    .venv/bin/python bench/profile_worker.py analytics /tmp/analytics.prof   # with the worker's environment

The same worker as `crm worker` (relay, consumer, daily jobs, queued commands, in their threads);
only the consumer's thread is profiled (cProfile profiles the thread that enables it), by that thread's
CPU time (`time.thread_time`: waiting for the broker or the database counts nothing, as in the CPU per
lead the pipeline bench reads from /proc). On SIGTERM the worker stops and the profile is written to the
given file (`python -m pstats FILE` reads it).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import cProfile  # noqa: E402
import gc  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402


def main(service: str, out: str) -> None:
    from crm.cli import runtime_of
    from shared.service import Worker

    rt = runtime_of(service)
    rt.declare_topology()
    gc.collect()
    gc.freeze()  # as `crm worker`
    worker = Worker(rt)
    prof = cProfile.Profile(time.thread_time)
    consumer = worker.consumer
    assert consumer is not None, f"{service} has no consumer"
    run = consumer.run

    def profiled_run(*args, **kwargs):
        prof.enable()
        try:
            return run(*args, **kwargs)
        finally:
            prof.disable()

    consumer.run = profiled_run  # type: ignore[method-assign]
    worker.start()
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    print(f"{service} worker running (consumer profiled)", flush=True)
    while not stop["now"] and all(t.is_alive() for t in worker.threads):
        time.sleep(0.2)
    worker.stop()
    prof.dump_stats(out)
    print(f"profile written to {out}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
