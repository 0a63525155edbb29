"""Generated history for the embedded platform's demo group, fed through the analytics consumer's batch path."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from crm.datagen import events as G
from services.analytics.adapters.models import DimStore, DimUser
from shared.tenancy import Scope
from tests.conftest import wait_until

from .conftest import feed_in_deliveries


def demo_org(platform) -> G.Org:
    """The demo group's stores and consultants, as analytics learnt them from identity's events."""
    rt = platform.runtimes["analytics"]

    def ready():
        with rt.db.session(Scope.system()) as s:
            stores = list(s.scalars(select(DimStore)))
            users = list(s.scalars(select(DimUser).where(DimUser.role == "sales_consultant")))
            return (stores, users) if len(stores) >= 12 and len(users) >= 60 else None

    stores, users = wait_until(ready, 20)
    org = G.Org(stores[0].group_id, {}, {}, {})
    for st in stores:
        org.stores[st.id] = st.brand_id
        org.names[st.id] = st.name
        org.brands.setdefault(st.brand_id, "toyota" if "toyota" in st.code else "lexus" if "lexus" in st.code else "vw")
        org.consultants[st.id] = sorted(u.id for u in users if u.store_id == st.id)[:3]
    return org


def load_demo_history(platform, start: date = date(2026, 9, 1), days: int = 30, per_day: float = 0.4) -> G.Org:
    org = demo_org(platform)
    history = list(G.history(org, start, days, leads_per_store_day=per_day, seed=3, reports=False))
    assert feed_in_deliveries(platform.runtimes["analytics"], history) == len(history)
    return org
