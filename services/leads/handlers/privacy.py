"""Erasure (PIPL): the leads of an erased person forget who it was; the figures and levels stay."""
from __future__ import annotations

import json

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from shared.bus.outbox import outbox_table, scrub
from shared.privacy import pseudonym

from ..adapters.models import Defeat, FollowUp, ImportRowError, Lead, LevelChange, Visit


def forget_customer(s: Session, customer_id: str, lead_ids: list[str]) -> int:
    """Forget the person behind `lead_ids` (the leads customers matched to them, at any store of the group).

    The lead's name becomes the person's pseudonym (stable, so counts by person still add up) and its
    phone is emptied; so is the free text typed about them: the lead's note, its visits' and
    follow-ups' notes, the reasons given for its levels, its defeat's note and decision, and the
    import errors that quote the number. Levels, dates, amounts, models and counts stay as they were.
    The outbox rows already sent that name these leads lose their personal fields too. Applying it
    twice changes nothing more. Returns how many leads it found.
    """
    leads = list(s.scalars(select(Lead).where(Lead.id.in_(lead_ids)))) if lead_ids else []
    ids = [lead.id for lead in leads]
    phones = {lead.phone for lead in leads if lead.phone}
    for lead in leads:
        lead.name, lead.phone, lead.note = pseudonym(customer_id), "", None
    if ids:
        for visit in s.scalars(select(Visit).where(Visit.lead_id.in_(ids), Visit.note.is_not(None))):
            visit.note = None
        for fu in s.scalars(select(FollowUp).where(FollowUp.lead_id.in_(ids), FollowUp.note.is_not(None))):
            fu.note = None
        for change in s.scalars(select(LevelChange).where(LevelChange.lead_id.in_(ids),
                                                          LevelChange.reason.is_not(None))):
            change.reason = None
        for defeat in s.scalars(select(Defeat).where(Defeat.lead_id.in_(ids))):
            defeat.note = defeat.decision_note = None
    for phone in phones:
        for bad in s.scalars(select(ImportRowError).where(ImportRowError.reason.contains(phone, autoescape=True))):
            bad.reason = bad.reason.replace(phone, "—")
    scrub(s, {customer_id, *lead_ids}, customer_id)
    _forget_level_reasons(s, ids)
    return len(leads)


def _forget_level_reasons(s: Session, lead_ids: list[str]) -> None:
    """`leads.lead.level_changed` carries the reason a consultant typed for a level, which
    `shared.privacy.forget` keeps (elsewhere a `reason` is a code, like a defeat's 'price'): the sent
    rows of these leads lose it here."""
    if not lead_ids:
        return
    table = outbox_table(s)
    rows = s.execute(select(table.c.seq, table.c.body).where(
        table.c.routing_key == "leads.lead.level_changed", table.c.sent_at.is_not(None),
        or_(*(table.c.body.contains(f'"{i}"') for i in lead_ids)))).all()
    for seq, body in rows:
        message = json.loads(body)
        if message["data"].get("reason"):
            message["data"]["reason"] = None
            s.execute(update(table).where(table.c.seq == seq).values(
                body=json.dumps(message, ensure_ascii=False, separators=(",", ":"))))
