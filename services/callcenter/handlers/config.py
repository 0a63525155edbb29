"""Group settings and task rules: read the effective values, change them."""
from __future__ import annotations

import logging
import threading
import time as _time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.config import DEFAULT_TIMEZONE
from shared.db import utcnow
from shared.errors import Invalid, NotFound
from shared.uow import UnitOfWork

from ..domain.calling import CallingWindow
from ..domain.complaints import DEFAULT_SLA_HOURS
from ..domain.rules import DEFAULT_RULES, TASK_TYPES, TaskRule, validate_rule
from ..adapters.models import GroupSettings, StoreRef, TaskRuleRow

log = logging.getLogger(__name__)
SETTING_FIELDS = ("timezone", "window_start", "window_end", "lease_minutes", "callback_release_minutes",
                  "spot_check_share", "low_score_threshold", "link_valid_hours", "sla_hours")


def settings_for(s: Session, group_id: str) -> GroupSettings:
    """The group's settings; defaults (not saved) until someone changes them."""
    cfg = s.get(GroupSettings, group_id)
    if cfg is None:
        cfg = GroupSettings(id=group_id, group_id=group_id, timezone=DEFAULT_TIMEZONE, window_start="09:00",
                            window_end="20:00", lease_minutes=20, callback_release_minutes=30,
                            spot_check_share=0.1, low_score_threshold=60.0, link_valid_hours=72,
                            sla_hours=dict(DEFAULT_SLA_HOURS))
    return cfg


def window_of(cfg: GroupSettings) -> CallingWindow:
    return CallingWindow.parse(cfg.window_start, cfg.window_end)


def sla_hours(cfg: GroupSettings) -> dict[str, int]:
    return {**DEFAULT_SLA_HOURS, **(cfg.sla_hours or {})}


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: object) -> bool:
    """A name of the tz database (`Asia/Shanghai`), not just any string (`Mars/Olympus`)."""
    return isinstance(name, str) and name in _zone_names()


def usable_zone(name: str | None, fallback: str, whose: str) -> str:
    """`name` if it is a real time zone, else `fallback` with a warning: one bad row written before zones
    were checked (or by hand) must not turn every claim of the group into an error."""
    if not name:
        return fallback
    if is_time_zone(name):
        return name
    log.warning("unknown time zone %r for %s: using %s instead", name, whose, fallback)
    return fallback


def group_timezone(cfg: GroupSettings) -> str:
    return usable_zone(cfg.timezone, DEFAULT_TIMEZONE, f"group {cfg.id}")


def store_timezone(s: Session, cfg: GroupSettings, store_id: str | None) -> str:
    """The store's own time zone, else the group's (calling windows are local)."""
    st = s.get(StoreRef, store_id) if store_id else None
    return usable_zone(st.timezone if st is not None else None, group_timezone(cfg), f"store {store_id}")


@dataclass(frozen=True)
class ClaimSettings:
    """What a claim needs to know, kept a few seconds per process (claims are the hot path)."""

    window: CallingWindow
    timezone: str
    zones: dict[str, tuple[str, ...]]  # time zone → the stores in it
    lease_minutes: int

    def stores_in_window(self, now: datetime) -> list[str] | None:
        open_zones = {tz for tz in self.zones if self.window.contains(now, tz)}
        if len(open_zones) == len(self.zones):
            return None
        return [sid for tz in open_zones for sid in self.zones[tz]]


_CLAIM_CACHE: dict[tuple[int, str], tuple[float, ClaimSettings]] = {}
_CACHE_LOCK = threading.Lock()
CLAIM_CACHE_SECONDS = 10.0


def claim_settings(s: Session, group_id: str) -> ClaimSettings:
    key = (id(s.get_bind()), group_id)
    hit = _CLAIM_CACHE.get(key)
    if hit is not None and _time.monotonic() - hit[0] < CLAIM_CACHE_SECONDS:
        return hit[1]
    cfg = settings_for(s, group_id)
    group_tz = group_timezone(cfg)
    zones: dict[str, list[str]] = {group_tz: []}
    for sid, tz in s.execute(select(StoreRef.id, StoreRef.timezone)):
        zones.setdefault(usable_zone(tz, group_tz, f"store {sid}"), []).append(sid)
    value = ClaimSettings(window_of(cfg), group_tz, {k: tuple(v) for k, v in zones.items()}, cfg.lease_minutes)
    with _CACHE_LOCK:
        _CLAIM_CACHE[key] = (_time.monotonic(), value)
    return value


def forget_claim_settings() -> None:
    with _CACHE_LOCK:
        _CLAIM_CACHE.clear()


def update_settings(uow: UnitOfWork, p: Principal, changes: dict) -> GroupSettings:
    """Change the group's call-center settings; a bad value is refused and nothing is saved."""
    s = uow.session
    cfg = settings_for(s, p.group_id)
    merged = {f: changes.get(f, getattr(cfg, f)) for f in SETTING_FIELDS}
    if not is_time_zone(merged["timezone"]):
        raise Invalid("unknown time zone", errors={"timezone": ["a tz database name, e.g. Asia/Shanghai"]})
    try:
        window = CallingWindow.parse(merged["window_start"], merged["window_end"])
    except ValueError:
        raise Invalid("invalid calling window", errors={"window_start": ["use HH:MM"]}) from None
    if window.start >= window.end:
        raise Invalid("the calling window must start before it ends", errors={"window_end": ["after window_start"]})
    for f in SETTING_FIELDS:
        setattr(cfg, f, merged[f])
    s.add(cfg)
    forget_claim_settings()
    return cfg


def rule_for(s: Session, task_type: str, brand_id: str | None) -> TaskRule:
    """The effective rule: the brand's override, else the group's, else the default."""
    return rule_of(s.scalars(select(TaskRuleRow).where(
        TaskRuleRow.task_type == task_type, TaskRuleRow.brand_id.in_([brand_id or "", ""]))), task_type, brand_id)


def rule_of(rows: Iterable[TaskRuleRow], task_type: str, brand_id: str | None) -> TaskRule:
    """`rule_for` among rule rows already read (any of the group's)."""
    mine = {r.brand_id: r for r in rows if r.task_type == task_type and r.brand_id in (brand_id or "", "")}
    row = mine.get(brand_id or "") or mine.get("")
    base = DEFAULT_RULES[task_type]
    if row is None:
        return base
    return base.merged({"offsets_days": row.offsets_days, "valid_days": row.valid_days, "priority": row.priority,
                        "max_attempts": row.max_attempts, "retry_minutes": row.retry_minutes,
                        "enabled": row.enabled})


def effective_rules(s: Session, brand_id: str | None = None) -> list[tuple[TaskRule, str]]:
    """Every task type's effective rule with where it comes from (default | group | brand)."""
    rows = list(s.scalars(select(TaskRuleRow)))
    out = []
    for t in TASK_TYPES:
        mine = {r.brand_id: r for r in rows if r.task_type == t}
        origin = "brand" if brand_id and brand_id in mine else "group" if "" in mine else "default"
        out.append((rule_for(s, t, brand_id), origin))
    return out


def set_rule(uow: UnitOfWork, p: Principal, task_type: str, brand_id: str | None, changes: dict) -> TaskRule:
    """Override a task type's rule for the group (brand_id None) or one brand."""
    s = uow.session
    if task_type not in TASK_TYPES:
        raise NotFound("task type")
    errors = validate_rule(changes)
    if errors:
        raise Invalid("invalid rule", errors=errors)
    rule = rule_for(s, task_type, brand_id).merged(changes)
    row = s.scalar(select(TaskRuleRow).where(TaskRuleRow.task_type == task_type,
                                             TaskRuleRow.brand_id == (brand_id or "")))
    if row is None:
        row = TaskRuleRow(group_id=p.group_id, brand_id=brand_id or "", task_type=task_type)
        s.add(row)
    row.offsets_days, row.valid_days, row.priority = list(rule.offsets_days), rule.valid_days, rule.priority
    row.max_attempts, row.retry_minutes, row.enabled = rule.max_attempts, list(rule.retry_minutes), rule.enabled
    row.updated_by, row.updated_at = p.user_id, utcnow()
    return rule
