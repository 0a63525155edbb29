"""Local copies of another service's records, kept from its events (no service reads another's database)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Mapper, Session

from shared.events import Event


def keep_copy(s: Session, model: type, ev: Event, key: str = "id"):
    """Create or update the copy whose id is `ev.data[key]` from every payload field the model maps.

    Used for the org tree and staff that identity publishes: each service declares the columns it
    needs (e.g. a `StoreRef` with brand and time zone) and this fills exactly those.
    """
    mapper: Mapper[Any] = inspect(model)
    columns = {c.key for c in mapper.column_attrs} - {"id", "group_id"}
    row = s.get(model, ev.data[key]) or model(id=ev.data[key], group_id=ev.group_id)
    for name, value in ev.data.items():
        if name in columns:
            setattr(row, name, value)
    s.add(row)
    return row
