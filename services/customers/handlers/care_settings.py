"""The group's care settings: churn period, tier thresholds, maintenance rules per brand, notice days."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import utcnow

from ..domain import CareSettings
from ..adapters.models import GroupSettings
from .common import forget_settings, settings_of


def current_settings(s: Session, group_id: str) -> dict:
    return settings_of(s, group_id).to_dict()


def change_settings(s: Session, group_id: str, changes: dict) -> dict:
    """Change some settings (the others keep their values); returns them all."""
    merged = {**current_settings(s, group_id), **{k: _plain(v) for k, v in changes.items()}}
    row = s.scalar(select(GroupSettings)) or GroupSettings(group_id=group_id, values={})
    s.add(row)
    row.values, row.updated_at = CareSettings.from_dict(merged).to_dict(), utcnow()
    forget_settings(s, group_id)
    return row.values


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return float(v) if isinstance(v, Decimal) else v
