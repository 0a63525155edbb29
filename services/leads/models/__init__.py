"""Leads tables, plus local copies of the stores and users that identity publishes."""
from .activity import Assignment, Defeat, FollowUp, LevelChange, Order, TestDrive, Visit
from .base import INBOX, OUTBOX, Base, GroupSettings, StaffRef, StoreRef
from .lead import Campaign, Lead
from .reports import DailyReport, ImportJob, ImportRowError, ReportAmendment, ReportMiss, ReportReopening

__all__ = [
    "INBOX",
    "OUTBOX",
    "Assignment",
    "Base",
    "Campaign",
    "DailyReport",
    "Defeat",
    "FollowUp",
    "GroupSettings",
    "ImportJob",
    "ImportRowError",
    "Lead",
    "LevelChange",
    "Order",
    "ReportAmendment",
    "ReportMiss",
    "ReportReopening",
    "StaffRef",
    "StoreRef",
    "TestDrive",
    "Visit",
]
