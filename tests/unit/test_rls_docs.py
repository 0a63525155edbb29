"""docs/security.md lists every group-owned table of every service with its row-level-security policy."""
from pathlib import Path

from shared import rls

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_the_security_document_lists_every_protected_table_and_its_policy():
    text = DOC.read_text()
    listed = text.partition(rls.BEGIN)[2].partition(rls.END)[0]
    assert listed.strip() == rls.markdown().strip(), (
        "docs/security.md is out of date: run `.venv/bin/python -m shared.rls --update docs/security.md`")


def test_a_store_owned_table_is_listed_with_the_store_policy():
    rows = rls.markdown().splitlines()
    assert "| leads | `leads` | store |" in rows
    assert "| identity | `users` | group |" in rows
    assert not any("`outbox`" in r or "`inbox`" in r for r in rows)


def test_the_security_document_shows_the_policies_as_they_are():
    sql = DOC.read_text().partition("  -- group-owned\n")[2].partition("  ```")[0]
    group, _, store = sql.partition("  -- store-owned\n")
    assert " ".join(group.split()) == rls.POLICIES["group"]
    assert " ".join(store.split()) == rls.POLICIES["store"]
