"""Lead use cases: register, visitor log, grade, follow up, assign, card audit."""
from __future__ import annotations

from datetime import datetime

from typing import cast

from sqlalchemy import Table, bindparam, case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared import clock
from shared.auth import Principal
from shared.bus import emit
from shared.bus.outbox import emit_many
from shared.db import insert_now
from shared.errors import Conflict, Invalid, NotFound
from shared.events import Event
from shared.permissions import CONSULTANT
from shared.phones import normalize
from shared.tenancy import widened

from ..domain import CLOSED, LEVELS, TIMED_SOURCES, channel_of, check_grade, is_open
from ..domain.timing import (
    expected_purchase_by,
    first_response,
    first_response_due,
    local_date,
)
from ..adapters.models import Assignment, Campaign, FollowUp, Lead, LevelChange, Order, StoreRef, Visit
from .catalogue import canonical_model
from .common import (
    AnyStore,
    consultant_of,
    emit_for,
    get_lead,
    hours_of,
    lead_event,
    now,
    on_duty_consultants,
    publish_due,
    forget_due,
    due_for,
    resolve_consultant,
    resolve_store,
    round_robin,
    rules_of,
    set_due,
    check_may,
    store_info,
    store_of,
)


def _check_source(s: Session, group_id: str, source: str) -> None:
    if source not in rules_of(s, group_id).sources:
        raise Invalid("unknown source", errors={"source": [f"not a lead source of this group: {source}"]})


def _check_campaign(s: Session, store: AnyStore, campaign_id: str | None) -> None:
    if not campaign_id:
        return
    campaign = s.get(Campaign, campaign_id)
    if campaign is None or campaign.store_id != store.id:
        raise Invalid("unknown campaign", errors={"campaign_id": ["no such campaign at this store"]})


def created_payload(lead: Lead) -> dict:
    return {"lead_id": lead.id, "name": lead.name, "phone": lead.phone, "source": lead.source,
            "level": lead.level, "consultant_id": lead.consultant_id, "campaign_id": lead.campaign_id,
            "model": lead.model, "model_id": lead.model_id, "channel": channel_of(lead.source), "at": lead.created_at,
            "due_on": lead.due_on, "overdue_at": lead.overdue_at}


def create_lead(s: Session, p: Principal, data: dict, idempotency_key: str | None = None,
                arrived_at: datetime | None = None) -> tuple[Lead, bool]:
    """Register a lead; a retried request with the same Idempotency-Key returns the first lead.

    A key is the caller's own: the same key from a colleague is another request.
    """
    if idempotency_key:
        existing = s.scalar(select(Lead).where(Lead.created_by == p.user_id, Lead.idempotency_key == idempotency_key))
        if existing is not None:
            return existing, False
    store = resolve_store(s, p, data.get("store_id"))
    _check_source(s, p.group_id, data["source"])
    _check_campaign(s, store, data.get("campaign_id"))
    model, model_id = canonical_model(s, store.brand_id, data.get("model"))
    rules = rules_of(s, p.group_id)
    at = arrived_at or now()
    lead = Lead(
        group_id=p.group_id, store_id=store.id, brand_id=store.brand_id,
        consultant_id=resolve_consultant(s, p, store, data.get("consultant_id")),
        name=data["name"].strip(), phone=normalize(data["phone"]), source=data["source"],
        campaign_id=data.get("campaign_id"), model=model, model_id=model_id, note=data.get("note"),
        created_by=p.user_id, created_at=at, idempotency_key=idempotency_key, level="N",
    )
    if lead.source in TIMED_SOURCES:
        lead.response_due_at = first_response_due(at, hours_of(rules, store), rules.sla_minutes)
    set_due(s, lead, rules, store.timezone)
    try:
        insert_now(s, lead)
    except IntegrityError as exc:  # the key's first lead is no longer the caller's to see, or a concurrent retry
        if idempotency_key is None:
            raise
        raise Conflict("this Idempotency-Key was already used for a lead you cannot see now; send a new key",
                       "idempotency_key_used") from exc
    emit_for(s, "leads.lead.created", lead, p.user_id, created_payload(lead))
    forget_due(s, lead)
    return lead, True


def _contact(s: Session, lead: Lead, at: datetime, actor: str | None, store: AnyStore | None = None) -> dict:
    """A real contact: move the cadence on and, the first time, measure the response time."""
    rules = rules_of(s, lead.group_id)
    store = store or store_info(s, lead.store_id)
    if lead.last_contact_at is None or at > lead.last_contact_at:
        lead.last_contact_at = at
        lead.planned_on = None  # a newer contact fulfils the planned one (a new plan comes after it)
    out: dict = {"first_contact": False}
    if lead.first_contact_at is None:
        lead.first_contact_at = at
        out["first_contact"] = True
        if lead.source in TIMED_SOURCES:
            fr = first_response(lead.created_at, at, hours_of(rules, store), rules.sla_minutes)
            lead.response_seconds, lead.within_sla = fr.seconds, fr.within_sla
            out.update(response_seconds=fr.seconds, within_sla=fr.within_sla)
    set_due(s, lead, rules, store.timezone)
    return out


def record_departure(s: Session, p: Principal, visit_id: str) -> Visit:
    """The visitor left the showroom now (离店时间), unless their time out is already logged."""
    visit = s.get(Visit, visit_id)
    if visit is None:
        raise NotFound("visit")
    if visit.time_out is not None:
        raise Conflict("this visitor's time out is already logged", "already_left")
    visit.time_out = max(now(), visit.time_in)
    return visit


def log_visit(s: Session, p: Principal, data: dict) -> tuple[Visit, Lead | None, bool]:
    """A visitor-log line (来店/来电登记); with a phone it becomes a new lead or joins the store's open lead.

    Returns the visit, its lead, and whether the lead belongs to someone the caller cannot see.
    """
    store = resolve_store(s, p, data.get("store_id"))
    source = data.get("source") or data["kind"]
    _check_source(s, p.group_id, source)
    _check_campaign(s, store, data.get("campaign_id"))
    model, model_id = canonical_model(s, store.brand_id, data.get("model"))
    time_in = data.get("time_in") or now()
    consultant = resolve_consultant(s, p, store, data.get("consultant_id"))
    lead, foreign, first = None, False, data.get("first_visit", True)
    if data.get("lead_id"):
        lead = get_lead(s, data["lead_id"])
        first = False
    elif data.get("phone"):
        phone = normalize(data["phone"])
        with widened(s, "store_open_lead", frozenset({store.id})):  # resolve_store: the caller's own store
            lead = s.scalar(select(Lead).where(Lead.store_id == store.id, Lead.phone == phone,
                                               Lead.level.not_in(CLOSED)).order_by(Lead.created_at.desc()))
        if lead is not None:
            first = False
            foreign = p.role == CONSULTANT and lead.consultant_id != p.user_id
        else:
            lead, _ = create_lead(s, p, {"store_id": store.id, "name": data.get("name") or "?", "phone": phone,
                                         "source": source, "model": model,
                                         "campaign_id": data.get("campaign_id"),
                                         "consultant_id": consultant}, arrived_at=time_in)
    visit = Visit(group_id=p.group_id, store_id=store.id, lead_id=lead.id if lead else None, kind=data["kind"],
                  time_in=time_in, time_out=data.get("time_out"), party_size=data.get("party_size") or 1,
                  consultant_id=lead.consultant_id if lead and lead.consultant_id else consultant,
                  model=model, source=source, campaign_id=data.get("campaign_id"),
                  first_visit=first, note=data.get("note"), created_by=p.user_id)
    s.add(visit)
    s.flush()
    if lead is not None:
        _contact(s, lead, time_in, p.user_id, store)
    ev = {"visit_id": visit.id, "lead_id": visit.lead_id, "kind": visit.kind, "party_size": visit.party_size,
          "first_visit": visit.first_visit, "consultant_id": visit.consultant_id, "model": visit.model,
          "model_id": model_id, "source": visit.source, "at": visit.time_in}
    emit(s, Event(type="leads.visit.logged", group_id=p.group_id, brand_id=store.brand_id, store_id=store.id,
                  actor=p.user_id, data=ev))
    publish_due(s, p.user_id)
    return visit, lead, foreign


def grade(s: Session, p: Principal, lead_id: str, level: str, signals: list[str], reason: str | None,
          via: str | None = None) -> Lead:
    """Judge the lead's intent level (C/B/A/H, or invalid), with the checklist signals ticked and why."""
    lead = get_lead(s, lead_id)
    problems = check_grade(lead.level, level, signals)
    if problems:
        error = Conflict if lead.level in CLOSED else Invalid
        raise error("; ".join(problems), "invalid_grade", errors={"level": problems})
    _change_level(s, p.user_id, lead, level, signals, reason)
    publish_due(s, p.user_id)
    return lead


def _change_level(s: Session, actor: str | None, lead: Lead, level: str, signals: list[str],
                  reason: str | None) -> None:
    rules = rules_of(s, lead.group_id)
    store = store_info(s, lead.store_id)
    at = now()
    prev = lead.level
    s.add(LevelChange(group_id=lead.group_id, store_id=lead.store_id, lead_id=lead.id, from_level=prev,
                      to_level=level, reason=reason, signals=list(signals), actor=actor,
                      consultant_id=lead.consultant_id, at=at))
    lead.level, lead.level_changed_at = level, at
    lead.expected_by = expected_purchase_by(local_date(at, store.timezone), rules.horizon_days.get(level))
    if not is_open(level):
        lead.closed_at = at
        lead.planned_on = None
    set_due(s, lead, rules, store.timezone)
    if prev != level:
        emit_for(s, "leads.lead.level_changed", lead, actor, {
            "lead_id": lead.id, "from_level": prev, "to_level": level, "reason": reason, "signals": list(signals),
            "consultant_id": lead.consultant_id, "source": lead.source, "phone": lead.phone})


def log_follow_up(s: Session, p: Principal, lead_id: str, data: dict) -> FollowUp:
    """A contact (call, visit, SMS/WeChat, DM, handout) with its outcome and the next planned contact."""
    lead = get_lead(s, lead_id)
    if not lead.is_open:
        raise Conflict(f"the lead is {lead.level}; follow-ups are for open leads", "closed")
    at = data.get("at") or now()
    if at > now():
        raise Invalid("a follow-up cannot be in the future", errors={"at": ["in the future"]})
    fu = FollowUp(group_id=lead.group_id, store_id=lead.store_id, lead_id=lead.id, kind=data["kind"],
                  outcome=data["outcome"], note=data.get("note"), next_planned_at=data.get("next_planned_at"),
                  consultant_id=p.user_id if p.role == CONSULTANT else lead.consultant_id, at=at)
    extra: dict = {"first_contact": False}
    if data["outcome"] != "no_answer":
        extra = _contact(s, lead, at, p.user_id)
    if fu.next_planned_at is not None:  # kept on the lead: a re-grading or a cadence change does not lose it
        store = store_info(s, lead.store_id)
        lead.planned_on = local_date(fu.next_planned_at, store.timezone)
        set_due(s, lead, rules_of(s, lead.group_id), store.timezone)
    fu.first_contact = extra["first_contact"]
    s.add(fu)
    s.flush()
    emit_for(s, "leads.followup.logged", lead, p.user_id, {
        "lead_id": lead.id, "followup_id": fu.id, "kind": fu.kind, "outcome": fu.outcome,
        "consultant_id": fu.consultant_id, "first_contact": fu.first_contact,
        "response_seconds": extra.get("response_seconds"), "within_sla": extra.get("within_sla"),
        "source": lead.source, "at": fu.at})
    if data.get("level") and data["level"] != lead.level:
        grade(s, p, lead.id, data["level"], data.get("signals") or [], data.get("note"))
    publish_due(s, p.user_id)
    return fu


def _move(s: Session, p: Principal, lead: Lead, to: str | None, why: str) -> None:
    if lead.consultant_id == to:
        return
    s.add(Assignment(group_id=lead.group_id, store_id=lead.store_id, lead_id=lead.id,
                     from_consultant=lead.consultant_id, to_consultant=to, why=why, actor=p.user_id))
    lead.consultant_id = to
    for order in s.scalars(select(Order).where(Order.lead_id == lead.id, Order.status == "placed")):
        order.consultant_id = to  # the open order follows its lead (who delivers it, who sees it)


def assign(s: Session, p: Principal, lead_id: str, consultant_id: str, why: str = "manual") -> Lead:
    """The store manager gives a lead to a consultant of the store."""
    check_may(p, "leads.manage", "only the store manager assigns leads")
    lead = get_lead(s, lead_id)
    store = store_info(s, lead.store_id)
    to = consultant_of(s, store, consultant_id).id
    if lead.consultant_id != to:
        _move(s, p, lead, to, why)
        emit_for(s, "leads.lead.updated", lead, p.user_id, {
            "lead_id": lead.id, "changes": {"consultant_id": to}, "consultant_id": to})
    return lead


def reassign_all(s: Session, p: Principal, store_id: str, from_id: str, to_id: str | None) -> int:
    """A consultant leaves: every open lead of theirs moves (to one colleague, or round-robin); the store keeps them."""
    check_may(p, "leads.manage", "only the store manager moves a consultant's leads")
    store = store_of(s, p, store_id)
    if to_id:
        consultant_of(s, store, to_id, "to_consultant_id")
    leads = s.scalars(select(Lead).where(Lead.store_id == store.id, Lead.consultant_id == from_id,
                                         Lead.level.not_in(CLOSED))).all()
    if leads and not to_id and not on_duty_consultants(s, store.id, from_id):
        raise Conflict("nobody else is on duty to take the leads", "no_consultant")
    events = []
    for lead in leads:
        to = to_id or round_robin(s, store, exclude=from_id)
        _move(s, p, lead, to, "departure")
        events.append(lead_event("leads.lead.updated", lead, p.user_id, {
            "lead_id": lead.id, "changes": {"consultant_id": to}, "consultant_id": to}))
    emit_many(s, events)
    return len(leads)


def audit(s: Session, p: Principal, lead_ids: list[str], action: str, level: str | None, reason: str | None) -> int:
    """Card audit (卡片清点) in bulk: confirm the leads are alive, re-grade them, or close them as invalid."""
    done = 0
    at = now()
    for lead_id in lead_ids:
        lead = get_lead(s, lead_id)
        if not lead.is_open:
            continue
        if action == "grade" and level and level != lead.level:
            grade(s, p, lead.id, level, [], reason or "card audit")
        elif action == "close":
            grade(s, p, lead.id, "invalid", [], reason or "card audit")
        lead.audited_at = at
        done += 1
    return done


def recompute_due_dates(s: Session, group_id: str, actor: str | None = None) -> int:
    """After a cadence change: every open lead of the group gets its due date again (in batches), planned
    contacts kept; each lead whose date moved is published (`leads.lead.due_changed`)."""
    rules = rules_of(s, group_id)
    tzs = {st.id: st.timezone for st in s.scalars(select(StoreRef))}
    rows = s.execute(select(Lead.id, Lead.level, Lead.store_id, Lead.brand_id, Lead.consultant_id,
                            Lead.last_contact_at, Lead.created_at, Lead.planned_on, Lead.due_on, Lead.overdue_at)
                     .where(Lead.level.in_(LEVELS))).all()
    params, events = [], []
    for r in rows:
        due = due_for(r.last_contact_at or r.created_at, r.level, r.planned_on, rules,
                      clock.zone_name(tzs.get(r.store_id)))
        new = (due.due_on, due.overdue_at) if due else (None, None)
        if new == (r.due_on, r.overdue_at):
            continue
        params.append({"b_id": r.id, "b_due": new[0], "b_over": new[1]})
        events.append(Event(type="leads.lead.due_changed", group_id=group_id, brand_id=r.brand_id,
                            store_id=r.store_id, actor=actor, data={
                                "lead_id": r.id, "due_on": new[0], "overdue_at": new[1],
                                "planned": r.planned_on is not None and r.planned_on == new[0],
                                "consultant_id": r.consultant_id}))
    table = cast(Table, Lead.__table__)  # a mapped class's table (typed as any FromClause)
    if params:
        s.execute(update(table).where(table.c.id == bindparam("b_id"))
                  .values(due_on=bindparam("b_due"), overdue_at=bindparam("b_over")), params)
        emit_many(s, events)
    return len(params)


def link_customers(s: Session, links: dict[str, str]) -> None:
    """Leads customers matched to a person (lead id -> customer id): the lead page links to that person's
    360 view. One UPDATE for all of them (a lead not found is left alone), without loading a lead (a wide
    row) or evaluating the change against the session's objects (a consumer's session holds none)."""
    if links:
        s.execute(update(Lead).where(Lead.id.in_(list(links)))
                  .values(customer_id=case(links, value=Lead.id))
                  .execution_options(synchronize_session=False))


def relink_customer(s: Session, merged_id: str, survivor_id: str) -> int:
    """Leads that linked to a customer record merged into another link to the one that stayed."""
    leads = list(s.scalars(select(Lead).where(Lead.customer_id == merged_id)))
    for lead in leads:
        lead.customer_id = survivor_id
    return len(leads)
