"""The event contract: one envelope for every event, and versioned marshmallow payload schemas.

Routing key = event type, `<service>.<entity>.<verb>`. A payload schema is registered per
(type, version); consumers accept the versions they know and dead-letter the rest with a reason.
Each service's events live in their own module here (`shared/events/leads.py`, ...).
"""
from __future__ import annotations

import functools
import importlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from uuid6 import uuid7

from shared import clock
from shared.events.fastload import dumper, loader

_REGISTRY: dict[tuple[str, int], type[Schema]] = {}
_MODULES = ("identity", "leads", "customers", "callcenter", "analytics")


#: the longest record id a payload or an envelope may carry: the services' ids are uuids, and every id
#: column is String(36) (a longer one would be cut or refused by PostgreSQL after the fact)
ID_LENGTH = 36


class PayloadSchema(Schema):
    """Base for payloads: unknown fields are dropped so that additive changes stay compatible."""

    #: True for what a store owns (a lead, a callback task...): its envelope must name the store
    store_owned = False

    class Meta:
        unknown = EXCLUDE


class StorePayload(PayloadSchema):
    """A payload about something a store owns: an envelope without `store_id` is refused."""

    store_owned = True


def record_id(*, blank: bool = False, **kw) -> fields.String:
    """A record's id in a payload: a string of 1 to 36 characters (`blank`: the empty string too, for
    producers that send "" for "none")."""
    return fields.String(validate=validate.Length(min=0 if blank else 1, max=ID_LENGTH), **kw)


def optional_id(**kw) -> fields.String:
    """An id that may be missing or null (or empty)."""
    return fields.String(allow_none=True, load_default=None, validate=validate.Length(max=ID_LENGTH), **kw)


def payload(event_type: str, version: int = 1):
    """Register a payload schema for one event type and version."""

    def deco(cls: type[Schema]) -> type[Schema]:
        _REGISTRY[(event_type, version)] = cls
        cls.event_type, cls.event_version = event_type, version  # type: ignore[attr-defined]
        return cls

    return deco


_loaded = False
_loading = threading.RLock()


def _load_modules() -> None:
    """Import every service's event module once, whichever module registered first. Marked loaded only
    once every module is in: a second thread asking meanwhile (a worker's consumer and its relay or
    commands at start) waits, instead of finding half the registry and dead-lettering a good event as
    of an unknown type."""
    global _loaded
    if _loaded:
        return
    with _loading:
        if _loaded:
            return
        for name in _MODULES:
            try:
                importlib.import_module(f"shared.events.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"shared.events.{name}":
                    raise
        _loaded = True


def schema_for(event_type: str, version: int) -> type[Schema] | None:
    _load_modules()
    return _REGISTRY.get((event_type, version))


def payload_schema(event_type: str, version: int) -> Schema | None:
    """The reusable schema instance of a payload: building a marshmallow schema deep-copies its
    fields, which costs more than the validation itself (every event is validated on both ends).
    Only registered payloads are kept: unknown types off the wire do not grow the cache."""
    schema = schema_for(event_type, version)
    return _instance(schema) if schema is not None else None


@functools.cache
def _instance(schema: type[Schema]) -> Schema:
    return schema()


def known_types() -> list[tuple[str, int]]:
    _load_modules()
    return sorted(_REGISTRY)


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+\.[a-z_]+\.[a-z_]+$"))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    group_id = fields.String(required=True, validate=validate.Length(min=1, max=ID_LENGTH))  # every event has a tenant
    brand_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=ID_LENGTH))
    store_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=ID_LENGTH))
    actor = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=ID_LENGTH))
    data = fields.Dict(required=True)


def envelope_errors(event_type: str, schema: Schema, group_id, store_id) -> dict[str, list[str]]:
    """The tenant rules an envelope must keep beyond its fields' types: a group, and the store of
    anything a store owns (`StorePayload`)."""
    errors: dict[str, list[str]] = {}
    if not group_id:
        errors["group_id"] = ["every event belongs to a group"]
    if getattr(schema, "store_owned", False) and not store_id:
        errors["store_id"] = [f"{event_type} is about something a store owns: the envelope must name the store"]
    return errors


_ENVELOPE = EnvelopeSchema()


@dataclass
class Event:
    """An event as it travels: the envelope with a validated payload in `data`."""

    type: str
    data: dict[str, Any]
    group_id: str | None
    version: int = 1
    brand_id: str | None = None
    store_id: str | None = None
    actor: str | None = None
    id: str = field(default_factory=lambda: str(uuid7()))  # time-ordered: the inbox and outbox indexes grow at one end
    occurred_at: datetime = field(default_factory=lambda: clock.now())

    @property
    def group(self) -> str:
        """The group id of an event that has one: every event a consumer admits (see `shared.bus.consumer`)."""
        if not self.group_id:
            raise ValueError(f"{self.type} names no group")
        return self.group_id

    @property
    def store(self) -> str:
        """The store id of an event about a store's record (a lead, an order): one that must name its store."""
        if not self.store_id:
            raise ValueError(f"{self.type} names no store")
        return self.store_id

    def to_message(self) -> dict[str, Any]:
        """Serialise, validating the payload against its registered schema first."""
        s = payload_schema(self.type, self.version)
        if s is None:
            raise ValueError(f"no payload schema registered for {self.type} v{self.version}")
        errors = envelope_errors(self.type, s, self.group_id, self.store_id)
        for name in ("group_id", "brand_id", "store_id", "actor"):
            if len(getattr(self, name) or "") > ID_LENGTH:
                errors[name] = [f"longer than {ID_LENGTH} characters"]
        if errors:
            raise ValidationError(errors)
        # the payload in its wire form, validated as a consumer will load it; a third pass (dump again)
        # only when loading adds what the wire form lacks (a field's load default)
        dump = dumper(s)  # marshmallow's dump, compiled (`shared.events.fastload`)
        data = dump(self.data)
        loaded = loader(s)(data)
        if loaded.keys() - data.keys():
            data = dump(loaded)
        return {
            "id": str(self.id),
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "group_id": self.group_id,
            "brand_id": self.brand_id,
            "store_id": self.store_id,
            "actor": self.actor,
            "data": data,
        }

    @classmethod
    def from_message(cls, body: Any) -> Event:
        """Parse and validate a message; raises ValidationError with the reason."""
        if not isinstance(body, dict):
            raise ValidationError("message body is not a JSON object")
        env = loader(_ENVELOPE)(body)  # marshmallow's load, compiled (`shared.events.fastload`)
        schema = payload_schema(env["type"], env["version"])
        if schema is None:
            raise ValidationError(f"unknown event type or version: {env['type']} v{env['version']}")
        errors = envelope_errors(env["type"], schema, env["group_id"], env["store_id"])
        try:
            data = loader(schema)(env["data"])
        except ValidationError as exc:  # the reason names every fault, the payload's and the envelope's
            payload_errors = exc.normalized_messages()
            for key, reasons in errors.items():
                payload_errors[key] = [*payload_errors.get(key, []), *reasons]
            raise ValidationError(payload_errors) from exc
        if errors:
            raise ValidationError(errors)
        return cls(
            type=env["type"],
            version=env["version"],
            data=data,
            group_id=env["group_id"],
            brand_id=env["brand_id"],
            store_id=env["store_id"],
            actor=env["actor"],
            id=str(env["id"]),
            occurred_at=env["occurred_at"],
        )
