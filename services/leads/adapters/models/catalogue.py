"""Master data HQ keeps for the group: the vehicle model catalogue per brand, the competitor list for
defeats, and the copy of identity's brands they hang on."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import id_column, utcnow
from shared.tenancy import Scoped

from .base import Base


class BrandRef(Scoped, Base):
    """A brand of the group as identity announced it (the catalogue is kept per brand)."""

    __tablename__ = "brand_refs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))


class VehicleModel(Scoped, Base):
    """One model of a brand's catalogue (车型库): its series (车系), its name, the other names it goes by
    (an import's "RAV4" is the catalogue's "RAV4荣放") and the guide price. Visits, leads, test drives,
    orders and imports carry the catalogue's name, and events its id, so analytics counts one model once."""

    __tablename__ = "vehicle_models"
    __table_args__ = (UniqueConstraint("group_id", "brand_id", "name", name="uq_vehicle_models_brand_name"),)
    id: Mapped[str] = id_column()
    brand_id: Mapped[str] = mapped_column(String(36), index=True)
    series: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(80))
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    guide_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Competitor(Scoped, Base):
    """A competitor's brand and model a defeat may name (HQ keeps the list); model blank: the brand as a whole."""

    __tablename__ = "competitors"
    __table_args__ = (UniqueConstraint("group_id", "brand", "model", name="uq_competitors_brand_model"),)
    id: Mapped[str] = id_column()
    brand: Mapped[str] = mapped_column(String(60))
    model: Mapped[str] = mapped_column(String(80), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
