"""Tokens: only RS256 from our key, with the right issuer and audience, before expiry."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from shared.auth import InvalidToken, Principal, TokenSigner, TokenVerifier, ensure_keypair

P = Principal("u1", "sh-toyota-pd.sales1", "g1", "demo", "sales_consultant", frozenset({"s1"}), "顾问")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    ensure_keypair(d / "priv.pem", d / "pub.pem")
    return (d / "priv.pem").read_bytes(), (d / "pub.pem").read_bytes()


@pytest.fixture(scope="module")
def signer(keys):
    return TokenSigner(keys[0], keys[1], "crm-identity", "crm", 3600)


@pytest.fixture(scope="module")
def verifier(keys):
    return TokenVerifier(keys[1], "crm-identity", "crm")


def test_a_signed_token_round_trips_with_role_and_store_scope(signer, verifier):
    p = verifier.verify(signer.sign(P))
    assert (p.user_id, p.group_id, p.role, p.store_ids) == ("u1", "g1", "sales_consultant", frozenset({"s1"}))


def test_hq_token_carries_the_whole_group(signer, verifier):
    hq = Principal("u2", "hq.admin", "g1", "demo", "group_admin", None)
    assert verifier.verify(signer.sign(hq)).store_ids is None


def test_expired_token_is_rejected(signer, verifier):
    old = signer.sign(P, now=datetime.now(UTC) - timedelta(hours=2))
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(old)


def test_a_token_verified_before_is_refused_once_it_has_expired(signer, keys, monkeypatch):
    """The verifier remembers a verified token (no signature check per request), but only until it expires."""
    verifier = TokenVerifier(keys[1], "crm-identity", "crm")
    token = signer.sign(P, now=datetime.now(UTC) - timedelta(seconds=3600 - 30))  # 30 s left
    assert verifier.verify(token).user_id == "u1"
    assert verifier.verify(token).user_id == "u1"  # remembered
    later = datetime.now(UTC).timestamp() + 31
    monkeypatch.setattr("shared.auth.time.time", lambda: later)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)


def test_a_remembered_token_with_another_signature_is_still_refused(signer, verifier):
    token = signer.sign(P)
    assert verifier.verify(token).user_id == "u1"
    head, body, sig = token.split(".")
    forged = f"{head}.{body}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    with pytest.raises(InvalidToken):
        verifier.verify(forged)


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_alg_none_is_rejected(signer, verifier):
    claims = jwt.decode(signer.sign(P), options={"verify_signature": False})
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': verifier.kid})}.{_b64(claims)}."
    with pytest.raises(InvalidToken):
        verifier.verify(forged)


def test_hs256_signed_with_the_public_key_is_rejected(keys, signer, verifier):
    import hashlib
    import hmac

    claims = jwt.decode(signer.sign(P), options={"verify_signature": False})
    claims["role"] = "group_admin"
    head = _b64({"alg": "HS256", "typ": "JWT", "kid": verifier.kid})
    body = _b64(claims)
    sig = hmac.new(keys[1], f"{head}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{head}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    with pytest.raises(InvalidToken):
        verifier.verify(forged)


def test_token_from_another_key_is_rejected(tmp_path, verifier):
    ensure_keypair(tmp_path / "k", tmp_path / "k.pub")
    other = TokenSigner((tmp_path / "k").read_bytes(), (tmp_path / "k.pub").read_bytes(), "crm-identity", "crm", 60)
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(other.sign(P))


def test_wrong_issuer_or_audience_is_rejected(keys, verifier):
    for iss, aud in (("someone-else", "crm"), ("crm-identity", "other-app")):
        s = TokenSigner(keys[0], keys[1], iss, aud, 60)
        with pytest.raises(InvalidToken):
            verifier.verify(s.sign(P))


def test_a_token_carries_its_users_token_version(signer, verifier):
    from dataclasses import replace

    assert verifier.verify(signer.sign(replace(P, token_version=7))).token_version == 7
    assert verifier.verify(signer.sign(P)).token_version == 0


def test_a_token_with_a_malformed_version_is_rejected(keys, signer, verifier):
    claims = jwt.decode(signer.sign(P), options={"verify_signature": False}, audience="crm")
    for bad in ("7", -1, 1.5, None, True):
        forged = jwt.encode({**claims, "ver": bad}, serialization.load_pem_private_key(keys[0], None),
                            algorithm="RS256", headers={"kid": verifier.kid})
        with pytest.raises(InvalidToken):
            verifier.verify(forged)


def test_a_signing_key_that_is_not_rsa_is_refused_when_loaded():
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ValueError, match="RSA"):
        TokenSigner(private, public, "crm-identity", "crm", 3600)
    with pytest.raises(ValueError, match="RSA"):
        TokenVerifier(public, "crm-identity", "crm")
