"""Page weight: the HQ dashboard's scripts stay under 1.5 MB, and answers are compressed where the client accepts it."""
from __future__ import annotations

import gzip
import re

import brotli

UNPACK = {"gzip": gzip.decompress, "br": brotli.decompress}
LIMIT = 1_500_000  # bytes of script the dashboard may load, uncompressed


def _scripts(html: str) -> list[str]:
    return re.findall(r'<script[^>]+src="([^"]+)"', html)


def test_the_dashboard_loads_at_most_one_and_a_half_megabytes_of_script(api):
    page = api.get("/analytics/", as_="hq.admin")
    assert page.status_code == 200
    srcs = _scripts(page.get_data(as_text=True))
    assert any("plotly" in s for s in srcs)
    sizes = {}
    for src in srcs:
        r = api.get(src, as_="hq.admin")
        assert r.status_code == 200, src
        sizes[src] = len(r.get_data())
    print("dashboard scripts:", sizes, "total", sum(sizes.values()), "limit", LIMIT)
    assert sum(sizes.values()) <= LIMIT, sizes


def same_page(body: bytes) -> bytes:
    """The body without its CSRF tokens: a token carries the second it was signed in, so two requests a
    second apart on a busy machine get different ones."""
    return re.sub(rb'((?:name="csrf_token" value|data-csrf)=")[^"]*"', rb'\1"', body)


def test_pages_and_scripts_are_compressed_for_a_client_that_accepts_it(api):
    """As Chromium asks (gzip, deflate, br): pages in gzip, files sent as streams in brotli."""
    for path in ("/analytics/", "/analytics/vendor/plotly.min.js", "/leads/_shared/crm.css"):
        plain = api.get(path, as_="hq.admin")
        packed = api.client.get(path, headers={**api.headers("hq.admin"), "Accept-Encoding": "gzip, deflate, br"})
        encoding = packed.headers.get("Content-Encoding")
        assert encoding in ("gzip", "br"), path
        body = packed.get_data()
        assert same_page(UNPACK[encoding](body)) == same_page(plain.get_data()), path
        print(path, len(plain.get_data()), "->", len(body), encoding)
        if path.endswith(".js"):
            assert len(body) < len(plain.get_data()) / 2
