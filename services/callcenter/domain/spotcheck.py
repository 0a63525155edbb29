"""HQ spot checks (集团汇总回访抽查): which store callbacks HQ re-calls, and what counts as a disagreement."""
from __future__ import annotations

import hashlib


def sampled(callback_id: str, share: float) -> bool:
    """Deterministic sampling: the same callback is always in or out for a given share."""
    if share <= 0:
        return False
    bucket = int(hashlib.sha256(callback_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return bucket < share


def disagreements(reported_reached: bool, reported_satisfaction: int | None,
                  called: bool | None, satisfaction: int | None) -> list[str]:
    """Where the customer's answer contradicts the store's record."""
    out = []
    if reported_reached and called is False:
        out.append("not_called")  # the store says it reached the customer, who says nobody called
    if reported_satisfaction is not None and satisfaction is not None \
            and abs(reported_satisfaction - satisfaction) >= 2:
        out.append("satisfaction")  # two or more levels apart
    return out
