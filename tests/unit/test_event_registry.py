"""The registry of payload schemas is loaded whole before any thread reads it."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_threads_asking_at_once_on_a_fresh_start_all_find_every_schema():
    """A worker's consumer and its relay or commands ask for schemas at once when it starts: none may find
    the registry half loaded (a good event would be dead-lettered as of an unknown type). A fresh
    interpreter per try, since the registry loads once per process."""
    code = textwrap.dedent("""
        import threading
        from shared.events import schema_for
        barrier, found = threading.Barrier(8), []
        def ask():
            barrier.wait()
            found.append(schema_for("analytics.replay.requested", 1) is not None)
        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(sum(found))
    """)
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert out.stdout.strip() == "8", out.stdout + out.stderr
