"""Customer rules with no I/O: classes (顾客分类), value tier (客户金字塔), loyalty, churn, care schedules.

Everything here is standard library only, so the rules can be read and tested on their own.
"""
from __future__ import annotations

import calendar
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

KINDS = ("individual", "corporate", "agreement", "partner")  # 个体 单位 协议客户 合作伙伴
CHANNELS = ("phone", "sms", "wechat", "email")
ACTIVE_LEVELS = ("N", "C", "B", "A", "H", "O")
OWNER_KINDS = ("self_sold", "other_sold", "other_brand")
CLASSES = ("potential", "intent", "self_sold", "other_sold", "vip", "other_brand", "defeated", "churned")
OWNER_CLASSES = ("self_sold", "other_sold", "vip", "other_brand")
TIERS = ("VIP", "A", "B", "C", "D")
VISIT_KINDS = ("maintenance", "repair", "accident")
#: why a person is erased (PIPL art. 47); an erasure keeps this code, never free text that may name them
ERASURE_GROUNDS = ("subject_request", "consent_withdrawn", "purpose_fulfilled", "retention_expired", "unlawful")
SCHEDULE_KINDS = ("maintenance_due", "insurance_expiring", "birthday", "churned", "insurance_lapsed")
_NS = uuid.UUID("0c6bd6a4-59a3-4b8e-8f3e-6a6f0d3f2b71")
_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
_IDNO = re.compile(r"^[0-9A-Z]{6,30}$")


class RuleError(ValueError):
    """Input that breaks a customer rule; the message says which."""


# --- identifiers -----------------------------------------------------------------------------------

def name_key(name: str) -> str:
    """The name as compared for likely matches: no spaces or punctuation, case-folded."""
    return re.sub(r"[\s\.\,\-·()（）]+", "", name or "").casefold()


def normalize_vin(raw: str) -> str:
    vin = re.sub(r"[\s-]+", "", raw or "").upper()
    if not _VIN.match(vin):
        raise RuleError("a VIN has 17 letters and digits (no I, O or Q)")
    return vin


def normalize_id_number(raw: str) -> str:
    """Resident ID, passport or company credit code: upper-case, no spaces or dashes."""
    value = re.sub(r"[\s-]+", "", raw or "").upper()
    if not _IDNO.match(value):
        raise RuleError("an ID number has 6 to 30 letters and digits")
    return value


def normalize_plate(raw: str) -> str:
    return re.sub(r"[\s·-]+", "", raw or "").upper()


def mask_id_number(value: str) -> str:
    """'310101199001011234' → '310***********1234'."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


# --- store relationship class -----------------------------------------------------------------------

@dataclass
class RelationshipFacts:
    """What one store knows about a customer; the class is derived from these facts only."""

    owner_kind: str | None = None  # self_sold | other_sold | other_brand
    level: str | None = None  # the latest active lead level at this store
    defeated: bool = False
    churned: bool = False
    vip: bool = False


def derive_class(f: RelationshipFacts) -> str:
    """The store's class for the customer: an owner outranks a lead; churn outranks VIP."""
    if f.owner_kind:
        if f.churned:
            return "churned"
        if f.vip:
            return "vip"
        return f.owner_kind
    if f.level in ACTIVE_LEVELS:
        return "intent"
    if f.defeated:
        return "defeated"
    return "potential"


def owner_kind_for_visit(selling_store_id: str | None, store_id: str, vehicle_brand: str | None,
                         store_brand: str | None) -> str:
    """A service visit makes a self-sold owner, an other-sold owner or an other-brand owner (他厂牌)."""
    if selling_store_id == store_id:
        return "self_sold"
    if vehicle_brand and store_brand and vehicle_brand != store_brand:
        return "other_brand"
    return "other_sold"


def stronger_owner(a: str | None, b: str | None) -> str | None:
    order = {None: 0, "other_brand": 1, "other_sold": 2, "self_sold": 3}
    return a if order[a] >= order[b] else b


# --- value and loyalty ------------------------------------------------------------------------------

DEFAULT_TIERS = {"VIP": 800_000, "A": 300_000, "B": 150_000, "C": 30_000}


def value_tier(spend: Decimal | float, thresholds: dict | None = None) -> str:
    """VIP / A / B / C / D by lifetime spend (purchases, service, premiums) against group thresholds."""
    t = {**DEFAULT_TIERS, **(thresholds or {})}
    for tier in ("VIP", "A", "B", "C"):
        if Decimal(str(spend)) >= Decimal(str(t[tier])):
            return tier
    return "D"


def recommend_class(score: int | None) -> str | None:
    """Likelihood to recommend: very likely (9–10), possible (7–8), unlikely (0–6)."""
    if score is None:
        return None
    return "very_likely" if score >= 9 else "possible" if score >= 7 else "unlikely"


def churn_risk(last_visit: date | None, today: date, churn_months: int, satisfaction: int | None,
               open_complaints: int, owner: bool) -> str:
    """low / medium / high: time since the last visit against the churn period, worsened by unhappiness."""
    if not owner:
        return "low"
    points = 0
    if last_visit is None:
        points += 1
    else:
        share = (today - last_visit).days / max(30 * churn_months, 1)
        points += 2 if share >= 0.75 else 1 if share >= 0.5 else 0
    if satisfaction is not None and satisfaction <= 2:
        points += 1
    if open_complaints:
        points += 1
    return "high" if points >= 2 else "medium" if points == 1 else "low"


def strictest_consent(a: dict, b: dict) -> dict:
    """A merged record may contact on a channel only if both records allowed it."""
    return {ch: bool(a.get(ch, True)) and bool(b.get(ch, True)) for ch in CHANNELS}


def default_consent() -> dict:
    return {ch: True for ch in CHANNELS}


# --- schedules --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MaintenanceRule:
    """Maintenance interval per brand: first service after N months, then every M months or K km."""

    first_months: int = 3
    interval_months: int = 5
    interval_km: int = 5000


@dataclass
class CareSettings:
    churn_months: int = 12
    lost_months: int = 24
    tiers: dict = field(default_factory=lambda: dict(DEFAULT_TIERS))
    maintenance: dict = field(default_factory=dict)  # brand_id | "default" → MaintenanceRule fields
    insurance_notice_days: tuple = (60, 30)
    maintenance_notice_days: int = 7
    birthday_notice_days: int = 3
    lapsed_window_days: int = 90

    def rule_for(self, brand_id: str | None) -> MaintenanceRule:
        raw = self.maintenance.get(brand_id or "") or self.maintenance.get("default") or {}
        return MaintenanceRule(**{k: int(v) for k, v in raw.items() if k in MaintenanceRule.__dataclass_fields__})

    @classmethod
    def from_dict(cls, d: dict | None) -> CareSettings:
        d = dict(d or {})
        if "insurance_notice_days" in d:
            d["insurance_notice_days"] = tuple(sorted((int(x) for x in d["insurance_notice_days"]), reverse=True))
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict:
        return {"churn_months": self.churn_months, "lost_months": self.lost_months, "tiers": self.tiers,
                "maintenance": self.maintenance, "insurance_notice_days": list(self.insurance_notice_days),
                "maintenance_notice_days": self.maintenance_notice_days,
                "birthday_notice_days": self.birthday_notice_days, "lapsed_window_days": self.lapsed_window_days}


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def next_maintenance(rule: MaintenanceRule, purchase_date: date | None, last_service_on: date | None,
                     last_mileage: int | None) -> date | None:
    """When the next maintenance is due: by months, or earlier by km at the car's average daily distance."""
    if last_service_on is None:
        return add_months(purchase_date, rule.first_months) if purchase_date else None
    by_time = add_months(last_service_on, rule.interval_months)
    if purchase_date and last_mileage and last_service_on > purchase_date:
        km_per_day = last_mileage / (last_service_on - purchase_date).days
        if km_per_day > 0:
            by_km = last_service_on + timedelta(days=math.ceil(rule.interval_km / km_per_day))
            return min(by_time, by_km)
    return by_time


def insurance_notice(ends_on: date, today: date, notice_days: tuple) -> int | None:
    """Which notice (60, 30 days...) a policy ending on `ends_on` is in today; None outside them."""
    if today >= ends_on:
        return None
    reached = [d for d in notice_days if ends_on - timedelta(days=d) <= today]
    return min(reached) if reached else None


def schedule_id(kind: str, *parts: object) -> str:
    """The same trigger always gets the same id, so publishing it again is recognised downstream."""
    return str(uuid.uuid5(_NS, ":".join([kind, *map(str, parts)])))


def month_days_ahead(today: date, days: int) -> list[tuple[str, date]]:
    """('MM-DD', date) for today and the next `days` days (29 Feb birthdays fall on 28 Feb)."""
    out = []
    for i in range(days + 1):
        d = today + timedelta(days=i)
        out.append((d.strftime("%m-%d"), d))
        if d.month == 2 and d.day == 28 and not calendar.isleap(d.year):
            out.append(("02-29", d))
    return out


def churn_stage(last_visit_on: date | None, today: date, s: CareSettings) -> str | None:
    """'churned' after the churn period without a visit (default 12 months), 'lost' after 24."""
    if last_visit_on is None:
        return None
    if last_visit_on <= add_months(today, -s.lost_months):
        return "lost"
    if last_visit_on <= add_months(today, -s.churn_months):
        return "churned"
    return None
