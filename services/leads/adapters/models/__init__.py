"""Leads tables, plus local copies of the stores and users that identity publishes."""
from .activity import Assignment, Defeat, FollowUp, LevelChange, Order, TestDrive, Visit
from .base import INBOX, OUTBOX, Base, GroupSettings, StaffRef, StoreRef
from .catalogue import BrandRef, Competitor, VehicleModel
from .lead import Campaign, Lead
from .reports import DailyReport, ImportFileChunk, ImportJob, ImportRowError, ReportAmendment, ReportMiss, ReportReopening

__all__ = [
    "INBOX",
    "OUTBOX",
    "Assignment",
    "Base",
    "BrandRef",
    "Campaign",
    "Competitor",
    "DailyReport",
    "Defeat",
    "FollowUp",
    "GroupSettings",
    "ImportFileChunk",
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
    "VehicleModel",
    "Visit",
]
