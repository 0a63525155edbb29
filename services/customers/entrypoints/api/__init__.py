"""Customers JSON API: search and the 360 view, personal data, DMS feeds, identity review, care settings."""
from . import admin, customers, feeds, stats  # noqa: F401  (routes register on the blueprint)
from .common import blp

blueprints = [blp]
