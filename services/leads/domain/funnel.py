"""The sales funnel (漏斗原理) and the daily activity report fields, with no I/O."""
from __future__ import annotations

import math
from dataclasses import dataclass

#: the daily report's figures: the consultant's activity report (营业员活动日报) and the
#: manufacturer's TACT statistics (经销店日常活动状况统计表). `auto` ones are counted from logged
#: activities (the form pre-fills them); the others are entered.
REPORT_FIELDS: dict[str, bool] = {
    "calls": True,              # follow-up calls made
    "reached": True,            # of which reached the customer
    "sms_wechat": True,
    "dms": True,                # DM sent
    "handouts": True,           # DH sent
    "customer_visits": True,    # visits to customers
    "showroom_groups": True,    # showroom visitor groups
    "phone_ins": True,
    "test_drive_groups": True,
    "new_leads": True,
    "new_a_cards": True,
    "orders": True,
    "deliveries": True,
    "negotiations": False,
    "ads_radio": False,
    "ads_print": False,
    "ads_sms": False,
    "ads_other": False,
    "mobile_shows": False,
}
AUTO_FIELDS = tuple(k for k, auto in REPORT_FIELDS.items() if auto)


def merge_figures(auto: dict[str, int], entered: dict[str, int]) -> dict[str, int]:
    """Entered figures override the automatic counts; every field is present, missing ones are 0."""
    return {k: int(entered[k]) if k in entered else int(auto.get(k, 0)) for k in REPORT_FIELDS}


def amended(original: dict[str, int], amendments: list[dict[str, int]]) -> dict[str, int]:
    """The figures in force: the original with each amendment's changed fields applied in order."""
    out = dict(original)
    for change in amendments:
        out.update(change)
    return out


def close_ratio(sales: int, leads: int) -> float | None:
    """Sales per lead over a period (1:5 → 0.2); None without leads."""
    return None if leads <= 0 else sales / leads


def refill_needed(weekly_sales_target: int, ratio: float | None, fallback: float = 0.2) -> int:
    """New leads needed per week: with a 1:5 close ratio, 5 sales a week need 25 new leads a week."""
    r = ratio if ratio and ratio > 0 else fallback
    return math.ceil(weekly_sales_target / r - 1e-9)


@dataclass(frozen=True)
class FunnelStep:
    key: str
    count: int
    rate: float | None  # conversion from the previous step


def funnel(steps: list[tuple[str, int]]) -> list[FunnelStep]:
    """Counts with the conversion rate of each step from the one before."""
    out: list[FunnelStep] = []
    prev: int | None = None
    for key, count in steps:
        rate = None if prev in (None, 0) else count / prev
        out.append(FunnelStep(key, count, rate))
        prev = count
    return out
