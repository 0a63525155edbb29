"""DMS feeds: vehicles, service visits and insurance policies, one at a time or as a CSV import."""
from __future__ import annotations

import csv
import io

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.errors import fail

from ..models import StoreRef
from ..schemas import InsuranceIn, ServiceVisitIn, VehicleIn
from .identity import Person, match_or_create
from .records import record_insurance, record_service_visit, register_vehicle

KINDS = {"vehicles": VehicleIn, "service-visits": ServiceVisitIn, "insurance-policies": InsuranceIn}
MAX_ROWS = 5000


def store_for(s: Session, p: Principal, store_id: str | None, required: bool) -> str | None:
    """A store user writes for their own store; HQ names the store (404 for a store that is not ours)."""
    if not p.is_hq:
        if store_id and store_id not in (p.store_ids or ()):
            fail(404, "store not found")
        store_id = store_id or p.home_store
    if store_id is None:
        if required:
            fail(422, "store_id is required for group roles", errors={"store_id": ["required for HQ roles"]})
        return None
    if s.get(StoreRef, store_id) is None:
        fail(422, "unknown store", errors={"store_id": ["no such store in this group"]})
    return store_id


def apply_record(s: Session, p: Principal, kind: str, row: dict) -> dict:
    """Match the row's customer (VIN, ID number, phone) and record it; repeats of a record change nothing."""
    person = Person(name=row["customer_name"], phone=row.get("phone"), id_number=row.get("id_number"),
                    vin=row.get("vin"), kind=row.get("customer_kind") or "individual")
    if kind == "service-visits":
        store_id = store_for(s, p, row.get("store_id"), required=True)
    elif kind == "vehicles":
        store_id = store_for(s, p, row.get("selling_store_id"), required=False)
    else:
        store_id = store_for(s, p, row.get("store_id"), required=False)
    c, new = match_or_create(s, p.group_id, person, p.user_id)
    if kind == "vehicles":
        rec, created = register_vehicle(s, c, row["vin"], p.user_id, plate=row.get("plate"),
                                        brand_id=row.get("brand_id"), model=row.get("model"),
                                        purchase_date=row.get("purchase_date"), selling_store_id=store_id,
                                        price=row.get("price"), mileage=row.get("mileage"))
        if store_id:
            from .relationships import touch

            touch(s, c, store_id, p.user_id, owner_kind="self_sold", last_visit_on=row.get("purchase_date"))
    elif kind == "service-visits":
        rec, created = record_service_visit(
            s, c, store_id, p.user_id, repair_order=row["repair_order"], visit_date=row["visit_date"],
            kind=row["kind"], vin=row.get("vin"), mileage=row.get("mileage"), amount=row.get("amount"),
            plate=row.get("plate"), model=row.get("model"), brand_id=row.get("brand_id"))
    else:
        rec, created = record_insurance(s, c, p.user_id, policy_no=row["policy_no"], insurer=row["insurer"],
                                        starts_on=row["starts_on"], ends_on=row["ends_on"],
                                        premium=row.get("premium"), vin=row.get("vin"), store_id=store_id)
    return {"customer_id": c.id, "record_id": rec.id, "created": created, "new_customer": new}


def parse_csv(kind: str, raw: bytes) -> list[dict]:
    """Validate every row first; any bad row refuses the whole file with row numbers (nothing written)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(422, "the file is not UTF-8 text", errors={"file": ["save the CSV as UTF-8"]})
    reader = csv.DictReader(io.StringIO(text))
    schema = KINDS[kind]()
    required = {n for n, f in schema.fields.items() if f.required}
    missing = required - set(reader.fieldnames or [])
    if missing:
        fail(422, "columns missing from the CSV header", errors={"header": [f"missing: {', '.join(sorted(missing))}"]})
    rows, errors = [], {}
    for i, raw_row in enumerate(reader, start=2):  # row 1 is the header
        if i - 1 > MAX_ROWS:
            fail(422, f"at most {MAX_ROWS} rows per file", errors={"file": [f"more than {MAX_ROWS} rows"]})
        try:
            rows.append(schema.load({k: v for k, v in raw_row.items() if k in schema.fields}))
        except ValidationError as exc:
            errors[f"row {i}"] = exc.messages
    if errors:
        fail(422, f"{len(errors)} row(s) are invalid; nothing was imported", errors=errors)
    if not rows:
        fail(422, "the file has no rows", errors={"file": ["no data rows"]})
    return rows


def import_rows(s: Session, p: Principal, kind: str, rows: list[dict]) -> dict:
    out = {"rows": len(rows), "created": 0, "duplicates": 0, "new_customers": 0, "matched_customers": 0}
    for row in rows:
        r = apply_record(s, p, kind, row)
        out["created" if r["created"] else "duplicates"] += 1
        out["new_customers" if r["new_customer"] else "matched_customers"] += 1
    return out
