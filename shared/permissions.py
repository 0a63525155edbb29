"""Who may do what: one table, action → roles, for the API, the pages, the navigation and the tests.

Roles say what a person does; the tenant scope (`shared.tenancy`) says whose records they see. An
action here answers only "may this role do this at all"; a consultant allowed `leads.work` still
works only on their own leads, because the session's scope filters the rest.

Guards: `require(action)` on an API view (403 with the project's error body), `page(action)` on a
page view (login redirect when signed out, 403 page otherwise); `can(role, action)` anywhere else.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import quote

from flask import abort, g, redirect, request

ADMIN, ANALYST, SUPERVISOR, AGENT = "group_admin", "hq_analyst", "cc_supervisor", "cc_agent"
MANAGER, CONSULTANT = "store_manager", "sales_consultant"
ROLES = (ADMIN, ANALYST, SUPERVISOR, AGENT, MANAGER, CONSULTANT)
CALL_CENTER = (AGENT, SUPERVISOR)
STORE = (MANAGER, CONSULTANT)

PERMISSIONS: dict[str, tuple[str, ...]] = {
    # --- identity ---------------------------------------------------------------------------------
    "identity.self": ROLES,                          # one's own account: who am I, password, logout
    "identity.read": ROLES,                          # the org tree; a store's colleagues (scope narrows)
    "identity.admin": (ADMIN,),                      # org tree, users, roles, resets, unlocks
    # --- leads ------------------------------------------------------------------------------------
    "leads.read": (CONSULTANT, MANAGER, ADMIN, ANALYST),   # lists, lead pages, reports, funnel, exports (masked by role)
    "leads.create": (CONSULTANT, MANAGER, ADMIN, AGENT, SUPERVISOR),  # a lead or a visitor; the call center its phone-ins
    "leads.work": (CONSULTANT, MANAGER, ADMIN),     # follow-ups, grades, drives, orders, deliveries, defeats, card audit
    "leads.manage": (MANAGER, ADMIN),               # assign, approve defeats, store options, campaigns, board, import
    "leads.oversee": (MANAGER, ADMIN, ANALYST),     # the store board's figures and the defeats waiting (read)
    "leads.report": (CONSULTANT, MANAGER),          # daily activity reports (a consultant's own, the store's TACT)
    "leads.settings": (ADMIN,),                     # the group's cadence, horizons, sources
    "leads.catalogue.read": ROLES,                   # the model catalogue and competitor list (the forms' pickers)
    "leads.catalogue": (ADMIN,),                    # master data: the model catalogue per brand, the competitor list
    # --- customers --------------------------------------------------------------------------------
    "customers.read": (ADMIN, ANALYST, SUPERVISOR, AGENT, MANAGER, CONSULTANT),  # search, 360 (masked by role)
    "customers.write": (ADMIN, SUPERVISOR, AGENT, MANAGER, CONSULTANT),   # register, profile, consent
    "customers.reveal": (ADMIN, SUPERVISOR, MANAGER),  # show a full number, with a reason, logged
    "customers.review": (ADMIN, MANAGER),           # duplicates: merge, reject, unmerge (a manager: own stores only)
    "customers.feed": (ADMIN, MANAGER),             # DMS feeds and imports
    "customers.export": (ADMIN,),                   # everything held about a person (PIPL access request)
    "customers.erase": (ADMIN,),                    # PIPL erasure
    "customers.access_log": (ADMIN, MANAGER),       # who saw which customer's what (a manager: their store's)
    "customers.settings.read": (ADMIN, ANALYST, SUPERVISOR),  # care settings
    "customers.settings": (ADMIN,),                 # change care settings, run the day's schedules
    # --- call center ------------------------------------------------------------------------------
    "callcenter.work": CALL_CENTER,                 # the workbench: claim, call, answer, survey links
    "callcenter.read": (AGENT, SUPERVISOR, ADMIN, ANALYST),  # what calls follow: rules, settings, questionnaires
    "callcenter.tasks.read": (AGENT, SUPERVISOR, ADMIN, ANALYST, MANAGER),  # tasks, queue, answers (phones masked)
    "callcenter.contacts": (AGENT, SUPERVISOR, ADMIN),  # what the call center knows of a customer (masked)
    "callcenter.board": (SUPERVISOR, ADMIN, ANALYST),
    "callcenter.configure": (SUPERVISOR, ADMIN),    # rules, questionnaires, settings
    "callcenter.complaints.read": (AGENT, SUPERVISOR, ADMIN, ANALYST, MANAGER),
    "callcenter.complaints.open": (AGENT, SUPERVISOR, ADMIN),  # record a complaint for a store
    "callcenter.complaints.handle": (AGENT, SUPERVISOR, ADMIN, MANAGER),  # progress and resolve
    "callcenter.complaints.confirm": (AGENT, SUPERVISOR, ADMIN),  # confirmed with the customer: not the store
    "callcenter.spot_checks": (SUPERVISOR, ADMIN, ANALYST, MANAGER),
    "callcenter.store_callbacks": (MANAGER, CONSULTANT),  # a store records the callbacks it made itself
    # --- analytics --------------------------------------------------------------------------------
    "analytics.read": (ADMIN, ANALYST, SUPERVISOR, MANAGER),
    "analytics.admin": (ADMIN,),                    # targets and settings
    "analytics.reconcile": (MANAGER, ADMIN, ANALYST),  # figures reconciled: beside leads' own counts (leads.oversee)
}


def roles_for(action: str) -> tuple[str, ...]:
    try:
        return PERMISSIONS[action]
    except KeyError:
        raise KeyError(f"unknown action {action!r}: add it to shared.permissions.PERMISSIONS") from None


def can(role: str | None, action: str) -> bool:
    return role in roles_for(action)


def _guard(action: str, signed_out: Callable[[], object]) -> Callable:
    """A view decorator: `signed_out()` answers a caller without a session, 403 a role not allowed `action`."""
    roles = roles_for(action)

    def deco(fn):
        @wraps(fn)
        def wrapper(*a, **kw):
            p = g.get("principal")
            if p is None:
                return signed_out()
            if p.role not in roles:
                abort(403, f"role {p.role} may not do this ({action})")
            return fn(*a, **kw)

        wrapper.required_roles = roles
        wrapper.action = action
        return wrapper

    return deco


def require(action: str) -> Callable:
    """Guard an API view: signed in (401) and allowed `action` (403)."""
    return _guard(action, lambda: abort(401, "authentication required"))


def page(action: str) -> Callable:
    """Guard a page: the login page when signed out, the 403 page for a role not allowed `action`."""
    return _guard(action, lambda: redirect(f"/identity/login?next={quote(request.full_path.rstrip('?'))}"))
