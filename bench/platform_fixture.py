"""What one test module's embedded platform costs: migrated and seeded per module (before) against a copy of
one seeded folder (`tests.conftest.seeded_platform`), alternating, in one process; wall and CPU seconds.

    PYTHONPATH=. .venv/bin/python bench/platform_fixture.py [rounds]
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from crm.embedded import Platform
from tests.conftest import embedded_env, seeded_platform


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Folders:
    """Stands in for pytest's tmp_path_factory."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp())

    def mktemp(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=name, dir=self.base))


def per_module() -> Platform:
    pf = Platform(embedded_env(tempfile.mkdtemp())).prepare(seed=True).start()
    pf.wait_until_consumed()
    return pf


def main(rounds: int = 3) -> None:
    folders = Folders()
    seeded_platform(folders).stop()  # the once-per-run seeded folder, not counted
    for _ in range(rounds):
        for name, make in (("migrate+seed per module", per_module), ("copy of the seeded folder", lambda: seeded_platform(folders))):
            c, t = cpu(), time.perf_counter()
            make().stop()
            print(f"{name:26} wall {time.perf_counter() - t:6.1f} s  cpu {cpu() - c:5.2f} s", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
