"""Planning callback tasks: what an event or a use case asks for (`TaskRequest`), planned by the rules and
written in one statement per batch, each new task announced (`callcenter.task.created`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from typing import cast

from sqlalchemy import Table, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shared.bus.outbox import emit_many
from shared.db import json_recordset, new_id, utcnow
from shared.events import Event

from ..domain.rules import PlannedTask, TaskRule, dedupe_key, plan_tasks
from ..adapters.models import Contact, GroupSettings, StoreRef, Task, TaskRuleRow
from .config import group_timezone, rule_of, settings_for, usable_zone, window_of

EVENT_FIELDS = ("id", "group_id", "brand_id", "store_id", "task_type", "customer_id", "agent_id", "due_at",
                "lead_id", "attempts", "priority")


def task_message(verb: str, t: dict, actor: str | None, outcome: str | None) -> Event:
    """`callcenter.task.<verb>` of a task given by its `EVENT_FIELDS`."""
    return Event(
        type=f"callcenter.task.{verb}", group_id=t["group_id"], brand_id=t["brand_id"], store_id=t["store_id"],
        actor=actor,
        data={"task_id": t["id"], "task_type": t["task_type"], "customer_id": t["customer_id"] or "",
              "agent_id": t["agent_id"] or actor, "due_at": t["due_at"], "outcome": outcome, "lead_id": t["lead_id"],
              "attempts": t["attempts"], "priority": t["priority"]},
    )


@dataclass
class TaskRequest:
    """What an event or a use case asks to be planned: a rule's tasks for `anchor` (see `create_tasks`)."""

    group_id: str
    store_id: str
    brand_id: str | None
    task_type: str
    anchor: date
    subject: str
    customer_id: str | None = None
    lead_id: str | None = None
    name: str = ""
    phone: str | None = None
    detail: dict | None = None
    source_event_id: str | None = None
    actor: str | None = None


@dataclass
class _Planned:
    """A planned task: its row (whose `customer_id` adoption may still set) and its announcement."""

    row: dict
    event: Event


@dataclass
class Planning:
    """What planning reads once for a group: its settings, its rule rows, its stores (each on first use).
    A consumer keeps one for its whole delivery (`delivery_planning`): nothing it applies changes settings
    or rules, and a store's copy changed in the delivery is the same object (the session's identity map)."""

    cfg: GroupSettings
    rule_rows: list[TaskRuleRow] | None = None
    rules: dict[tuple[str, str | None], TaskRule] = field(default_factory=dict)
    stores: dict[str, StoreRef | None] | None = None

    @classmethod
    def read(cls, s: Session, group_id: str) -> Planning:
        return cls(settings_for(s, group_id))

    def rule(self, s: Session, task_type: str, brand_id: str | None) -> TaskRule:
        key = (task_type, brand_id)
        if key not in self.rules:
            if self.rule_rows is None:
                self.rule_rows = list(s.scalars(select(TaskRuleRow)))
            self.rules[key] = rule_of(self.rule_rows, task_type, brand_id)
        return self.rules[key]

    def store(self, s: Session, store_id: str) -> StoreRef | None:
        """The store's copy: the group's stores read at the first call, one learnt since then on its own."""
        if self.stores is None:
            self.stores = {st.id: st for st in s.scalars(select(StoreRef))}
        if store_id not in self.stores:
            self.stores[store_id] = s.get(StoreRef, store_id)
        return self.stores[store_id]

    def timezone(self, s: Session, store_id: str) -> str:
        """The store's time zone, else the group's (as `config.store_timezone`)."""
        st = self.store(s, store_id)
        return usable_zone(st.timezone if st is not None else None, group_timezone(self.cfg), f"store {store_id}")


def delivery_planning(s: Session, group_id: str) -> Planning:
    """The `Planning` of the consumer's delivery (its session and transaction): read at its first task."""
    plans = s.info.setdefault("callcenter_planning", {})
    if group_id not in plans:
        plans[group_id] = Planning.read(s, group_id)
    return plans[group_id]


class TaskBatch:
    """Tasks planned one request at a time, in order, and written together (`write`): one INSERT that
    skips a business key already taken (before, or by a concurrent consumer replica)."""

    def __init__(self, planning: Planning):
        self.planning, self.now = planning, utcnow()
        self.rows: list[_Planned] = []
        self.keys: set[str] = set()

    def plan(self, s: Session, req: TaskRequest, contact: Contact | None) -> None:
        """The rule's tasks for the request, `contact` being its customer as known now."""
        rule = self.planning.rule(s, req.task_type, req.brand_id)
        tz, window = self.planning.timezone(s, req.store_id), window_of(self.planning.cfg)
        for i, plan in enumerate(plan_tasks(rule, req.anchor, tz, window, self.now)):
            key = dedupe_key(req.task_type, req.subject, i if len(rule.offsets_days) > 1 else None)
            if key not in self.keys:
                self.keys.add(key)
                self.rows.append(_task_row(req, rule, plan, key, contact, self.now))

    def adopt(self, customer_id: str, phone: str | None, lead_id: str | None) -> None:
        """A customer now known takes the tasks planned without one, by phone or lead (as the written ones are
        adopted: `consumers._adopt_tasks`); their announcement stays as it was when they were planned."""
        for r in (p.row for p in self.rows):
            if r["customer_id"] is None and ((phone and r["phone"] == phone) or (lead_id and r["lead_id"] == lead_id)):
                r["customer_id"] = customer_id

    def write(self, s: Session) -> list[str]:
        """Write the planned tasks; returns the new ones' ids, in order."""
        rows, self.rows = self.rows, []
        written = set(_insert_new(s, [p.row for p in rows])) if rows else set()
        created = [p for p in rows if p.row["id"] in written]
        emit_many(s, [p.event for p in created])
        return [p.row["id"] for p in created]


def create_tasks(s: Session, *, group_id: str, store_id: str, brand_id: str | None, task_type: str, anchor: date,
                 subject: str, customer_id: str | None = None, lead_id: str | None = None, name: str = "",
                 phone: str | None = None, detail: dict | None = None, source_event_id: str | None = None,
                 actor: str | None = None) -> list[str]:
    """Create the tasks a rule plans for `anchor`; a task whose business key exists is never created twice.
    Returns the new tasks' ids."""
    req = TaskRequest(group_id, store_id, brand_id, task_type, anchor, subject, customer_id, lead_id, name, phone,
                      detail, source_event_id, actor)
    contact = s.get(Contact, customer_id) if customer_id else (
        s.scalar(select(Contact).where(Contact.phone == phone).limit(1)) if phone else None)
    batch = TaskBatch(Planning.read(s, group_id))
    batch.plan(s, req, contact)
    return batch.write(s)


def _task_row(req: TaskRequest, rule: TaskRule, plan: PlannedTask, key: str, contact: Contact | None,
              now: datetime) -> _Planned:
    """One new task as the row the ORM would have written (every column default filled), and its
    announcement as of now."""
    row = {"id": new_id(), "group_id": req.group_id, "store_id": req.store_id, "brand_id": req.brand_id,
           "task_type": req.task_type, "customer_id": contact.id if contact else req.customer_id,
           "lead_id": req.lead_id, "customer_name": req.name or (contact.name if contact else ""),
           "phone": req.phone or (contact.phone if contact else None), "status": "open",
           "priority": rule.priority, "due_at": plan.due_at, "expires_at": plan.expires_at,
           "available_at": plan.due_at, "agent_id": None, "claims": 0, "attempts": 0, "failed_attempts": 0,
           "max_attempts": rule.max_attempts, "retry_minutes": list(rule.retry_minutes), "dedupe_key": key,
           "source_event_id": req.source_event_id, "detail": req.detail or {}, "created_at": now}
    return _Planned(row, task_message("created", row, req.actor, None))


def _insert_new(s: Session, rows: list[dict]) -> list[str]:
    """INSERT the rows in one statement; a row whose (group, business key) exists already is skipped.
    Returns the ids written."""
    table = cast(Table, Task.__table__)
    if s.get_bind().dialect.name != "postgresql":  # SQLite
        stmt = sqlite_insert(table).values(rows).on_conflict_do_nothing(index_elements=["group_id", "dedupe_key"])
        return list(s.scalars(stmt.returning(table.c.id)))
    # the rows as one JSON parameter (`shared.db.json_recordset`): the same SQL text whatever their number
    cols, source, params = json_recordset(s, table, rows)
    return list(s.scalars(text(
        f"INSERT INTO tasks ({cols}) SELECT {cols} FROM {source} ORDER BY ordinality "
        "ON CONFLICT (group_id, dedupe_key) DO NOTHING RETURNING id"), params))
