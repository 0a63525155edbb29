"""Navigation per role: one table for the whole platform, so every service shows the same menu."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from shared.tenancy import HQ_ROLES

STORE = ("store_manager", "sales_consultant")
MANAGERS = ("store_manager",)
HQ = tuple(sorted(HQ_ROLES))


@dataclass(frozen=True)
class NavItem:
    label: object
    href: str
    roles: tuple[str, ...]


NAV: list[NavItem] = [
    NavItem(_l("My leads"), "/leads/", STORE),
    NavItem(_l("Visitor log"), "/leads/visits/new", STORE),
    NavItem(_l("Store board"), "/leads/board", MANAGERS),
    NavItem(_l("Daily report"), "/leads/reports", STORE),
    NavItem(_l("Customers"), "/customers/", HQ + STORE),
    NavItem(_l("Workbench"), "/callcenter/workbench", ("cc_agent", "cc_supervisor")),
    NavItem(_l("Call center board"), "/callcenter/board", ("cc_supervisor", "group_admin", "hq_analyst")),
    NavItem(_l("Complaints"), "/callcenter/complaints", HQ + MANAGERS),
    NavItem(_l("Questionnaires"), "/callcenter/questionnaires", ("cc_supervisor", "group_admin")),
    NavItem(_l("Spot checks"), "/callcenter/spot-checks", ("cc_supervisor", "group_admin", "hq_analyst") + MANAGERS),
    NavItem(_l("Dashboard"), "/analytics/", ("group_admin", "hq_analyst", "cc_supervisor", "store_manager")),
    NavItem(_l("Organisation"), "/identity/org", ("group_admin",)),
    NavItem(_l("Users"), "/identity/users", ("group_admin",)),
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
