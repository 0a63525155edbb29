"""Lead rules with no I/O: sources, intent levels (意向级别), signals, group settings and their defaults.

Time rules (cadence, business hours, report deadlines) live in `domain/timing.py`; the funnel and
refill rule in `domain/funnel.py`; parsing of imported rows in `domain/imports.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import time

#: lead sources (顾客来源) from domain.md; a group may narrow or extend this list
SOURCES: dict[str, str] = {
    "walk_in": "来店",
    "phone_in": "来电",
    "owner_replacement": "置换/增购",
    "owner_referral": "保有客户介绍",
    "internal_referral": "内部情报",
    "informant": "情报提供",
    "targeted_prospecting": "特定筛选",
    "area_canvassing": "区域攻击",
    "advertising": "广告",
    "online": "网络/官网",
    "event": "活动/试驾会",
    "service_customer": "服务站客户",
}

#: N = new, not yet judged; then C, B, A, H, O by rising purchase intent
LEVELS = ("N", "C", "B", "A", "H", "O")
CLOSED = ("delivered", "defeated", "invalid")
ALL_LEVELS = LEVELS + CLOSED
#: the levels a consultant may grade a lead to by hand (O comes with an order, the closed ones with
#: a delivery, an approved defeat or an explicit invalidation)
GRADABLE = ("C", "B", "A", "H", "invalid")

#: judging checklist (判别基准) per level, from domain.md; the UI shows these as tick boxes
SIGNALS: dict[str, tuple[str, ...]] = {
    "H": ("terms_negotiated", "purchase_date_fixed", "next_meeting_booked", "came_back_to_see_car",
          "asks_to_sell_old_car"),
    "A": ("says_will_buy", "deciding_between_models"),
    "B": ("qualified_buyer", "hesitating_between_models", "test_drive_done", "came_from_event"),
    "C": ("looked_and_left", "took_brochure", "compared_competitors", "bargained"),
    "O": ("deposit_paid", "model_colour_chosen", "payment_and_date_given", "financing_or_trade_in"),
}
ALL_SIGNALS = tuple(sig for sigs in SIGNALS.values() for sig in sigs)

FOLLOW_UP_KINDS = ("call", "visit", "sms_wechat", "dm", "handout")
#: outcomes of a follow-up; every one but `no_answer` is a real contact with the customer
OUTCOMES = ("reached", "appointment", "no_answer", "not_interested", "visited_showroom")
VISIT_KINDS = ("walk_in", "phone_in")
DEFEAT_REASONS = ("price", "competitor", "financing", "postponed", "other")
PAYMENT_METHODS = ("cash", "financing", "installment", "lease")
CAMPAIGN_CHANNELS = ("event", "test_drive_day", "roadshow", "ad_radio", "ad_tv", "ad_print", "ad_online",
                     "sms", "other")
#: sources whose first-response time is measured (the customer is waiting for us to call back)
TIMED_SOURCES = ("phone_in", "online")

#: contact at least every N days (domain.md): H daily, A twice a week, B weekly, C twice a month,
#: O weekly until delivery; N (not yet judged) must be judged the next day
DEFAULT_CADENCE: dict[str, int] = {"N": 1, "H": 1, "A": 3, "B": 7, "C": 15, "O": 7}
#: expected purchase within N days (H 7 days, A 1 month, B 3 months, C 6 months)
DEFAULT_HORIZON: dict[str, int] = {"H": 7, "A": 30, "B": 90, "C": 180}


@dataclass(frozen=True)
class GroupRules:
    """A group's lead settings; every field has the domain.md default."""

    cadence_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CADENCE))
    horizon_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_HORIZON))
    stale_days: int = 30
    sla_minutes: int = 15
    open_at: time = time(9, 0)
    close_at: time = time(18, 0)
    sources: tuple[str, ...] = tuple(SOURCES)

    @classmethod
    def from_dict(cls, data: dict | None) -> GroupRules:
        """Stored settings over the defaults (unknown keys ignored)."""
        rules = cls()
        if not data:
            return rules
        changes: dict = {}
        if data.get("cadence_days"):
            changes["cadence_days"] = {**rules.cadence_days, **data["cadence_days"]}
        if data.get("horizon_days"):
            changes["horizon_days"] = {**rules.horizon_days, **data["horizon_days"]}
        for key in ("stale_days", "sla_minutes"):
            if data.get(key) is not None:
                changes[key] = int(data[key])
        for key in ("open_at", "close_at"):
            if data.get(key):
                changes[key] = time.fromisoformat(data[key])
        if data.get("sources"):
            changes["sources"] = tuple(data["sources"])
        return replace(rules, **changes)

    def to_dict(self) -> dict:
        return {
            "cadence_days": dict(self.cadence_days),
            "horizon_days": dict(self.horizon_days),
            "stale_days": self.stale_days,
            "sla_minutes": self.sla_minutes,
            "open_at": self.open_at.strftime("%H:%M"),
            "close_at": self.close_at.strftime("%H:%M"),
            "sources": list(self.sources),
        }

    def cadence_for(self, level: str) -> int | None:
        """Days between contacts for an open level; None for a closed lead (nothing is due)."""
        return self.cadence_days.get(level) if level in LEVELS else None


def is_open(level: str) -> bool:
    return level in LEVELS


def check_grade(current: str, target: str, signals: list[str]) -> list[str]:
    """Reasons why a lead at `current` may not be graded to `target` with `signals` (empty: allowed)."""
    problems = []
    if current in CLOSED:
        problems.append(f"the lead is already {current}")
    if target not in GRADABLE:
        problems.append(f"{target} cannot be set by grading (O comes with an order, defeats need approval)")
    if current == "O":  # not even invalid: the signed order would stay open on a closed lead
        problems.append("the lead has an order; deliver it or cancel the order first")
    unknown = [s for s in signals if s not in ALL_SIGNALS]
    if unknown:
        problems.append(f"unknown signals: {', '.join(unknown)}")
    return problems


#: what can be done to a lead; `refusal` says which of them its state allows (the lead page offers those,
#: the use cases refuse the rest with the same reason)
LEAD_ACTIONS = ("follow_up", "grade", "test_drive", "order", "defeat", "deliver", "cancel_order", "assign")


def refusal(action: str, level: str, defeat_pending: bool = False) -> tuple[str, str] | None:
    """Why `action` is not allowed on a lead at `level` ((message, code)), or None when it is."""
    if level in CLOSED:
        return f"the lead is {level}", "closed"
    if action in ("deliver", "cancel_order"):
        return None if level == "O" else ("the lead has no open order", "no_order")
    if level == "O" and action == "order":
        return "the lead already has an open order", "has_order"
    if level == "O" and action in ("grade", "defeat"):
        return "the lead has a signed order: deliver it or cancel the order first", "has_order"
    if action == "defeat" and defeat_pending:
        return "a defeat is already waiting for the manager", "pending"
    return None


def allowed_actions(level: str, defeat_pending: bool = False) -> frozenset[str]:
    """The actions a lead's state allows (the page shows only these)."""
    return frozenset(a for a in LEAD_ACTIONS if refusal(a, level, defeat_pending) is None)


def channel_of(source: str) -> str:
    """The channel analytics groups sources by: showroom, phone, online, referral, marketing."""
    return {
        "walk_in": "showroom",
        "phone_in": "phone",
        "online": "online",
        "owner_replacement": "referral",
        "owner_referral": "referral",
        "internal_referral": "referral",
        "informant": "referral",
        "service_customer": "referral",
    }.get(source, "marketing")


def source_key(raw: str, allowed: tuple[str, ...]) -> str | None:
    """A source given as key ('online') or Chinese label ('网络/官网'); None when not in `allowed`."""
    text = (raw or "").strip()
    if text in allowed:
        return text
    for key in allowed:
        if SOURCES.get(key) == text or key.replace("_", " ") == text.lower():
            return key
    return None


def next_round_robin(on_duty: list[str], last: str | None) -> str | None:
    """The consultant after `last` in the (sorted) on-duty list, wrapping round; None if nobody is on duty."""
    if not on_duty:
        return None
    if last in on_duty:
        return on_duty[(on_duty.index(last) + 1) % len(on_duty)]
    later = [c for c in on_duty if last is not None and c > last]
    return later[0] if later else on_duty[0]
