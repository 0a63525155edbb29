"""Navigation per role: one table for the whole platform, so every service shows the same menu."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from shared.permissions import CALL_CENTER, MANAGER, STORE, roles_for


@dataclass(frozen=True)
class NavItem:
    """A menu entry, shown to the roles allowed `action` (narrowed to `only` when a page is theirs alone)."""

    label: object
    href: str
    action: str
    only: tuple[str, ...] | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        allowed = roles_for(self.action)
        return allowed if self.only is None else tuple(r for r in allowed if r in self.only)


NAV: list[NavItem] = [
    NavItem(_l("My leads"), "/leads/", "leads.read", only=STORE),
    NavItem(_l("Visitor log"), "/leads/visits/new", "leads.work", only=STORE),
    NavItem(_l("Store board"), "/leads/board", "leads.manage", only=(MANAGER,)),
    NavItem(_l("Daily report"), "/leads/reports", "leads.report"),
    NavItem(_l("Customers"), "/customers/", "customers.read"),
    NavItem(_l("Access log"), "/customers/access-log", "customers.access_log"),
    NavItem(_l("Workbench"), "/callcenter/workbench", "callcenter.work", only=CALL_CENTER),
    NavItem(_l("Call center board"), "/callcenter/board", "callcenter.board"),
    NavItem(_l("Complaints"), "/callcenter/complaints", "callcenter.complaints.read"),
    NavItem(_l("Questionnaires"), "/callcenter/questionnaires", "callcenter.configure"),
    NavItem(_l("Spot checks"), "/callcenter/spot-checks", "callcenter.spot_checks"),
    NavItem(_l("Dashboard"), "/analytics/", "analytics.read"),
    NavItem(_l("Model catalogue"), "/leads/catalogue", "leads.catalogue"),
    NavItem(_l("Organisation"), "/identity/org", "identity.admin"),
    NavItem(_l("Users"), "/identity/users", "identity.admin"),
]


def nav_for(role: str | None) -> list[NavItem]:
    return [item for item in NAV if role in item.roles]


#: where each role starts its day after login (else its first menu item)
HOMES = {
    "cc_agent": "/callcenter/workbench",
    "cc_supervisor": "/callcenter/board",
    "group_admin": "/analytics/",
    "hq_analyst": "/analytics/",
    "store_manager": "/leads/board",
    "sales_consultant": "/leads/",
}


def home_for(role: str) -> str:
    if role in HOMES:
        return HOMES[role]
    items = nav_for(role)
    return items[0].href if items else "/identity/"


ROLE_LABELS = {
    "group_admin": _l("Group admin"),
    "hq_analyst": _l("HQ analyst"),
    "cc_supervisor": _l("Call-center supervisor"),
    "cc_agent": _l("Call-center agent"),
    "store_manager": _l("Showroom manager"),
    "sales_consultant": _l("Sales consultant"),
}


def role_label(role: str):
    return ROLE_LABELS.get(role, role)
