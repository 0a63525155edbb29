"""A `next=` only ever leads to a path on this site, however it is spelled."""
from __future__ import annotations

import pytest

from shared.redirects import same_site_path

OFF_SITE = [
    "//evil.example",
    "//evil.example/path",
    "/\t/evil.example",  # ?next=/%09/evil.example: browsers drop the tab
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\\evil.example",  # browsers read '\' as '/'
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    " //evil.example",
    "/%2F/evil.example",  # an encoded second slash
    "%2F%2Fevil.example",
    "/%5Cevil.example",  # an encoded backslash
    "/%09/evil.example",  # encoded tab, left for a later decoding
    "/%252F/evil.example",  # encoded twice
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "/" + "a" * 5000,
    "",
    None,
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_an_off_site_or_malformed_target_falls_back_to_the_default(target):
    assert same_site_path(target, "/home") == "/home"


@pytest.mark.parametrize("target", [
    "/",
    "/leads/",
    "/identity/users?store_id=abc",
    "/customers/?q=%E7%8E%8B%E5%BB%BA%E5%9B%BD",
    "/customers/?q=王建国",
    "/leads/board#late",
    "/customers/?q=/王建国",
])
def test_a_path_on_this_site_is_kept_as_it_is(target):
    assert same_site_path(target, "/home") == target
