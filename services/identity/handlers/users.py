"""Users: created, changed, searched, their passwords reset and their accounts unlocked by the group admin.

A change that ends the user's access as it was (role, store, activity, password) raises their token
version, so the tokens they hold stop working on every service (`shared.sessions`).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, Invalid, NotFound
from shared.uow import UnitOfWork

from .. import domain
from ..adapters.models import Group, LoginThrottle, Store, User
from . import emit
from .throttles import account_key


def user_data(u: User) -> dict:
    return {"id": u.id, "username": u.username, "name": u.name, "role": u.role, "store_id": u.store_id,
            "active": u.active, "on_duty": u.on_duty, "email": u.email, "token_version": u.token_version}


def _changed(uow: UnitOfWork, actor: Principal | None, u: User) -> None:
    uow.session.flush()
    brand = uow.session.get_one(Store, u.store_id).brand_id if u.store_id else None
    emit(uow, "user.updated", user_data(u), actor, u.group_id, store_id=u.store_id, brand_id=brand)


def _check_scope(uow: UnitOfWork, role: str, store_id: str | None) -> None:
    problem = domain.validate_role_scope(role, store_id)
    if problem:
        raise Invalid(problem, errors={"store_id" if "store" in problem else "role": [problem]})
    if store_id and uow.session.get(Store, store_id) is None:
        raise Invalid("unknown store", errors={"store_id": ["no such store in this group"]})


def create_user(uow: UnitOfWork, actor: Principal | None, group_id: str, username: str, name: str, role: str,
                password: str, store_id: str | None = None, email: str | None = None,
                password_hash: str | None = None) -> User:
    """A user with a role and, for store roles, a store (the password is hashed before the transaction)."""
    password_hash = password_hash or domain.hash_password(password)
    _check_scope(uow, role, store_id)
    s = uow.session
    if s.scalar(select(User).where(User.group_id == group_id, User.username == username)):
        raise Conflict(f"user {username} exists", "duplicate", {"username": ["already used in this group"]})
    u = User(group_id=group_id, username=username, name=name, role=role, store_id=store_id, email=email,
             password_hash=password_hash, token_version=0)
    s.add(u)
    s.flush()
    brand = s.get_one(Store, store_id).brand_id if store_id else None
    emit(uow, "user.created", user_data(u), actor, group_id, store_id=store_id, brand_id=brand)
    return u


def get_user(uow: UnitOfWork, user_id: str) -> User:
    u = uow.session.get(User, user_id)
    if u is None:
        raise NotFound("user")
    return u


def _access(u: User) -> dict:
    return {f: getattr(u, f) for f in domain.ACCESS_FIELDS}


def _end_sessions_if_needed(u: User, before: dict) -> None:
    if domain.ends_sessions(before, _access(u)):
        u.token_version += 1


def update_user(uow: UnitOfWork, actor: Principal, user_id: str, changes: dict) -> User:
    """Change a user's name, e-mail, duty, activity, role or store (or, as a reset, password)."""
    new_hash = domain.hash_password(changes["password"]) if changes.get("password") else None
    u = get_user(uow, user_id)
    before = _access(u)
    role = changes.get("role", u.role)
    store_id = changes.get("store_id", u.store_id) if "store_id" in changes or role in domain.STORE_ROLES else None
    if role in domain.HQ_ROLES:
        store_id = None
    _check_scope(uow, role, store_id)
    if u.id == actor.user_id and (role != u.role or changes.get("active") is False):
        raise Conflict("you cannot take your own access away; ask another group admin", "own_access")
    u.role, u.store_id = role, store_id
    for key in ("name", "email", "active", "on_duty"):
        if key in changes:
            setattr(u, key, changes[key])
    if new_hash:
        u.password_hash = new_hash
        _unlock(uow, u)
    _end_sessions_if_needed(u, before)
    _changed(uow, actor, u)
    return u


def reset_password(uow: UnitOfWork, actor: Principal, user_id: str, password: str) -> User:
    """The admin gives a user a new password: it unlocks the account and ends the user's sessions."""
    return update_user(uow, actor, user_id, {"password": password})


def _unlock(uow: UnitOfWork, u: User) -> None:
    code = uow.session.get_one(Group, u.group_id).code
    uow.session.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(code, u.username)))


def unlock(uow: UnitOfWork, actor: Principal, user_id: str) -> User:
    """Let a user whose account name is locked after failed logins try again at once."""
    u = get_user(uow, user_id)
    _unlock(uow, u)
    return u


@dataclass(frozen=True)
class UserFilter:
    q: str | None = None  # part of the username or name
    store_id: str | None = None
    role: str | None = None
    active: bool | None = None


def find_users(uow: UnitOfWork, f: UserFilter) -> list[User]:
    """Users in the caller's scope (HQ: the group; store roles: their store), HQ first, then by store."""
    q = select(User).order_by(User.store_id.is_not(None), User.store_id, User.role, User.username)
    if f.q:
        like = f"%{f.q.strip()}%"
        q = q.where(or_(User.username.ilike(like), User.name.ilike(like)))
    if f.store_id:
        q = q.where(User.store_id == f.store_id)
    if f.role:
        q = q.where(User.role == f.role)
    if f.active is not None:
        q = q.where(User.active.is_(f.active))
    return list(uow.session.scalars(q))


def locked_usernames(uow: UnitOfWork, group_id: str) -> set[str]:
    """Usernames of the group whose account name is locked now (the admin may unlock them)."""
    code = uow.session.get_one(Group, group_id).code
    prefix = account_key(code, "")
    keys = uow.session.scalars(select(LoginThrottle.key).where(LoginThrottle.key.startswith(prefix, autoescape=True),
                                                                LoginThrottle.locked_until > utcnow()))
    return {k[len(prefix):] for k in keys}
