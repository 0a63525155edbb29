"""Leads use cases: one function per use case, run inside the caller's unit of work."""
from . import importer, privacy, reports
from .common import resolve_consultant, resolve_store, rules_of
from .leads import assign, audit, create_lead, grade, log_follow_up, log_visit, reassign_all, record_departure
from .sales import (
    book_test_drive,
    cancel_order,
    complete_test_drive,
    decide_defeat,
    deliver,
    get_order,
    place_order,
    propose_defeat,
)
from .settings import update_rules, update_store_options

__all__ = [
    "assign", "audit", "book_test_drive", "cancel_order", "complete_test_drive", "create_lead", "decide_defeat", "deliver",
    "get_order", "grade", "importer", "log_follow_up", "log_visit", "place_order", "privacy", "propose_defeat",
    "reassign_all", "record_departure", "reports", "resolve_consultant", "resolve_store", "rules_of", "update_rules",
    "update_store_options",
]
