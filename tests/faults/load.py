"""A steady load: a few consultants, each in a thread, registering leads (and reading each one back),
signing orders and handing cars over through the HTTP API, as a showroom app would — with its retries.

Every create carries an Idempotency-Key, and a request that gets no answer (connection reset by a
killed worker) or a 503 (database unavailable) or 409 `idempotency_in_progress` is sent again with
the same key until it is answered: so the client knows exactly which leads were accepted, and the
server must not create one twice. A read is not retried on a 503: it must answer 200. `Ledger` keeps
what was accepted and every answer seen.
"""
from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter

import requests

from shared import clock

CONSULTANTS = ("sh-toyota-pd.sales1", "sh-lexus-xh.sales1", "hz-vw-xh.sales1", "sh-toyota-pd.sales2")
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q
RESOLVE = 120.0  # s: how long one create is retried before the client gives up on it
IN_PROGRESS = 15.0  # s: how long a 409 idempotency_in_progress is retried before the client looks elsewhere
TRANSIENT = (502, 503, 504)


class Ledger:
    """What the clients were told, over every load of a run (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.leads: set[str] = set()
        self.deliveries: set[str] = set()
        self.answers: Counter = Counter()  # "201", "503", "connection error", …
        self.unexpected: list[str] = []  # answers no retry explains (a 500, a 4xx)
        self.unresolved: list[str] = []  # creates never answered within RESOLVE
        # creates still told 409 idempotency_in_progress after IN_PROGRESS (none expected: the answer
        # commits with the create, `shared.idempotency`)
        self.in_progress: list[str] = []
        # a fault the server cannot hide from reads (a table missing): a 503 with Retry-After is waited out
        self.reads_may_wait = False

    def note(self, answer: str) -> None:
        with self.lock:
            self.answers[answer] += 1


class Load:
    """`start()` the consultants, `stop()` them: each finishes (and resolves) the create it is in."""

    def __init__(self, topo, ledger: Ledger, consultants=CONSULTANTS, deliver_every: int = 3, pause: float = 0.2):
        self.topo, self.ledger = topo, ledger
        self.consultants, self.deliver_every, self.pause = consultants, deliver_every, pause
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.created = 0  # leads accepted by this load
        self._lock = threading.Lock()

    def start(self) -> Load:
        for username in self.consultants:
            headers = self.topo.login(username)
            t = threading.Thread(target=self._work, args=(headers,), name=f"load-{username}", daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(RESOLVE * 3 + 30)
        assert not any(t.is_alive() for t in self.threads), "a load thread did not finish"

    def accepted_at_least(self, n: int):
        """For wait_until: this load has had `n` leads accepted."""
        return self.created >= n

    def _work(self, headers: dict) -> None:
        http = requests.Session()
        n = 0
        while not self.stopping.is_set():
            lead = self._create(http, "/leads/api/v1/leads", headers, {
                "name": "故障客户", "phone": f"+86 139{random.randrange(10**8):08d}", "source": "walk_in", "model": "凯美瑞"},
                (201,))
            if lead is not None:
                with self.ledger.lock:
                    self.ledger.leads.add(lead["id"])
                with self._lock:
                    self.created += 1
                n += 1
                self._read(http, f"/leads/api/v1/leads/{lead['id']}", headers)
                if n % self.deliver_every == 0:
                    self._sell(http, headers, lead["id"])
            self.stopping.wait(self.pause)

    def _sell(self, http, headers: dict, lead_id: str) -> None:
        order = self._create(http, f"/leads/api/v1/leads/{lead_id}/orders", headers,
                             {"model": "凯美瑞", "price": 189800, "deposit": 5000, "payment_method": "cash"}, (201,))
        if order is None:
            return
        today = clock.now().astimezone(clock.zone()).date().isoformat()  # the platform's day
        vin = "LFV" + "".join(random.choice(VIN_CHARS) for _ in range(14))
        done = self._create(http, f"/leads/api/v1/orders/{order['id']}/delivery", headers,
                            {"vin": vin, "delivered_on": today}, (200,))
        if done is not None:
            with self.ledger.lock:
                self.ledger.deliveries.add(order["id"])

    def _read(self, http, path: str, headers: dict) -> None:
        """GET what was just created: 200, whatever the database went through (the server tries a read
        once more on a fresh connection). Only a lost connection (a killed gunicorn worker) is retried."""
        for _ in range(40):
            try:
                r = http.get(self.topo.url(path), headers=headers, timeout=30)
            except requests.RequestException:
                self.ledger.note("GET connection error")
                time.sleep(0.2)
                continue
            self.ledger.note(f"GET {r.status_code}")
            if r.status_code == 503 and self.ledger.reads_may_wait:
                time.sleep(min(float(r.headers.get("Retry-After") or 0.5), 3.0))
                continue
            if r.status_code != 200:
                with self.ledger.lock:
                    self.ledger.unexpected.append(f"GET {path}: {r.status_code} {r.text[:300]}")
            return

    def _create(self, http, path: str, headers: dict, body: dict, ok: tuple[int, ...]) -> dict | None:
        """POST until answered: the same Idempotency-Key on every try. None if it never succeeds."""
        key = {"Idempotency-Key": uuid.uuid4().hex}
        deadline = time.monotonic() + RESOLVE
        in_progress_since = None
        while time.monotonic() < deadline:
            try:
                r = http.post(self.topo.url(path), json=body, headers={**headers, **key}, timeout=30)
            except requests.RequestException:
                self.ledger.note("POST connection error")
                time.sleep(0.2)
                continue
            self.ledger.note(f"POST {r.status_code}")
            if r.status_code in ok:
                return r.json()
            if r.status_code == 409 and r.json().get("code") == "idempotency_in_progress":
                in_progress_since = in_progress_since or time.monotonic()
                if time.monotonic() - in_progress_since > IN_PROGRESS:
                    with self.ledger.lock:
                        self.ledger.in_progress.append(f"POST {path}")
                    return None
                time.sleep(min(float(r.headers.get("Retry-After") or 0.5), 3.0))
                continue
            if r.status_code in TRANSIENT:
                time.sleep(min(float(r.headers.get("Retry-After") or 0.5), 3.0))
                continue
            with self.ledger.lock:
                self.ledger.unexpected.append(f"POST {path}: {r.status_code} {r.text[:300]}")
            return None
        with self.ledger.lock:
            self.ledger.unresolved.append(f"POST {path}")
        return None
