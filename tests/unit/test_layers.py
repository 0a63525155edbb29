"""The rules of the service template that import-linter cannot see (docs/architecture.md): entrypoints read
through views and handlers, handlers speak the domain's errors, not HTTP's."""
from __future__ import annotations

import re
from pathlib import Path

from shared.config import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def _modules(layer: str) -> list[Path]:
    found = [p for svc in SERVICES for p in sorted((ROOT / "services" / svc / layer).rglob("*.py"))]
    assert found, f"no {layer} modules found"
    return found


def _lines(paths: list[Path], pattern: str) -> list[str]:
    rx = re.compile(pattern)
    return [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in paths
            for n, line in enumerate(p.read_text().splitlines(), start=1) if rx.search(line)]


def test_no_entrypoint_builds_a_query():
    """API, pages, consumers and commands ask a view or a handler; the statements live there."""
    assert _lines(_modules("entrypoints"), r"\bselect\(") == []


def test_no_handler_speaks_http():
    """Handlers raise NotFound / Invalid / Conflict / Forbidden (shared.errors); the edge maps them."""
    assert _lines(_modules("handlers"), r"\bfail\(|\bnot_found\(|werkzeug|\babort\(") == []
