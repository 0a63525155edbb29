"""Task rules: which event creates which callback task, when it is due and until when it may be done."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta

from .calling import CallingWindow


@dataclass(frozen=True)
class TaskRule:
    """One task type's rule for a group (or one brand of it)."""

    task_type: str
    offsets_days: tuple[int, ...]  # due = anchor date + offset (negative: before the anchor)
    valid_days: int  # how many days after the due day the task may still be done
    priority: int  # 1 most urgent … 9
    max_attempts: int = 3  # unanswered calls before the task fails as unreachable
    retry_minutes: tuple[int, ...] = (120, 1440)  # +2 h, then the next day
    enabled: bool = True

    def as_dict(self) -> dict:
        d = asdict(self)
        d["offsets_days"], d["retry_minutes"] = list(self.offsets_days), list(self.retry_minutes)
        return d

    def merged(self, changes: dict) -> TaskRule:
        known = {k: v for k, v in changes.items() if k in self.__dataclass_fields__ and k != "task_type"}
        for key in ("offsets_days", "retry_minutes"):
            if key in known:
                known[key] = tuple(int(x) for x in known[key])
        return replace(self, **known)


#: the default rules (domain.md "after the sale"); groups and brands override them
DEFAULT_RULES: dict[str, TaskRule] = {r.task_type: r for r in (
    TaskRule("delivery_callback", (3,), 4, 2),  # 交车回访: day 3 after delivery
    TaskRule("service_callback", (2,), 3, 3),  # 维修保养后回访: 2 days after the visit
    TaskRule("defeat_verification", (0,), 2, 1),  # 战败核实: within 2 days of approval
    TaskRule("maintenance_reminder", (-7,), 7, 4),  # 保养提醒: 7 days before due
    TaskRule("insurance_renewal", (-60, -30), 25, 3),  # 续保提醒: 60 and 30 days before expiry
    TaskRule("birthday_care", (0,), 0, 5),  # 生日关怀: on the day
    TaskRule("churn_winback", (0,), 30, 6),  # 流失回追
    TaskRule("lapsed_insurance_winback", (0,), 30, 6),  # 断保回追
    TaskRule("complaint_followup", (1,), 7, 1),  # 投诉回访: confirm the resolution with the customer
    TaskRule("spot_check", (0,), 7, 4, max_attempts=2),  # 集团抽查: HQ re-calls a store's callback
)}
TASK_TYPES: tuple[str, ...] = tuple(DEFAULT_RULES)

#: event type → task type it creates
TRIGGERS: dict[str, str] = {
    "leads.vehicle.delivered": "delivery_callback",
    "customers.service.recorded": "service_callback",
    "leads.defeat.approved": "defeat_verification",
    "customers.schedule.maintenance_due": "maintenance_reminder",
    "customers.schedule.insurance_expiring": "insurance_renewal",
    "customers.schedule.birthday": "birthday_care",
    "customers.schedule.churned": "churn_winback",
    "customers.schedule.insurance_lapsed": "lapsed_insurance_winback",
}


@dataclass(frozen=True)
class PlannedTask:
    offset_days: int
    due_at: datetime
    expires_at: datetime


def plan_tasks(rule: TaskRule, anchor: date, tz: str, window: CallingWindow, now: datetime) -> list[PlannedTask]:
    """The tasks a rule creates for an anchor date (delivery day, expiry day...); none that is already too late."""
    if not rule.enabled:
        return []
    out = []
    for offset in rule.offsets_days:
        due_day = anchor + timedelta(days=offset)
        due_at = window.opens_on(due_day, tz)
        expires_at = window.closes_on(due_day + timedelta(days=rule.valid_days), tz)
        if expires_at > now:
            out.append(PlannedTask(offset, due_at, expires_at))
    return out


def dedupe_key(task_type: str, subject: str, offset_days: int | None = None) -> str:
    """The business identity of a task: the same order, visit or schedule never makes two tasks."""
    return f"{task_type}:{subject}" if offset_days is None else f"{task_type}:{subject}:{offset_days}"


def validate_rule(changes: dict) -> dict[str, list[str]]:
    """Field errors for a rule change (empty when valid)."""
    errors: dict[str, list[str]] = {}
    offsets = changes.get("offsets_days")
    if offsets is not None and (not offsets or any(abs(int(o)) > 366 for o in offsets)):
        errors["offsets_days"] = ["give one to five offsets between -366 and 366 days"]
    retry = changes.get("retry_minutes")
    if retry is not None and any(int(m) < 1 or int(m) > 7 * 1440 for m in retry):
        errors["retry_minutes"] = ["each retry delay is between 1 minute and 7 days"]
    if "max_attempts" in changes and not 1 <= int(changes["max_attempts"]) <= 10:
        errors["max_attempts"] = ["between 1 and 10"]
    if "valid_days" in changes and not 0 <= int(changes["valid_days"]) <= 90:
        errors["valid_days"] = ["between 0 and 90"]
    if "priority" in changes and not 1 <= int(changes["priority"]) <= 9:
        errors["priority"] = ["between 1 and 9"]
    return errors
