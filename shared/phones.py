"""Phone numbers: normalised to E.164 (China by default) before any matching, masked for display."""
from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers


class InvalidPhone(ValueError):
    pass


_CN_MOBILE_E164 = re.compile(r"\+861\d{10}")


@lru_cache(maxsize=65536)
def normalize(raw: str, region: str = "CN") -> str:
    """'+86 138 0013 8000', '13800138000', '0086-138...' → '+8613800138000'; raises InvalidPhone.

    Cached: a lead's events and a customer's records carry the same number again and again.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("phone is empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    if _CN_MOBILE_E164.fullmatch(text):  # already E.164 (what other services send): only validate it
        num = phonenumbers.PhoneNumber(country_code=86, national_number=int(text[3:]))
    else:
        try:
            num = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException as exc:
            raise InvalidPhone(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(num):
        raise InvalidPhone(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def try_normalize(raw: str, region: str = "CN") -> str | None:
    try:
        return normalize(raw, region)
    except InvalidPhone:
        return None


def mask(e164: str | None) -> str:
    """'+8613800138000' → '+86 138****8000'."""
    if not e164:
        return ""
    if e164.startswith("+86") and len(e164) == 14:
        return f"+86 {e164[3:6]}****{e164[-4:]}"
    return e164[:-8] + "****" + e164[-4:] if len(e164) > 8 else "****"
