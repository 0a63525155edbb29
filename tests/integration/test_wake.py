"""Workers wake on the commit that gives them work (`shared.wake`), not on a poll: PostgreSQL's
LISTEN/NOTIFY in production, the in-process signal on embedded SQLite; the fallback poll is made an
hour long here, so work done within the test's deadline was woken by the commit."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from shared.service import Commands
from shared.wake import Wakeup, notify
from tests.conftest import wait_until

CHANNEL = "crm_test_wake"
HOUR = 3600.0


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request, tmp_path):
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'wake.sqlite'}"
    eng = create_engine(url)
    yield eng
    eng.dispose()


def commit_notice(engine, channel: str = CHANNEL, rollback: bool = False) -> None:
    with Session(engine) as s:
        s.execute(text("SELECT 1"))
        notify(s, channel)
        if rollback:
            s.rollback()
        else:
            s.commit()


def test_a_commit_wakes_the_waiter_and_a_rollback_does_not(engine):
    w = Wakeup(engine, CHANNEL)
    w.fallback = HOUR
    try:
        if w.listen:
            assert w.wait(30)  # the first wait connects and LISTENs, then says "look once"
        commit_notice(engine, rollback=True)
        assert not w.wait(1.0)  # a rolled-back transaction gives no work: nothing within a second
        commit_notice(engine, channel="crm_test_other")  # another channel's commit is not ours
        assert not w.wait(1.0)
        done = threading.Timer(0.2, commit_notice, (engine,))
        done.start()
        assert w.wait(60)  # woken by the commit, long before the hour's poll
        done.join()
    finally:
        w.close()


class Queue:
    """A work queue whose work is "queued" by the test before its commit notifies the channel."""

    channel = CHANNEL

    def __init__(self):
        self.left, self.done, self.looks = 0, 0, 0

    def run_once(self) -> bool:
        self.looks += 1
        if not self.left:
            return False
        self.left, self.done = self.left - 1, self.done + 1
        return True

    def due_in(self) -> float | None:
        return None


def test_the_workers_command_loop_takes_queued_work_at_the_commit_not_at_the_poll(engine):
    queue = Queue()
    commands = Commands("test", [queue], engine)
    commands.wakeup.fallback = HOUR
    thread = threading.Thread(target=commands.run_forever, daemon=True)
    thread.start()
    try:
        # PostgreSQL: the loop looks, connects its LISTEN and looks once more; then it sleeps
        assert wait_until(lambda: queue.looks >= (2 if commands.wakeup.listen else 1), 30)
        for n in (1, 2):
            queue.left += 1  # as an import's row, written in the transaction that notifies
            commit_notice(engine)
            assert wait_until(lambda n=n: queue.done == n, 60)  # an hour's poll could not have done it
    finally:
        commands.stop()
        thread.join(10)
    assert not thread.is_alive()


class DueQueue:
    """Work that falls due at a time the queue knows (a notice's retry), with no commit to wake it."""

    channel = CHANNEL

    def __init__(self, seconds: float):
        self.at, self.done = time.monotonic() + seconds, 0

    def run_once(self) -> bool:
        if self.done or time.monotonic() < self.at:
            return False
        self.done = 1
        return True

    def due_in(self) -> float | None:
        return None if self.done else max(0.0, self.at - time.monotonic())


def test_the_command_loop_wakes_for_the_earliest_due_time_a_queue_names(engine):
    queue = DueQueue(0.5)
    commands = Commands("test", [queue], engine)
    commands.wakeup.fallback = HOUR
    thread = threading.Thread(target=commands.run_forever, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: queue.done == 1, 60)  # due in half a second: taken with no commit, no poll
    finally:
        commands.stop()
        thread.join(10)
    assert not thread.is_alive()
