"""Generated bench and demo histories carry the due dates leads publishes (issue 13): overdue follow-ups
are not 0 in generated data, and analytics' count equals the leads that the messages say are open and past
their latest due date."""
from __future__ import annotations

from datetime import UTC, datetime

from services.analytics.views import queries as Q
from shared.tenancy import Scope

NOW = datetime(2026, 10, 1, tzinfo=UTC)


def test_overdue_follow_ups_from_generated_due_dates(fed, messages, org):
    due: dict[str, tuple[str, str, str]] = {}  # lead → (occurred_at, id, overdue_at) of its latest due date
    store: dict[str, str] = {}
    closed: set[str] = set()
    for m in messages:
        d = m["data"]
        if m["type"] in ("leads.lead.created", "leads.lead.due_changed"):
            assert d.get("overdue_at"), m  # every lead's due date is published
            key = (m["occurred_at"], m["id"], d["overdue_at"])
            if d["lead_id"] not in due or key[:2] > due[d["lead_id"]][:2]:
                due[d["lead_id"]] = key
            store.setdefault(d["lead_id"], m["store_id"])
        elif m["type"] in ("leads.vehicle.delivered", "leads.defeat.approved"):
            closed.add(d["lead_id"])
    expected: dict[str, int] = {}
    for lead, (_, _, overdue_at) in due.items():
        if lead not in closed and datetime.fromisoformat(overdue_at) <= NOW:
            expected[store[lead]] = expected.get(store[lead], 0) + 1
    with fed.db.session(Scope.system(org.group_id)) as s:
        got = {r["store_id"]: r["overdue_followups"] for r in Q.compliance(s, org.group_id, NOW, "2026-09")}
    assert sum(expected.values()) > 0
    assert {k: v for k, v in got.items() if v} == expected
