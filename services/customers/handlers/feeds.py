"""DMS feeds: vehicles, service visits and insurance policies, one at a time or as a CSV import."""
from __future__ import annotations

import csv
import io

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.errors import Conflict, Invalid, NotFound
from shared.uow import UnitOfWork

from ..adapters.models import InsurancePolicy, ServiceVisit, StoreRef, Vehicle
from ..schemas import InsuranceIn, ServiceVisitIn, VehicleIn
from .identity import Person
from .matching import policy_by_number, resolve, sees
from .records import record_insurance, record_service_visit, register_vehicle
from .relationships import touch

KINDS = {"vehicles": VehicleIn, "service-visits": ServiceVisitIn, "insurance-policies": InsuranceIn}
MAX_ROWS = 5000


def store_for(s: Session, p: Principal, store_id: str | None, required: bool) -> str | None:
    """A store user writes for their own store; HQ names the store (not found: a store that is not ours)."""
    if not p.is_hq:
        if store_id and store_id not in (p.store_ids or ()):
            raise NotFound("store")
        store_id = store_id or p.home_store
    if store_id is None:
        if required:
            raise Invalid("store_id is required for group roles", errors={"store_id": ["required for HQ roles"]})
        return None
    if s.get(StoreRef, store_id) is None:
        raise Invalid("unknown store", errors={"store_id": ["no such store in this group"]})
    return store_id


def record(uow: UnitOfWork, p: Principal, kind: str, row: dict) -> dict:
    """One DMS record: its customer found across the group (`matching.resolve`), the record written the way
    the caller's store may write it; a repeat of a record already on file changes nothing."""
    s = uow.session
    store_id = _store_of(s, p, kind, row)
    repeat = _on_file(s, p, kind, row, store_id)
    if repeat is not None:
        return repeat
    person = Person(name=row["customer_name"], phone=row.get("phone"), id_number=row.get("id_number"),
                    vin=row.get("vin"), kind=row.get("customer_kind") or "individual")
    found = resolve(s, p, person, store_id=store_id, event=kind)
    c = found.customer
    out = {"customer_id": c.id, "record_id": None, "created": False, "new_customer": found.new,
           "held_for_review": found.held}
    if found.claim:  # another store's customer or car: the store's claim waits for review, nothing recorded
        return out
    by_store = None if p.is_hq else store_id
    rec: Vehicle | ServiceVisit | InsurancePolicy
    if kind == "vehicles":
        rec, created = register_vehicle(s, c, row["vin"], p.user_id, plate=row.get("plate"),
                                        brand_id=row.get("brand_id"), model=row.get("model"),
                                        purchase_date=row.get("purchase_date"), selling_store_id=store_id,
                                        price=row.get("price"), mileage=row.get("mileage"), by_store=by_store)
        if store_id:
            touch(s, c, store_id, p.user_id, owner_kind="self_sold", last_visit_on=row.get("purchase_date"))
    elif kind == "service-visits":
        assert store_id is not None  # _store_of requires the store of a service visit
        rec, created = record_service_visit(
            s, c, store_id, p.user_id, repair_order=row["repair_order"], visit_date=row["visit_date"],
            kind=row["kind"], vin=row.get("vin"), mileage=row.get("mileage"), amount=row.get("amount"),
            plate=row.get("plate"), model=row.get("model"), brand_id=row.get("brand_id"), by_store=by_store)
    else:
        rec, created = record_insurance(s, c, p.user_id, policy_no=row["policy_no"], insurer=row["insurer"],
                                        starts_on=row["starts_on"], ends_on=row["ends_on"],
                                        premium=row.get("premium"), vin=row.get("vin"), store_id=store_id)
    return {**out, "record_id": rec.id, "created": created}


def _store_of(s: Session, p: Principal, kind: str, row: dict) -> str | None:
    if kind == "service-visits":
        return store_for(s, p, row.get("store_id"), required=True)
    if kind == "vehicles":
        return store_for(s, p, row.get("selling_store_id"), required=False)
    return store_for(s, p, row.get("store_id"), required=False)


def _on_file(s: Session, p: Principal, kind: str, row: dict, store_id: str | None) -> dict | None:
    """The answer for a record already on file (a repeat), before anyone is matched for it."""
    rec: ServiceVisit | InsurancePolicy | None = None
    if kind == "service-visits":  # a repair order number is the store's own
        rec = s.scalar(select(ServiceVisit).where(ServiceVisit.store_id == store_id,
                                                  ServiceVisit.repair_order == row["repair_order"]))
    elif kind == "insurance-policies":  # a policy number is unique in the group
        rec = policy_by_number(s, row["policy_no"])
        if rec is not None and not sees(s, p, rec.customer_id):
            raise Conflict("this policy number is already on file for another store's customer",
                           "policy_on_file")
    if rec is None:
        return None
    return {"customer_id": rec.customer_id, "record_id": rec.id, "created": False, "new_customer": False,
            "held_for_review": False}


def parse_csv(kind: str, raw: bytes) -> list[dict]:
    """Validate every row first; any bad row refuses the whole file with row numbers (nothing written)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the file is not UTF-8 text", errors={"file": ["save the CSV as UTF-8"]}) from None
    reader = csv.DictReader(io.StringIO(text))
    schema = KINDS[kind]()
    required = {n for n, f in schema.fields.items() if f.required}
    missing = required - set(reader.fieldnames or [])
    if missing:
        raise Invalid("columns missing from the CSV header", errors={"header": [f"missing: {', '.join(sorted(missing))}"]})
    rows, errors = [], {}
    for i, raw_row in enumerate(reader, start=2):  # row 1 is the header
        if i - 1 > MAX_ROWS:
            raise Invalid(f"at most {MAX_ROWS} rows per file", errors={"file": [f"more than {MAX_ROWS} rows"]})
        try:
            rows.append(schema.load({k: v for k, v in raw_row.items() if k in schema.fields}))
        except ValidationError as exc:
            errors[f"row {i}"] = exc.messages
    if errors:
        raise Invalid(f"{len(errors)} row(s) are invalid; nothing was imported", errors=errors)
    if not rows:
        raise Invalid("the file has no rows", errors={"file": ["no data rows"]})
    return rows


def import_rows(uow: UnitOfWork, p: Principal, kind: str, rows: list[dict]) -> dict:
    """Every row of a checked file in one unit of work (a dry run is the same, left uncommitted)."""
    out = {"rows": len(rows), "created": 0, "duplicates": 0, "new_customers": 0, "matched_customers": 0,
           "held_for_review": 0}
    for row in rows:
        r = record(uow, p, kind, row)
        out["created" if r["created"] else "duplicates"] += 1
        out["new_customers" if r["new_customer"] else "matched_customers"] += 1
        out["held_for_review"] += r["held_for_review"]
    return out
