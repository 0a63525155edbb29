"""Identity use cases; each runs in the caller's unit of work and writes its events to the outbox."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth import Principal, TokenSigner
from shared.bus import emit
from shared.db import Database, utcnow
from shared.errors import fail
from shared.events import Event
from shared.tenancy import Scope

from . import domain
from .models import Brand, Group, Store, User


class LoginFailed(Exception):
    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.status = status


@dataclass
class LoginResult:
    token: str
    principal: Principal
    expires_in: int


def principal_of(user: User, group: Group) -> Principal:
    stores = None if user.role in domain.HQ_ROLES else frozenset({user.store_id})
    return Principal(user.id, user.username, group.id, group.code, user.role, stores, user.name)


def login(db: Database, signer: TokenSigner, group_code: str, username: str, password: str) -> LoginResult:
    """Check the password (argon2id); lock the account for a while after repeated failures."""
    now = utcnow()
    failure: LoginFailed | None = None
    with db.session(Scope.system()) as s:  # commits the failure count too, so the lockout holds
        group = s.scalar(select(Group).where(Group.code == group_code.strip().lower()))
        user = None
        if group is not None:
            user = s.scalar(select(User).where(User.group_id == group.id, User.username == username.strip()))
        if user is not None and domain.is_locked(user.locked_until, now):
            domain.verify_password(None, password)
            failure = LoginFailed("too many failed attempts; the account is locked for 15 minutes", 429)
        elif not domain.verify_password(user.password_hash if user else None, password) or not user.active:
            if user is not None:
                user.failed_logins, user.locked_until = domain.after_failed_login(user.failed_logins, now)
            failure = LoginFailed("wrong group, username or password")
        else:
            user.failed_logins, user.locked_until = 0, None
            p = principal_of(user, group)
    if failure is not None:
        raise failure
    return LoginResult(signer.sign(p), p, signer.ttl)  # tokens live in real time, whatever the platform clock says


def _event(s: Session, kind: str, data: dict, actor: Principal | None, group_id: str, **kw) -> None:
    emit(s, Event(type=f"identity.{kind}", data=data, group_id=group_id, actor=actor.user_id if actor else None, **kw))


def create_group(s: Session, code: str, name: str, timezone: str = "Asia/Shanghai", group_id: str | None = None) -> Group:
    """Create a tenant (platform operator only: CLI and seed)."""
    if s.scalar(select(Group).where(Group.code == code)):
        fail(409, f"group {code} exists", "duplicate")
    g = Group(code=code, name=name, timezone=timezone)
    if group_id:
        g.id = group_id
    g.group_id = g.id
    s.add(g)
    s.flush()
    _event(s, "group.created", {"id": g.id, "code": code, "name": name, "timezone": timezone}, None, g.id)
    return g


def create_brand(s: Session, actor: Principal | None, group_id: str, code: str, name: str, brand_id: str | None = None) -> Brand:
    if s.scalar(select(Brand).where(Brand.group_id == group_id, Brand.code == code)):
        fail(409, f"brand {code} exists", "duplicate", {"code": ["already used in this group"]})
    b = Brand(group_id=group_id, code=code, name=name)
    if brand_id:
        b.id = brand_id
    s.add(b)
    s.flush()
    _event(s, "brand.created", {"id": b.id, "code": code, "name": name}, actor, group_id, brand_id=b.id)
    return b


def _store_data(st: Store) -> dict:
    return {"id": st.id, "code": st.code, "name": st.name, "brand_id": st.brand_id, "city": st.city,
            "timezone": st.timezone, "active": st.active}


def create_store(s: Session, actor: Principal | None, group_id: str, brand_id: str, code: str, name: str,
                 city: str = "", timezone: str = "Asia/Shanghai", store_id: str | None = None) -> Store:
    if s.get(Brand, brand_id) is None:
        fail(422, "unknown brand", errors={"brand_id": ["no such brand in this group"]})
    if s.scalar(select(Store).where(Store.group_id == group_id, Store.code == code)):
        fail(409, f"store {code} exists", "duplicate", {"code": ["already used in this group"]})
    st = Store(group_id=group_id, brand_id=brand_id, code=code, name=name, city=city, timezone=timezone)
    if store_id:
        st.id = store_id
    s.add(st)
    s.flush()
    _event(s, "store.created", _store_data(st), actor, group_id, brand_id=brand_id, store_id=st.id)
    return st


def update_store(s: Session, actor: Principal, store_id: str, changes: dict) -> Store:
    st = s.get(Store, store_id)
    if st is None:
        fail(404, "store not found")
    for key in ("name", "city", "timezone", "active"):
        if key in changes:
            setattr(st, key, changes[key])
    s.flush()
    _event(s, "store.updated", _store_data(st), actor, st.group_id, brand_id=st.brand_id, store_id=st.id)
    return st


def _user_data(u: User) -> dict:
    return {"id": u.id, "username": u.username, "name": u.name, "role": u.role, "store_id": u.store_id,
            "active": u.active, "on_duty": u.on_duty, "email": u.email}


def _check_scope(s: Session, role: str, store_id: str | None) -> None:
    problem = domain.validate_role_scope(role, store_id)
    if problem:
        fail(422, problem, errors={"store_id" if "store" in problem else "role": [problem]})
    if store_id and s.get(Store, store_id) is None:
        fail(422, "unknown store", errors={"store_id": ["no such store in this group"]})


def create_user(s: Session, actor: Principal | None, group_id: str, username: str, name: str, role: str,
                password: str, store_id: str | None = None, email: str | None = None,
                password_hash: str | None = None) -> User:
    _check_scope(s, role, store_id)
    if s.scalar(select(User).where(User.group_id == group_id, User.username == username)):
        fail(409, f"user {username} exists", "duplicate", {"username": ["already used in this group"]})
    u = User(group_id=group_id, username=username, name=name, role=role, store_id=store_id, email=email,
             password_hash=password_hash or domain.hash_password(password))
    s.add(u)
    s.flush()
    brand = s.get(Store, store_id).brand_id if store_id else None
    _event(s, "user.created", _user_data(u), actor, group_id, store_id=store_id, brand_id=brand)
    return u


def update_user(s: Session, actor: Principal, user_id: str, changes: dict) -> User:
    u = s.get(User, user_id)
    if u is None:
        fail(404, "user not found")
    role = changes.get("role", u.role)
    store_id = changes.get("store_id", u.store_id) if "store_id" in changes or role in domain.STORE_ROLES else None
    if role in domain.HQ_ROLES:
        store_id = None
    _check_scope(s, role, store_id)
    u.role, u.store_id = role, store_id
    for key in ("name", "email", "active", "on_duty"):
        if key in changes:
            setattr(u, key, changes[key])
    if changes.get("password"):
        u.password_hash = domain.hash_password(changes["password"])
        u.failed_logins, u.locked_until = 0, None
    s.flush()
    _event(s, "user.updated", _user_data(u), actor, u.group_id, store_id=u.store_id)
    return u
