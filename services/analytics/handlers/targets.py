"""Write use cases HQ performs: monthly targets and the group's analytics settings."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.errors import Invalid, NotFound

from ..domain import kpis as K
from ..domain.planning import GroupSettings
from ..adapters.models import DimBrand, DimStore, DimUser, GroupSetting, Target

LEVELS = ("group", "brand", "store", "consultant")


def set_target(s: Session, p: Principal, data: dict) -> Target:
    """Create or replace the target of one KPI for one node and month."""
    errors = {}
    try:
        K.parse_month(data["month"])
    except ValueError:
        errors["month"] = ["use YYYY-MM, e.g. 2026-05"]
    if data["kpi"] not in K.KPI_BY_KEY:
        errors["kpi"] = [f"unknown KPI; one of {', '.join(K.KPI_BY_KEY)}"]
    if data["level"] not in LEVELS:
        errors["level"] = [f"one of {', '.join(LEVELS)}"]
    if errors:
        raise Invalid(f"invalid input: {', '.join(sorted(errors))}", errors=errors)
    node_id, store_id = data.get("node_id") or "", None
    level = data["level"]
    if level == "group":
        node_id = ""
    elif level == "brand":
        if s.get(DimBrand, node_id) is None:
            raise Invalid("invalid input: node_id", errors={"node_id": ["no such brand in this group"]})
    elif level == "store":
        if s.get(DimStore, node_id) is None:
            raise Invalid("invalid input: node_id", errors={"node_id": ["no such store in this group"]})
        store_id = node_id
    else:
        user = s.get(DimUser, node_id)
        if user is None or user.role != "sales_consultant" or not user.store_id:
            raise Invalid("invalid input: node_id", errors={"node_id": ["no such sales consultant in this group"]})
        store_id = user.store_id
    row = s.scalar(select(Target).where(Target.month == data["month"], Target.level == level,
                                        Target.node_id == node_id, Target.kpi == data["kpi"]))
    if row is None:
        row = Target(group_id=p.group_id, month=data["month"], level=level, node_id=node_id, kpi=data["kpi"])
        s.add(row)
    row.store_id, row.value, row.updated_by = store_id, float(data["value"]), p.user_id
    s.flush()
    return row


def delete_target(s: Session, target_id: str) -> None:
    row = s.get(Target, target_id)
    if row is None:
        raise NotFound("target")
    s.delete(row)


def save_settings(s: Session, p: Principal, data: dict) -> GroupSettings:
    """Replace the parts of the group's settings that are given (probabilities, horizons)."""
    row = s.get(GroupSetting, p.group_id)
    current = GroupSettings.from_dict(row.data if row else None)
    now = current.to_dict()
    merged = GroupSettings.from_dict({k: {**now[k], **(data.get(k) or {})} for k in now})
    if row is None:
        row = GroupSetting(id=p.group_id, group_id=p.group_id, data={})
        s.add(row)
    row.data = {**(row.data or {}), **merged.to_dict()}  # keeps the definitions version in force
    return merged
