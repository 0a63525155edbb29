"""Registering a customer by hand (name, phone, optional ID number): the customer the caller's store deals with."""
from __future__ import annotations

from shared.auth import Principal
from shared.uow import UnitOfWork

from ..adapters.models import Customer
from .feeds import store_for
from .identity import Person
from .matching import resolve
from .relationships import touch


def register(uow: UnitOfWork, p: Principal, body: dict) -> tuple[Customer, bool]:
    """The customer this person is, or a new record; a store user's store gets related.

    A registration is no business event: someone known only at other stores is not taken over by it.
    The store gets its own record of the person instead, paired with the other for review
    (`matching.resolve`); returns (customer, created).
    """
    s = uow.session
    store_id = store_for(s, p, body.get("store_id"), required=False)
    person = Person(name=body["name"], phone=body["phone"], id_number=body.get("id_number"), kind=body["kind"])
    found = resolve(s, p, person, store_id=store_id, event=None)
    if store_id and not found.claim:
        touch(s, found.customer, store_id, p.user_id, new_customer=found.new)
    return found.customer, found.new
