"""The org tree: groups (by the platform operator), brands and stores (by the group admin)."""
from __future__ import annotations

from sqlalchemy import select

from shared.auth import Principal
from shared.config import DEFAULT_TIMEZONE
from shared.errors import Conflict, Invalid, NotFound
from shared.uow import UnitOfWork

from .. import domain
from ..adapters.models import Brand, Group, Store
from . import emit



def check_time_zone(name: str) -> None:
    if not domain.is_time_zone(name):
        raise Invalid(f"unknown time zone {name!r}", errors={"timezone": ["not a time zone of the tz database, "
                                                                          "e.g. Asia/Shanghai"]})


def group_of_code(uow: UnitOfWork, code: str) -> Group | None:
    return uow.session.scalar(select(Group).where(Group.code == code))


def create_group(uow: UnitOfWork, code: str, name: str, timezone: str = DEFAULT_TIMEZONE, group_id: str | None = None) -> Group:
    """Create a tenant (platform operator only: CLI and seed)."""
    check_time_zone(timezone)
    if uow.session.scalar(select(Group).where(Group.code == code)):
        raise Conflict(f"group {code} exists", "duplicate")
    g = Group(code=code, name=name, timezone=timezone)
    if group_id:
        g.id = group_id
    g.group_id = g.id
    uow.session.add(g)
    uow.session.flush()
    emit(uow, "group.created", {"id": g.id, "code": code, "name": name, "timezone": timezone}, None, g.id)
    return g


def create_brand(uow: UnitOfWork, actor: Principal | None, group_id: str, code: str, name: str,
                 brand_id: str | None = None) -> Brand:
    s = uow.session
    if s.scalar(select(Brand).where(Brand.group_id == group_id, Brand.code == code)):
        raise Conflict(f"brand {code} exists", "duplicate", {"code": ["already used in this group"]})
    b = Brand(group_id=group_id, code=code, name=name)
    if brand_id:
        b.id = brand_id
    s.add(b)
    s.flush()
    emit(uow, "brand.created", {"id": b.id, "code": code, "name": name}, actor, group_id, brand_id=b.id)
    return b


def _store_data(st: Store) -> dict:
    return {"id": st.id, "code": st.code, "name": st.name, "brand_id": st.brand_id, "city": st.city,
            "timezone": st.timezone, "active": st.active}


def create_store(uow: UnitOfWork, actor: Principal | None, group_id: str, brand_id: str, code: str, name: str,
                 city: str = "", timezone: str = DEFAULT_TIMEZONE, store_id: str | None = None) -> Store:
    s = uow.session
    check_time_zone(timezone)
    if s.get(Brand, brand_id) is None:
        raise Invalid("unknown brand", errors={"brand_id": ["no such brand in this group"]})
    if s.scalar(select(Store).where(Store.group_id == group_id, Store.code == code)):
        raise Conflict(f"store {code} exists", "duplicate", {"code": ["already used in this group"]})
    st = Store(group_id=group_id, brand_id=brand_id, code=code, name=name, city=city, timezone=timezone)
    if store_id:
        st.id = store_id
    s.add(st)
    s.flush()
    emit(uow, "store.created", _store_data(st), actor, group_id, brand_id=brand_id, store_id=st.id)
    return st


def update_store(uow: UnitOfWork, actor: Principal, store_id: str, changes: dict) -> Store:
    """Rename, move (city), change the time zone of, or close a store."""
    if "timezone" in changes:
        check_time_zone(changes["timezone"])
    st = uow.session.get(Store, store_id)
    if st is None:
        raise NotFound("store")
    for key in ("name", "city", "timezone", "active"):
        if key in changes:
            setattr(st, key, changes[key])
    uow.session.flush()
    emit(uow, "store.updated", _store_data(st), actor, st.group_id, brand_id=st.brand_id, store_id=st.id)
    return st
