"""Group lead rules (HQ edits them) and store options (the store manager edits them)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.errors import Invalid

from ..domain import SOURCES, GroupRules
from ..adapters.models import GroupSettings, StoreRef
from .common import check_may, forget_rules, rules_of, store_of
from .leads import recompute_due_dates


def update_rules(s: Session, p: Principal, changes: dict) -> GroupRules:
    """HQ changes the group's cadence, horizons, stale period, SLA, business hours or sources."""
    check_may(p, "leads.settings", "only the group admin changes the group's lead rules")
    unknown = [x for x in changes.get("sources") or [] if x not in SOURCES]
    if unknown:
        raise Invalid("unknown source", errors={"sources": [f"unknown: {', '.join(unknown)}"]})
    before = rules_of(s, p.group_id)
    row = s.get(GroupSettings, p.group_id) or GroupSettings(id=p.group_id, group_id=p.group_id, data={})
    merged = {**before.to_dict(), **{k: v for k, v in changes.items() if v is not None}}
    if "cadence_days" in changes:
        merged["cadence_days"] = {**before.cadence_days, **changes["cadence_days"]}
    if "horizon_days" in changes:
        merged["horizon_days"] = {**before.horizon_days, **changes["horizon_days"]}
    rules = GroupRules.from_dict(merged)
    if rules.close_at <= rules.open_at:
        raise Invalid("business hours close before they open", errors={"close_at": ["must be after open_at"]})
    row.data, row.updated_by = rules.to_dict(), p.user_id
    s.add(row)
    s.flush()
    forget_rules(s, p.group_id)
    if rules.cadence_days != before.cadence_days:
        recompute_due_dates(s, p.group_id, p.user_id)
    return rules


def update_store_options(s: Session, p: Principal, store_id: str, changes: dict) -> StoreRef:
    """Round-robin for new leads, exports for consultants, the weekly sales target for the refill rule."""
    check_may(p, "leads.manage", "only the store manager changes the store's options")
    store = store_of(s, p, store_id)
    for key in ("round_robin", "consultants_may_export", "weekly_sales_target"):
        if changes.get(key) is not None:
            setattr(store, key, changes[key])
    return store
