"""Protected ID numbers: a keyed hash to find them by exact match, and a sealed copy to reveal or export.

- `lookup_key`: HMAC-SHA256 keyed with a key derived from the service secret, over the group and the
  normalised number. Equal numbers give equal keys (an index finds them); a fragment gives an
  unrelated key, so partial matches are impossible, and without the secret the key cannot be
  brute-forced from the small space of valid ID numbers. The group in the input keeps groups apart.
- `seal` / `unseal`: AES-256-GCM with a second derived key, so that an explicit, logged reveal and
  the data export can show the number. Only the masked form (310***********1234) is ever displayed.
Changing SECRET_KEY invalidates both: rotate by re-sealing (documented in the service README).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"crm-customers", info=purpose).derive(secret.encode())


class Pii:
    def __init__(self, secret: str):
        self._mac_key = _derive(secret, b"id-number-lookup")
        self._aead = AESGCM(_derive(secret, b"id-number-seal"))

    def lookup_key(self, group_id: str, id_number: str) -> str:
        return hmac.new(self._mac_key, f"{group_id}:{id_number}".encode(), hashlib.sha256).hexdigest()

    def seal(self, group_id: str, value: str) -> str:
        nonce = os.urandom(12)
        return base64.b64encode(nonce + self._aead.encrypt(nonce, value.encode(), group_id.encode())).decode()

    def unseal(self, group_id: str, sealed: str) -> str:
        raw = base64.b64decode(sealed)
        return self._aead.decrypt(raw[:12], raw[12:], group_id.encode()).decode()


def pii_of(session: Session) -> Pii:
    """The service's PII keys, attached to every session by `app.build`."""
    pii = session.info.get("pii")
    if pii is None:
        raise RuntimeError("customers session without PII keys (build the runtime with app.build)")
    return pii
