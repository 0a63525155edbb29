"""Customers use cases, one module per area; each runs inside the caller's unit of work."""
from .identity import Person, match_or_create
from .relationships import touch

__all__ = ["Person", "match_or_create", "touch"]
