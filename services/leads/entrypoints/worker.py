"""The leads worker's queued commands: CSV imports (`handlers.importer`), run a chunk at a time.

`crm worker leads` (and, in embedded mode, the platform's leads worker thread) calls `run_once` in a
loop (`shared.service.Commands`): it goes on with the job it holds, or claims the oldest queued one,
or one whose worker stopped (its lease ran out), and commits one chunk. With nothing to do it sleeps
until a commit queues an import (`importer.IMPORT_CHANNEL`, `shared.wake`) or the fallback poll,
which also finds a job whose worker stopped once its lease has run out. A worker that stops keeps
nothing that matters in memory: the next one resumes from the job's committed row count.
"""
from __future__ import annotations

from datetime import timedelta

from shared.db import Database, new_id
from shared.tenancy import Scope

from ..handlers import importer


class ImportQueue:
    channel = importer.IMPORT_CHANNEL

    def __init__(self, db: Database, worker_id: str | None = None, batch: int | None = None,
                 lease: timedelta | None = None):
        self.db = db
        self.worker_id = worker_id or new_id()
        self.batch = batch
        self.lease = lease or importer.LEASE
        self.run: importer.Run | None = None

    def run_once(self) -> bool:
        """One chunk of one import; False if there was nothing to do."""
        held = self.run.job_id if self.run is not None else None
        with self.db.reading(Scope.system()) as s:  # an idle poll: no SQLite write lock, no commit
            if importer.next_job(s, self.worker_id) is None:
                self.run = None
                return False
        with self.db.session(Scope.system()) as s:  # the queue spans every group's jobs
            taken = importer.claim(s, self.worker_id, self.lease, held)
            if taken is None and held is not None:  # another worker took it over
                self.run = None
                taken = importer.claim(s, self.worker_id, self.lease)
        if taken is None:
            return False
        self.step(*taken)
        return True

    def due_in(self) -> float | None:
        return None  # a queued import wakes the worker; a stopped worker's lease is left to the fallback poll

    def step(self, job_id: str, group_id: str) -> None:
        """Check and write the next chunk of a job this worker has claimed."""
        scope = Scope.system(group_id)
        try:
            if self.run is None or self.run.job_id != job_id:
                self.run = importer.open_run(self.db, scope, job_id)
                if self.run is None:  # the file could not be read: the job says why
                    return
            if not importer.step(self.db, self.run, self.worker_id, self.batch or importer.BATCH, self.lease):
                self.run = None
        except importer.LostClaim:
            self.run = None
        except Exception:
            self.run = None
            importer.give_up(self.db, scope, job_id)

    def drain(self) -> None:
        """Run every queued import to its end (benches, commands, tests)."""
        while self.run_once():
            pass
