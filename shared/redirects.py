"""Where a `next=` may send the browser after login or a language switch: only to a path on this site.

Browsers drop tabs and line breaks from a URL and read `\\` as `/`, so `/\\t/evil.example` and
`/\\evil.example` leave the site just as `//evil.example` and `https://evil.example` do. A target is
kept only when it is a path that starts with exactly one `/`, holds no control character and no
backslash, names no scheme and no host — and stays so after percent-decoding (`/%2F/evil.example`,
`%2F%2Fevil.example`), so that no later decoding can turn it into another site.
"""
from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MAX_LENGTH = 2048
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DECODINGS = 3  # a path encoded three times over is not a path anybody meant


def same_site_path(target: str | None, default: str = "/") -> str:
    """`target` when it is a path on this site (e.g. `/leads/?q=%E7%8E%8B`), else `default`."""
    if not target or len(target) > MAX_LENGTH:
        return default
    form = target
    for _ in range(_DECODINGS):
        if not _is_local_path(form):
            return default
        decoded = unquote(form)
        if decoded == form:
            return target
        form = decoded
    return default


def _is_local_path(url: str) -> bool:
    if _CONTROL.search(url) or "\\" in url:
        return False
    if not url.startswith("/") or url.startswith("//"):
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc
