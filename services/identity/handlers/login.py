"""Logging in, and a user changing their own password.

The password is checked (argon2id, deliberately slow) outside any transaction: a short one reads the
account and the throttles, the check runs with no lock held, and another short one records the
outcome. (On SQLite a writing transaction takes the write lock; holding it through the check made
parallel logins fail with `database is locked`. The first read is `read_only`: it takes no lock.)

Answers do not tell which accounts exist: a wrong password, an unknown user or group and an inactive
user all get the same 401 after the same work (an unknown account is checked against a dummy hash);
failed logins lock an account *name* for a while whether or not it exists, and a locked name gets the
same 429 either way. Failures are also counted per client address, which is refused as a whole once
it reaches its limit (`domain.ADDRESS`).
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from sqlalchemy import select

from shared.auth import Principal, TokenSigner
from shared.db import read_only, utcnow
from shared.errors import DomainError, Invalid
from shared.tenancy import Scope
from shared.uow import UnitOfWork

from .. import domain
from ..adapters.models import Group, User
from . import emit, throttles
from .users import user_data

OpenUow = Callable[[Scope], UnitOfWork]
WRONG = "wrong group, username or password"


class LoginRefused(DomainError):
    """Wrong group, username or password, or an inactive user: one answer for all of them."""

    status, default_code = 401, "invalid_credentials"

    def __init__(self) -> None:
        super().__init__(WRONG)


class TooManyAttempts(DomainError):
    """Too many failed logins for this account name or from this address; try again after `retry_after` s."""

    status, default_code = 429, "locked"

    def __init__(self, retry_after: int):
        super().__init__("too many failed attempts; try again later")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    group: str
    username: str
    password: str
    address: str | None = None  # the client's address, for the per-address throttle


@dataclass(frozen=True)
class LoginResult:
    token: str
    principal: Principal
    expires_in: int


@dataclass(frozen=True)
class _Account:
    """What the check needs of a user, copied out of the read transaction."""

    user_id: str
    password_hash: str
    active: bool


def principal_of(user: User, group: Group) -> Principal:
    stores = None if user.role in domain.HQ_ROLES else frozenset({user.store_id} if user.store_id else ())
    return Principal(user.id, user.username, group.id, group.code, user.role, stores, user.name, user.token_version)


def signed(uow: UnitOfWork, user: User) -> LoginResult:
    """A token for `user` as they are now (their current role, store and token version)."""
    p = principal_of(user, uow.session.get_one(Group, user.group_id))
    signer: TokenSigner = uow.extras["signer"]  # identity's runtime extra (app.build)
    return LoginResult(signer.sign(p), p, signer.ttl)  # tokens live in real time, as every service checks them


def group_of(s, attempt: Attempt) -> str | None:
    """The group an attempt names by its code (what scopes a login: `ServiceRuntime.scope_of_unsigned`)."""
    return s.scalar(select(Group.id).where(Group.code == attempt.group.strip().lower()))


def login(open_uow: OpenUow, attempt: Attempt, scope: Scope) -> LoginResult:
    """Check the password; count failures per account name and per address, lock at their limits. `scope`
    is the group's the attempt names (`group_of`), which the caller looked up."""
    now = utcnow()
    account = throttles.account_key(attempt.group, attempt.username)
    address = throttles.address_key(attempt.address)
    with read_only(), open_uow(scope) as uow:  # the user is not known yet; a read, no write lock
        found = _account(uow, attempt)
        by_account, by_address = throttles.tally(uow.session, account), throttles.tally(uow.session, address)
    wait = domain.retry_after(by_address, now)
    if wait is not None:
        raise TooManyAttempts(wait)
    wait = domain.retry_after(by_account, now)
    if wait is not None:
        domain.verify_password(None, attempt.password)  # the same work whether or not the account exists
        raise TooManyAttempts(wait)
    ok = domain.verify_password(found.password_hash if found else None, attempt.password)
    result = _signed_if_unchanged(open_uow, scope, found, account if by_account else None) if ok and found else None
    if result is None:
        with open_uow(scope) as uow:
            throttles.prune(uow.session, now)
            throttles.count_failure(uow.session, account, domain.ACCOUNT, now)
            throttles.count_failure(uow.session, address, domain.ADDRESS, now)
            uow.commit()
        raise LoginRefused()
    return result


def _signed_if_unchanged(open_uow: OpenUow, scope: Scope, found: _Account, forget: str | None) -> LoginResult | None:
    """A token, if the user still has the password just checked and is still active (an admin may have
    acted meanwhile); the account's failures, if it had any, are forgotten. Without any to forget this
    only reads (no write lock on SQLite)."""
    with nullcontext() if forget else read_only(), open_uow(scope) as uow:
        user = uow.session.get(User, found.user_id)
        if user is None or not user.active or user.password_hash != found.password_hash:
            return None
        if forget:
            throttles.forget(uow.session, forget)
        result = signed(uow, user)
        uow.commit()
    return result


def _account(uow: UnitOfWork, attempt: Attempt) -> _Account | None:
    s = uow.session
    group_id = group_of(s, attempt)
    if group_id is None:
        return None
    row = s.execute(select(User.id, User.password_hash, User.active)
                    .where(User.group_id == group_id, User.username == attempt.username.strip())).first()
    return None if row is None else _Account(*row)


def change_password(open_uow: OpenUow, p: Principal, current: str, new: str) -> LoginResult:
    """The signed-in user sets a new password: every session they hold ends, and this one goes on with
    the token returned. A wrong current password counts as a failed login of the account."""
    if current == new:
        raise Invalid("the new password must differ from the current one", errors={"new_password": ["unchanged"]})
    account = throttles.account_key(p.group_code, p.username)
    with open_uow(p.scope) as uow:
        user = uow.session.get(User, p.user_id)
        old_hash = user.password_hash if user is not None else None
        wait = domain.retry_after(throttles.tally(uow.session, account), utcnow())
    if wait is not None:
        raise TooManyAttempts(wait)
    if not domain.verify_password(old_hash, current):
        with open_uow(p.scope) as uow:
            throttles.count_failure(uow.session, account, domain.ACCOUNT, utcnow())
            uow.commit()
        raise Invalid("the current password is wrong", errors={"current_password": ["wrong password"]})
    new_hash = domain.hash_password(new)
    with open_uow(p.scope) as uow:
        user = uow.session.get(User, p.user_id)
        if user is None or user.password_hash != old_hash or not user.active:
            raise Invalid("the password was changed meanwhile; log in again", code="stale_password")
        user.password_hash = new_hash
        user.token_version += 1
        throttles.forget(uow.session, account)
        uow.session.flush()
        emit(uow, "user.updated", user_data(user), p, user.group_id, store_id=user.store_id)
        result = signed(uow, user)
        uow.commit()
    return result
