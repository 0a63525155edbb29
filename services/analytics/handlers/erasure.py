"""Erasure on request (PIPL): analytics forgets a person in its copy of the events and keeps every figure.

`customers.customer.erased` names the customer and the leads customers had matched to them, by id only.
Every logged event about them — by `customer_id`, `lead_id`, as either side of a merge, or by the
call-center task made for them (a survey or complaint may carry only the task: the task was created
from the delivery before the customer was matched) — gets its
personal fields replaced (`shared.privacy.forget`: names by the person's pseudonym, phones, notes,
answers and summaries emptied), and so do the event summaries the facts keep. No figure reads those
fields (facts keep no personal data, `domain.facts.PII`), so every KPI stays as it was, and a rebuild
from the log (`crm rebuild-analytics`) gives the same figures.

The person's record ids are remembered (`ErasedSubject`): an event about them that arrives after the
erasure (a late delivery from another service, a dead letter replayed) is forgotten before it is logged.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shared.bus.outbox import scrub
from shared.privacy import forget

from ..domain.facts import Envelope, fact_id
from ..adapters.models import ErasedSubject, EventLog, Fact

#: the payload keys that name a person's records
CUSTOMER_KEYS = ("customer_id", "survivor_id", "merged_id", "restored_id")
LEAD_KEYS = ("lead_id", "task_id")  # record ids tied to the person: their leads, and the tasks about them
CHUNK = 500  # ids per IN list


def erase_person(s: Session, customer_id: str, lead_ids: Iterable[str], erasure_id: str) -> int:
    """Forget the person in the event log, the facts and the outbox; returns how many logged events changed."""
    customers = _merged_into(s, customer_id)
    leads = set(lead_ids) | _linked_leads(s, customers)
    leads |= _tasks_about(s, customers, leads)
    _remember(s, customers, leads, customer_id, erasure_id)
    changed, facts = 0, set()
    for row in _events_about(s, customers, leads):
        forgotten = forget(row.data, customer_id)
        if forgotten != row.data:
            row.data = forgotten
            changed += 1
        fid = fact_id(_envelope(row))
        if fid is not None:
            facts.add(fid)
    for chunk in _chunks(facts):
        for fact in s.scalars(select(Fact).where(Fact.id.in_(chunk))):
            fact.events = {k: {**e, "d": forget(e.get("d") or {}, customer_id)} for k, e in fact.events.items()}
    scrub(s, customers | leads, customer_id)  # analytics emits nothing about people today; kept for what may come
    return changed


def forget_erased(s: Session, events: list[Envelope]) -> list[Envelope]:
    """The events with the personal fields of anyone erased already forgotten (one look-up per batch, none
    while nobody of the session's groups was ever erased)."""
    if not events or s.scalar(select(ErasedSubject.id).limit(1)) is None:
        return events
    ids = {v for e in events for k in CUSTOMER_KEYS + LEAD_KEYS if isinstance(v := e.data.get(k), str) and v}
    erased: dict[str, str] = {}
    for chunk in _chunks(ids):
        erased.update(s.execute(select(ErasedSubject.id, ErasedSubject.customer_id)
                                .where(ErasedSubject.id.in_(chunk))).all())
    if not erased:
        return events
    out = []
    for e in events:
        whose = next((erased[v] for k in CUSTOMER_KEYS + LEAD_KEYS if (v := e.data.get(k)) in erased), None)
        out.append(e if whose is None else replace(e, data=forget(e.data, whose)))
    return out


def _merged_into(s: Session, customer_id: str) -> set[str]:
    """The customer and every record merged into them (and not unmerged since), as the log tells it."""
    merges = {d["merge_id"]: (d["survivor_id"], d["merged_id"]) for d in s.scalars(
        select(EventLog.data).where(EventLog.type == "customers.customer.merged"))}
    for d in s.scalars(select(EventLog.data).where(EventLog.type == "customers.customer.unmerged")):
        merges.pop(d["merge_id"], None)
    found, grew = {customer_id}, True
    while grew:
        more = {merged for survivor, merged in merges.values() if survivor in found} - found
        found |= more
        grew = bool(more)
    return found


def _linked_leads(s: Session, customers: set[str]) -> set[str]:
    """Leads the customers service linked to these records (`customers.relationship.linked`)."""
    out = set()
    for chunk in _chunks(customers):
        rows = s.scalars(select(EventLog.data).where(EventLog.type == "customers.relationship.linked",
                                                     EventLog.data["customer_id"].as_string().in_(chunk)))
        out |= {d["lead_id"] for d in rows if d.get("lead_id")}
    return out


def _tasks_about(s: Session, customers: set[str], leads: set[str]) -> set[str]:
    """Call-center tasks made for these customers or leads (`callcenter.task.*` carries both ids)."""
    out = set()
    for keys, ids in ((("customer_id",), customers), (("lead_id",), leads)):
        for chunk in _chunks(ids):
            rows = s.scalars(select(EventLog.data).where(EventLog.type.like("callcenter.task.%"),
                                                         or_(*[EventLog.data[k].as_string().in_(chunk) for k in keys])))
            out |= {d["task_id"] for d in rows if d.get("task_id")}
    return out


def _remember(s: Session, customers: set[str], leads: set[str], customer_id: str, erasure_id: str) -> None:
    known = set()
    for chunk in _chunks(customers | leads):
        known |= set(s.scalars(select(ErasedSubject.id).where(ErasedSubject.id.in_(chunk))))
    s.add_all(ErasedSubject(id=i, customer_id=customer_id, erasure_id=erasure_id)
              for i in sorted((customers | leads) - known))


def _events_about(s: Session, customers: set[str], leads: set[str]) -> list[EventLog]:
    def named(keys: tuple[str, ...], ids: list[str]):
        return [EventLog.data[k].as_string().in_(ids) for k in keys]

    rows: dict[str, EventLog] = {}
    for kind, keys in ((customers, CUSTOMER_KEYS), (leads, LEAD_KEYS)):
        for chunk in _chunks(kind):
            for row in s.scalars(select(EventLog).where(or_(*named(keys, chunk)))):
                rows[row.id] = row
    return list(rows.values())


def _envelope(row: EventLog) -> Envelope:
    return Envelope(row.id, row.type, row.occurred_at, row.group_id, row.store_id, row.brand_id, row.actor, row.data)


def _chunks(ids: Iterable[str]) -> list[list[str]]:
    items = sorted(ids)
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]
