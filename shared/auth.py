"""Tokens: identity signs RS256 JWTs; every service verifies them and guards views by role.

Rejected: any algorithm but RS256 (so `alg=none` and HS256 signed with the public key fail),
an unknown `kid`, a wrong issuer or audience, and expired tokens. A token also carries its user's
token version (`ver`): a signed, unexpired token whose version is older than the user's current one is
refused by the request authentication (`shared.sessions`).
"""
from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import abort, g

from shared.tenancy import HQ_ROLES, Scope


def ensure_keypair(private_file: Path, public_file: Path) -> None:
    """Embedded mode: create the signing key on first start (never committed, lives under var/)."""
    if private_file.exists() and public_file.exists():
        return
    private_file.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    private_file.chmod(0o600)
    public_file.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def key_id(public_pem: bytes) -> str:
    return hashlib.sha256(public_pem.strip()).hexdigest()[:16]


@dataclass(frozen=True)
class Principal:
    """The caller, as the token says."""

    user_id: str
    username: str
    group_id: str
    group_code: str
    role: str
    store_ids: frozenset[str] | None  # None: the whole group ("*")
    name: str = ""
    token_version: int = 0  # the user's token version when the token was signed (`shared.sessions`)

    @property
    def is_hq(self) -> bool:
        return self.role in HQ_ROLES

    @property
    def scope(self) -> Scope:
        return Scope(group_id=self.group_id, store_ids=self.store_ids, user_id=self.user_id, role=self.role)

    @property
    def home_store(self) -> str | None:
        return next(iter(sorted(self.store_ids))) if self.store_ids else None


class TokenSigner:
    def __init__(self, private_pem: bytes, public_pem: bytes, issuer: str, audience: str, ttl: int):
        private = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(private, rsa.RSAPrivateKey):  # tokens are RS256
            raise ValueError("the token signing key must be an RSA private key")
        self._private = private
        self.kid = key_id(public_pem)
        self.issuer, self.audience, self.ttl = issuer, audience, ttl

    def sign(self, p: Principal, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        claims = {
            "sub": p.user_id,
            "usr": p.username,
            "name": p.name,
            "grp": p.group_id,
            "gcode": p.group_code,
            "role": p.role,
            "stores": ["*"] if p.store_ids is None else sorted(p.store_ids),
            "ver": p.token_version,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + timedelta(seconds=self.ttl),
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._private, algorithm="RS256", headers={"kid": self.kid})


class InvalidToken(Exception):
    pass


class TokenVerifier:
    def __init__(self, public_pem: bytes, issuer: str, audience: str):
        self.public_pem = public_pem
        key = serialization.load_pem_public_key(public_pem)
        if not isinstance(key, rsa.RSAPublicKey):  # tokens are RS256
            raise ValueError("the token verifying key must be an RSA public key")
        self._key = key
        self.kid = key_id(public_pem)
        self.issuer, self.audience = issuer, audience
        self._verified: dict[str, tuple[Principal, float]] = {}

    #: verified tokens this process keeps (a user's requests carry the same token for hours)
    CACHE_SIZE = 4096

    def verify(self, token: str) -> Principal:
        """The caller a token names, if it is signed by identity's key for this issuer and audience and has
        not expired. A token verified once is remembered until it expires (the signature of the same
        bytes cannot turn false; only time can end it, and it is checked on every use): an RS256
        verification and two JSON parses fewer per request. Whether its session still stands is the
        request authentication's own check, made on every request (`shared.sessions`)."""
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires = cached
            if time.time() < expires:
                return principal
            del self._verified[token]
            raise InvalidToken("Signature has expired")
        principal, expires = self._verify(token)
        if len(self._verified) >= self.CACHE_SIZE:
            now = time.time()
            self._verified = {t: v for t, v in self._verified.items() if v[1] > now}
            if len(self._verified) >= self.CACHE_SIZE:
                self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256":
                raise InvalidToken("token algorithm must be RS256")
            if header.get("kid") != self.kid:
                raise InvalidToken("token signed by an unknown key")
            c = jwt.decode(
                token,
                self._key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        stores = c.get("stores") or []
        version = c.get("ver", 0)
        if type(version) is not int or version < 0:
            raise InvalidToken("token version must be a non-negative integer")
        return (Principal(
            user_id=c["sub"],
            username=c.get("usr", ""),
            group_id=c["grp"],
            group_code=c.get("gcode", ""),
            role=c["role"],
            store_ids=None if stores == ["*"] else frozenset(stores),
            name=c.get("name", ""),
            token_version=version,
        ), float(c["exp"]))


def current_principal() -> Principal:
    p = getattr(g, "principal", None)
    if p is None:
        abort(401, "authentication required")
    return p


def require_roles(*roles: str):
    """Guard a view: the caller must be signed in and hold one of `roles` (none given: any role)."""

    def deco(fn):
        @wraps(fn)
        def wrapper(*a, **kw):
            p = current_principal()
            if roles and p.role not in roles:
                abort(403, f"role {p.role} may not do this")
            return fn(*a, **kw)

        wrapper.required_roles = roles
        return wrapper

    return deco
