"""Identity rules with no I/O: roles, store scope, password hashing (argon2id), lockout."""
from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.tenancy import HQ_ROLES, ROLES

STORE_ROLES = ROLES - HQ_ROLES
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
_DUMMY = _hasher.hash("timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(hashed: str | None, password: str) -> bool:
    """Constant work whether or not the user exists, so timing does not reveal usernames."""
    try:
        return _hasher.verify(hashed or _DUMMY, password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


def validate_role_scope(role: str, store_id: str | None) -> str | None:
    """Return an error message if the role and store scope don't fit together."""
    if role not in ROLES:
        return f"unknown role {role!r}"
    if role in STORE_ROLES and not store_id:
        return f"role {role} needs a store"
    if role in HQ_ROLES and store_id:
        return f"role {role} works for the whole group and takes no store"
    return None


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


def after_failed_login(failed: int, now: datetime) -> tuple[int, datetime | None]:
    """One more failure; the account locks for LOCKOUT after MAX_FAILED_LOGINS in a row."""
    failed += 1
    if failed >= MAX_FAILED_LOGINS:
        return 0, now + LOCKOUT
    return failed, None
