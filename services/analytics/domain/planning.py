"""Group settings, the delivery forecast and store compliance rules (no I/O)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

#: probability that an open lead at this level ends in a delivery (group setting; seed 001's B2B
#: pipeline E 0% D 10% C 25% B 50% A 90% S 100% mapped onto the showroom levels)
DEFAULT_PROBABILITY = {"O": 0.9, "H": 0.7, "A": 0.5, "B": 0.25, "C": 0.1, "N": 0.05}
#: expected purchase within N days (domain.md); an order without a delivery date is expected within 30
DEFAULT_HORIZON = {"O": 30, "H": 7, "A": 30, "B": 90, "C": 180, "N": 180}
FORECAST_WINDOWS = (7, 30, 90)


@dataclass(frozen=True)
class GroupSettings:
    probability: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PROBABILITY))
    horizon_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_HORIZON))

    @classmethod
    def from_dict(cls, data: dict | None) -> GroupSettings:
        base = cls()
        data = data or {}
        return cls({**base.probability, **(data.get("probability") or {})},
                   {**base.horizon_days, **(data.get("horizon_days") or {})})

    def to_dict(self) -> dict:
        """The follow-up cadence is not here: leads owns it and publishes each lead's due date."""
        return {"probability": dict(self.probability), "horizon_days": dict(self.horizon_days)}


def expected_deliveries(pipeline: list[tuple[str, date | None, int]], today: date, window: int,
                        settings: GroupSettings) -> float:
    """Deliveries expected in the next `window` days from open leads (level, expected delivery, count).

    A lead at level L delivers with probability p(L), at a uniformly spread moment within L's horizon;
    an order with a promised delivery date delivers on that date (an overdue one any day now).
    """
    total = 0.0
    for level, expected, count in pipeline:
        p = settings.probability.get(level, 0.0)
        if level == "O" and expected is not None:
            days_out = max((expected - today).days, 1)  # an overdue promise is due any day now
            total += p * count * (1.0 if days_out <= window else 0.0)
            continue
        horizon = max(1, settings.horizon_days.get(level, 180))
        total += p * count * min(window, horizon) / horizon
    return total
