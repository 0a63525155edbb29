"""Read models of identity's pages and API (no use case here, only what a screen shows)."""
from __future__ import annotations

from sqlalchemy import select

from shared.uow import UnitOfWork

from .adapters.models import Brand, Group, Store


def org_tree(uow: UnitOfWork, group_id: str) -> dict:
    """The group with its brands and stores, by code (plain values: they outlive the unit of work)."""
    s = uow.session
    g = s.get_one(Group, group_id)
    return {
        "group": {"id": g.id, "code": g.code, "name": g.name, "timezone": g.timezone},
        "brands": [{"id": b.id, "code": b.code, "name": b.name} for b in s.scalars(select(Brand).order_by(Brand.code))],
        "stores": [_store(st) for st in s.scalars(select(Store).order_by(Store.code))],
    }


def _store(st: Store) -> dict:
    return {"id": st.id, "brand_id": st.brand_id, "code": st.code, "name": st.name, "city": st.city,
            "timezone": st.timezone, "active": st.active}


def stores_by_id(uow: UnitOfWork) -> dict[str, dict]:
    return {st.id: _store(st) for st in uow.session.scalars(select(Store).order_by(Store.code))}
