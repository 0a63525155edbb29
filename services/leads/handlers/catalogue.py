"""Master data use cases: the vehicle model catalogue per brand and the competitor list (HQ keeps both),
and the checks every other use case makes against them."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.errors import Invalid, NotFound

from ..domain.catalogue import (
    STARTER,
    STARTER_COMPETITORS,
    CatalogueFileProblem,
    Entry,
    Resolver,
    competitor_problem,
    model_key,
    parse_catalogue,
    read_table,
)
from ..adapters.models import BrandRef, Competitor, StoreRef, VehicleModel
from .common import check_may, reference


def resolver(s: Session, brand_id: str) -> Resolver:
    """The brand's active catalogue, to map names (kept by the process until it changes: `reference`)."""
    m = VehicleModel  # its columns, not the entities: a create reads the whole catalogue to map one name

    def load() -> Resolver:
        return Resolver([Entry(id_, name, series, tuple(aliases or ())) for id_, name, series, aliases in s.execute(
            select(m.id, m.name, m.series, m.aliases).where(m.brand_id == brand_id, m.active.is_(True))
            .order_by(m.series, m.name))])
    return reference(s, "catalogue", brand_id, load)


def canonical_model(s: Session, brand_id: str, name: str | None, field: str = "model") -> tuple[str | None, str | None]:
    """(the catalogue's name, its id) for a typed model name; the name as typed when the brand keeps no
    catalogue; Invalid naming the field when the catalogue does not know it."""
    entry, problem = resolver(s, brand_id).resolve(name)
    if problem:
        raise Invalid("unknown model", "unknown_model", errors={field: ["not in the brand's model catalogue"]})
    if entry is None:
        return (name.strip() if name and name.strip() else None), None
    return entry.name, entry.id


def models_of(s: Session, brand_id: str | None = None, active_only: bool = False) -> list[VehicleModel]:
    q = select(VehicleModel).order_by(VehicleModel.brand_id, VehicleModel.series, VehicleModel.name)
    if brand_id:
        q = q.where(VehicleModel.brand_id == brand_id)
    if active_only:
        q = q.where(VehicleModel.active.is_(True))
    return list(s.scalars(q))


def brands(s: Session) -> list[BrandRef]:
    return list(s.scalars(select(BrandRef).order_by(BrandRef.code)))


def brand_of_store(s: Session, store_id: str | None) -> str | None:
    store = s.get(StoreRef, store_id) if store_id else None
    return store.brand_id if store else None


def _brand(s: Session, brand_id: str) -> BrandRef:
    brand = s.get(BrandRef, brand_id)
    if brand is None:
        raise NotFound("brand")
    return brand


def _keep(s: Session, p: Principal, brand_id: str, existing: dict[str, VehicleModel], row: dict) -> str:
    """Add a model or refresh the one of the same name; 'added' or 'updated'."""
    m = existing.get(model_key(row["name"]))
    if m is None:
        m = VehicleModel(group_id=p.group_id, brand_id=brand_id, name=row["name"], created_by=p.user_id)
        s.add(m)
        existing[model_key(row["name"])] = m
        outcome = "added"
    else:
        outcome = "updated"
    m.series, m.aliases, m.active = row["series"], list(row.get("aliases") or []), True
    if row.get("guide_price") is not None:
        m.guide_price = row["guide_price"]
    return outcome


def _clashes(existing: dict[str, VehicleModel], rows: list[dict]) -> list[dict]:
    """Rows whose alias is another model's name or alias (one name must mean one model)."""
    owner: dict[str, str] = {}
    for m in existing.values():
        for n in (m.name, *(m.aliases or ())):
            owner.setdefault(model_key(n), m.name)
    for r in rows:
        owner[model_key(r["name"])] = r["name"]
    errors = []
    for r in rows:
        for a in r.get("aliases") or ():
            other = owner.get(model_key(a))
            if other and model_key(other) != model_key(r["name"]):
                errors.append({"row": r.get("row"), "reason": f"the alias {a!r} already names {other!r}"})
    return errors


def add_model(s: Session, p: Principal, brand_id: str, data: dict) -> VehicleModel:
    """HQ adds a model to a brand's catalogue (or refreshes the one of the same name)."""
    check_may(p, "leads.catalogue", "only HQ keeps the model catalogue")
    _brand(s, brand_id)
    existing = {model_key(m.name): m for m in models_of(s, brand_id)}
    row = {"series": (data.get("series") or data["name"]).strip(), "name": data["name"].strip(),
           "aliases": [a.strip() for a in data.get("aliases") or [] if a.strip()], "guide_price": data.get("guide_price")}
    clash = _clashes({k: v for k, v in existing.items() if k != model_key(row["name"])}, [row])
    if clash:
        raise Invalid("an other name is already the name of another model", "alias_taken",
                      errors={"aliases": ["already the name of another model"]})
    _keep(s, p, brand_id, existing, row)
    s.flush()
    return existing[model_key(row["name"])]


def set_model_active(s: Session, p: Principal, model_id: str, active: bool) -> VehicleModel:
    """Retire a model (no longer offered nor accepted; records keep its name) or bring it back."""
    check_may(p, "leads.catalogue", "only HQ keeps the model catalogue")
    m = s.get(VehicleModel, model_id)
    if m is None:
        raise NotFound("model")
    m.active = active
    return m


def import_models(s: Session, p: Principal, brand_id: str, filename: str, raw: bytes, dry_run: bool) -> dict:
    """A catalogue file (CSV or XLSX: series, model, aliases, guide price) for a brand. Bad rows are listed
    with their row number and nothing is saved while any row is bad; a dry run saves nothing either."""
    check_may(p, "leads.catalogue", "only HQ keeps the model catalogue")
    _brand(s, brand_id)
    try:
        rows, errors = parse_catalogue(read_table(filename, raw))
    except CatalogueFileProblem as exc:
        raise Invalid(str(exc), errors={"file": [str(exc)]}) from exc
    existing = {model_key(m.name): m for m in models_of(s, brand_id)}
    errors += _clashes(existing, rows)
    result: dict[str, Any] = {"rows": len(rows) + len({e["row"] for e in errors} - {r["row"] for r in rows}), "added": 0,
              "updated": 0, "errors": sorted(errors, key=lambda e: e["row"] or 0), "dry_run": dry_run}
    if errors:
        result["saved"] = False
        return result
    for r in rows:
        result["updated" if model_key(r["name"]) in existing else "added"] += 1
        if not dry_run:
            _keep(s, p, brand_id, existing, r)
    result["saved"] = not dry_run
    return result


def load_starter(s: Session, p: Principal, brand_id: str | None) -> int:
    """Fill a brand's catalogue from the starter list of its brand code (models already kept stay as they are);
    with no brand, every brand that has a starter list, and the starter competitor list. How many were added."""
    check_may(p, "leads.catalogue", "only HQ keeps the model catalogue")
    if brand_id is None:
        known = [b.id for b in brands(s) if b.code.lower() in STARTER]
        return sum(load_starter(s, p, b) for b in known) + load_starter_competitors(s, p)
    brand = _brand(s, brand_id)
    starter = STARTER.get(brand.code.lower())
    if not starter:
        raise Invalid("there is no starter catalogue for this brand", code="no_starter")
    existing = {model_key(m.name): m for m in models_of(s, brand_id)}
    added = 0
    for series, name, aliases, price in starter:
        if model_key(name) not in existing:
            _keep(s, p, brand_id, existing, {"series": series, "name": name, "aliases": list(aliases),
                                             "guide_price": price})
            added += 1
    return added


# --- competitors ------------------------------------------------------------------------------------

def competitors(s: Session, active_only: bool = True) -> list[Competitor]:
    q = select(Competitor).order_by(Competitor.brand, Competitor.model)
    if active_only:
        q = q.where(Competitor.active.is_(True))
    return list(s.scalars(q))


def check_competitor(s: Session, brand: str | None, model: str | None) -> None:
    """A defeat's competitor must be on the group's list when the group keeps one."""
    problem = competitor_problem([(c.brand, c.model) for c in competitors(s)], brand, model)
    if problem:
        field = "competitor_model" if " for " in problem else "competitor_brand"
        raise Invalid("the competitor is not on the list HQ keeps", "unknown_competitor",
                      errors={field: ["not on the competitor list"]})


def add_competitor(s: Session, p: Principal, brand: str, model: str | None) -> Competitor:
    check_may(p, "leads.catalogue", "only HQ keeps the competitor list")
    brand, model = brand.strip(), (model or "").strip()
    row = s.scalar(select(Competitor).where(Competitor.brand == brand, Competitor.model == model))
    if row is None:
        row = Competitor(group_id=p.group_id, brand=brand, model=model)
        s.add(row)
    row.active = True
    s.flush()
    return row


def remove_competitor(s: Session, p: Principal, competitor_id: str) -> None:
    check_may(p, "leads.catalogue", "only HQ keeps the competitor list")
    row = s.get(Competitor, competitor_id)
    if row is None:
        raise NotFound("competitor")
    row.active = False


def load_starter_competitors(s: Session, p: Principal) -> int:
    n = 0
    for brand, model in STARTER_COMPETITORS:
        if s.scalar(select(Competitor.id).where(Competitor.brand == brand, Competitor.model == model)) is None:
            n += 1
        add_competitor(s, p, brand, model)
    return n
