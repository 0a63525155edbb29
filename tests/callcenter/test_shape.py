"""The call center's code keeps the shape of issue 15: handlers depend on each other one way (follow-on
effects are domain events on the in-process bus), raise domain errors, and the entrypoints guard with
the permission table and read through `views`."""
from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "services" / "callcenter"
HANDLERS = sorted((SERVICE / "handlers").glob("*.py"))
ENTRYPOINTS = sorted((SERVICE / "api").glob("*.py")) + sorted((SERVICE / "pages").glob("*.py"))
ROLES = ("group_admin", "hq_analyst", "cc_supervisor", "cc_agent", "store_manager", "sales_consultant")


def _sibling_imports(path: Path) -> list[tuple[str, bool]]:
    """(handler module imported, whether the import hides inside a function) for one handler module."""
    found = []
    tree = ast.parse(path.read_text())
    nested = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
              for n in ast.walk(f)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [a.name for a in node.names]
            found += [(name.split(".")[0], id(node) in nested) for name in names]
    return found


def test_the_handlers_depend_on_each_other_one_way_with_no_import_hidden_in_a_function():
    graph = {}
    for path in HANDLERS:
        imports = _sibling_imports(path)
        assert not [m for m, hidden in imports if hidden], f"{path.name} imports a handler inside a function"
        graph[path.stem] = {m for m, _ in imports if m != path.stem}

    def reaches(start: str, goal: str, seen: set) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    circles = [m for m in graph if m != "__init__" and reaches(m, m, set())]
    assert circles == [], f"import circle through {circles}"
    assert "tasks" not in graph["surveys"] and "complaints" not in graph["surveys"]  # a bus, not a call


def test_handlers_raise_domain_errors_and_never_speak_http():
    for path in HANDLERS:
        text = path.read_text()
        for word in ("fail(", "not_found(", "werkzeug", "abort(", "ApiError", "flask"):
            assert word not in text, f"{path.name} uses {word}"


def test_entrypoints_guard_with_the_permission_table_and_read_through_views():
    for path in ENTRYPOINTS:
        text = path.read_text()
        for word in ("require_roles", "page_roles", "abort(403", "select(", *(f'"{r}"' for r in ROLES)):
            assert word not in text, f"{path.relative_to(SERVICE)} uses {word}"
