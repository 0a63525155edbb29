"""What an erased person's copies keep: `shared.privacy.forget`."""
from __future__ import annotations

from shared.privacy import forget, pseudonym


def test_names_become_the_pseudonym_and_other_personal_text_goes_figures_stay():
    data = {"lead_id": "l1", "customer_name": "王建国", "phone": "+8613800138000", "price": "219800",
            "answers": [{"key": "comments", "value": "王建国说…"}], "resolution": "给王先生打了电话", "score": 20.0}
    out = forget(data, "c1")
    assert out == {"lead_id": "l1", "customer_name": pseudonym("c1"), "phone": "", "price": "219800",
                   "answers": [], "resolution": "", "score": 20.0}


def test_nested_objects_are_forgotten_too_but_flags_stay():
    """`leads.lead.updated` carries the changed fields in `changes`; consent flags are keyed by channel."""
    data = {"lead_id": "l1", "changes": {"phone": "+8613800138000", "name": "王建国", "consultant_id": "u1"},
            "consent": {"phone": True, "sms": False}, "do_not_call": True}
    out = forget(data, "c1")
    assert out["changes"] == {"phone": "", "name": pseudonym("c1"), "consultant_id": "u1"}
    assert out["consent"] == {"phone": True, "sms": False} and out["do_not_call"] is True
    assert forget(out, "c1") == out  # forgetting twice changes nothing
