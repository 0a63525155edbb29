"""Sales use cases: test drives, orders, deliveries and defeats (战败)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import clock
from shared.auth import Principal
from shared.errors import Conflict, Invalid, NotFound

from ..domain import refusal
from ..domain.timing import local_date
from ..adapters.models import Defeat, Lead, Order, StoreRef, TestDrive
from .catalogue import canonical_model, check_competitor
from .common import check_may, emit_for, get_lead, now, publish_due
from .leads import _change_level, _contact


def _open_lead(s: Session, lead_id: str, action: str = "test_drive") -> Lead:
    """The lead, if its state allows `action` (domain.refusal: the rule the lead page offers by)."""
    lead = get_lead(s, lead_id)
    no = refusal(action, lead.level, lead.defeat_pending)
    if no:
        raise Conflict(*no)
    return lead


def book_test_drive(s: Session, p: Principal, lead_id: str, data: dict) -> TestDrive:
    """Book a test drive (试乘试驾) of a model."""
    lead = _open_lead(s, lead_id)
    model, _ = canonical_model(s, lead.brand_id, data["model"])
    td = TestDrive(group_id=lead.group_id, store_id=lead.store_id, lead_id=lead.id, model=model,
                   booked_for=data.get("booked_for") or now(), consultant_id=lead.consultant_id)
    s.add(td)
    s.flush()
    return td


def complete_test_drive(s: Session, p: Principal, test_drive_id: str) -> TestDrive:
    """The customer drove the car: a contact, and an event for analytics' test-drive rate."""
    td = s.get(TestDrive, test_drive_id)
    lead = s.get(Lead, td.lead_id) if td else None
    if td is None or lead is None:
        raise NotFound("test drive")
    if td.status != "booked":
        raise Conflict(f"the test drive is {td.status}", "not_booked")
    td.status, td.completed_at = "completed", now()
    _contact(s, lead, td.completed_at, p.user_id)
    emit_for(s, "leads.testdrive.completed", lead, p.user_id, {
        "lead_id": lead.id, "test_drive_id": td.id, "model": td.model, "consultant_id": lead.consultant_id,
        "at": td.completed_at})
    publish_due(s, p.user_id)
    return td


def place_order(s: Session, p: Principal, lead_id: str, data: dict) -> Order:
    """An order signed: the lead moves to O (weekly contact until delivery).

    A defeat still waiting for the manager is withdrawn: the customer is buying (`leads.defeat.withdrawn`).
    """
    lead = _open_lead(s, lead_id, "order")
    model, model_id = canonical_model(s, lead.brand_id, data.get("model"))
    order = Order(group_id=lead.group_id, store_id=lead.store_id, lead_id=lead.id, consultant_id=lead.consultant_id,
                  from_level=lead.level,
                  **{k: data.get(k) for k in ("model", "colour", "price", "deposit", "payment_method", "trade_in",
                                              "expected_delivery", "customer_kind", "sale_type")})
    order.model, order.model_id = model or data["model"], model_id
    order.deposit = order.deposit or Decimal(0)
    s.add(order)
    s.flush()
    _contact(s, lead, now(), p.user_id)
    lead.model, lead.model_id = order.model, order.model_id
    _change_level(s, p.user_id, lead, "O", data.get("signals") or ["deposit_paid"], "order placed")
    emit_for(s, "leads.order.placed", lead, p.user_id, {
        "lead_id": lead.id, "order_id": order.id, "model": order.model, "model_id": order.model_id,
        "colour": order.colour, "price": order.price,
        "deposit": order.deposit, "payment_method": order.payment_method, "trade_in": order.trade_in,
        "expected_delivery": order.expected_delivery, "consultant_id": lead.consultant_id,
        "customer_name": lead.name, "phone": lead.phone, "customer_kind": order.customer_kind,
        "sale_type": order.sale_type, "source": lead.source, "at": order.created_at})
    if lead.defeat_pending:
        _withdraw_defeat(s, p, lead, "order_signed")
    publish_due(s, p.user_id)
    return order


def _withdraw_defeat(s: Session, p: Principal, lead: Lead, why: str) -> None:
    """The lead's pending defeat proposal ends without the manager (the customer signed an order)."""
    for d in s.scalars(select(Defeat).where(Defeat.lead_id == lead.id, Defeat.status == "proposed")):
        d.status, d.decided_at, d.decision_note = "withdrawn", now(), why
        emit_for(s, "leads.defeat.withdrawn", lead, p.user_id, {
            "lead_id": lead.id, "defeat_id": d.id, "why": why, "consultant_id": lead.consultant_id})
    lead.defeat_pending = False


def get_order(s: Session, order_id: str) -> Order:
    """An order in the caller's scope (a consultant: their own leads' orders), else 404."""
    order = s.get(Order, order_id)
    if order is None:
        raise NotFound("order")
    return order


def _order_and_lead(s: Session, order_id: str) -> tuple[Order, Lead]:
    order = get_order(s, order_id)
    lead = s.get(Lead, order.lead_id)
    if lead is None:
        raise NotFound("order")
    return order, lead


def check_delivery_day(s: Session, order: Order, delivered_on: date) -> None:
    """A car is handed over between the day its order was signed and today (local days of the store)."""
    store = s.get(StoreRef, order.store_id)
    tz = clock.zone_name(store.timezone if store else None)
    signed, today = local_date(order.created_at, tz), local_date(now(), tz)
    if delivered_on > today:
        raise Invalid("a delivery cannot be dated in the future",
                      errors={"delivered_on": [f"after today ({today.isoformat()})"]})
    if delivered_on < signed:
        raise Invalid("a delivery cannot be dated before its order was signed",
                      errors={"delivered_on": [f"before the order was signed ({signed.isoformat()})"]})


def deliver(s: Session, p: Principal, order_id: str, vin: str, delivered_on) -> Order:
    """The car is handed over (交车): VIN and date recorded; customers and the call center learn of it."""
    order, lead = _order_and_lead(s, order_id)
    if order.status != "placed":
        raise Conflict(f"the order is {order.status}", "not_open")
    check_delivery_day(s, order, delivered_on)
    order.status, order.vin, order.delivered_on = "delivered", vin.upper(), delivered_on
    _change_level(s, p.user_id, lead, "delivered", [], "vehicle delivered")
    emit_for(s, "leads.vehicle.delivered", lead, p.user_id, {
        "lead_id": lead.id, "order_id": order.id, "vin": order.vin, "model": order.model, "model_id": order.model_id,
        "delivered_on": delivered_on, "consultant_id": lead.consultant_id, "customer_name": lead.name,
        "phone": lead.phone, "price": order.price, "customer_kind": order.customer_kind,
        "sale_type": order.sale_type, "source": lead.source})
    publish_due(s, p.user_id)
    return order


def cancel_order(s: Session, p: Principal, order_id: str, reason: str) -> Order:
    """The customer withdraws: the order is cancelled with the reason and the lead goes back to the level it
    had before the order (at least N), open again for follow-up."""
    order, lead = _order_and_lead(s, order_id)
    if order.status != "placed":
        raise Conflict(f"the order is {order.status}", "not_open")
    order.status, order.cancelled_at, order.cancelled_by, order.cancel_reason = \
        "cancelled", now(), p.user_id, reason
    back = order.from_level if order.from_level in ("N", "C", "B", "A", "H") else "H"
    if lead.level == "O":
        _change_level(s, p.user_id, lead, back, [], f"order cancelled: {reason}")
    emit_for(s, "leads.order.cancelled", lead, p.user_id, {
        "lead_id": lead.id, "order_id": order.id, "reason": reason, "model": order.model, "price": order.price,
        "consultant_id": order.consultant_id, "placed_at": order.created_at, "at": order.cancelled_at})
    publish_due(s, p.user_id)
    return order


def propose_defeat(s: Session, p: Principal, lead_id: str, data: dict) -> Defeat:
    """The consultant proposes to close the lead as defeated, with the reason; the manager decides."""
    lead = _open_lead(s, lead_id, "defeat")
    if data["reason"] == "competitor" and not data.get("competitor_brand"):
        raise Invalid("name the competitor", errors={"competitor_brand": ["required when the reason is competitor"]})
    check_competitor(s, data.get("competitor_brand"), data.get("competitor_model"))
    d = Defeat(group_id=lead.group_id, store_id=lead.store_id, lead_id=lead.id, reason=data["reason"],
               competitor_brand=data.get("competitor_brand"), competitor_model=data.get("competitor_model"),
               note=data.get("note"), from_level=lead.level, proposed_by=p.user_id, proposed_at=now())
    lead.defeat_pending = True
    s.add(d)
    s.flush()
    emit_for(s, "leads.defeat.proposed", lead, p.user_id, {
        "lead_id": lead.id, "reason": d.reason, "consultant_id": lead.consultant_id, "defeat_id": d.id})
    return d


def decide_defeat(s: Session, p: Principal, defeat_id: str, approve: bool, note: str | None) -> Defeat:
    """The manager approves the defeat (the lead closes and the call center verifies it) or sends it back."""
    check_may(p, "leads.manage", "only the store manager decides a defeat")
    d = s.get(Defeat, defeat_id)
    lead = s.get(Lead, d.lead_id) if d else None
    if d is None or lead is None:
        raise NotFound("defeat")
    if d.status != "proposed":
        raise Conflict(f"the defeat was already {d.status}", "decided")
    if approve and s.scalar(select(Order.id).where(Order.lead_id == lead.id, Order.status == "placed")):
        raise Conflict("the lead has a signed order: deliver it or cancel the order first", "has_order")
    d.status = "approved" if approve else "sent_back"
    d.decided_by, d.decided_at, d.decision_note = p.user_id, now(), note
    lead.defeat_pending = False
    if approve:
        _change_level(s, p.user_id, lead, "defeated", [], f"defeat: {d.reason}")
        emit_for(s, "leads.defeat.approved", lead, p.user_id, {
            "lead_id": lead.id, "reason": d.reason, "competitor_brand": d.competitor_brand,
            "competitor_model": d.competitor_model, "note": d.note, "consultant_id": lead.consultant_id,
            "customer_name": lead.name, "phone": lead.phone, "from_level": d.from_level})
    else:
        emit_for(s, "leads.defeat.sent_back", lead, p.user_id, {
            "lead_id": lead.id, "defeat_id": d.id, "reason": d.reason, "note": note,
            "consultant_id": lead.consultant_id})
    publish_due(s, p.user_id)
    return d
