"""What every customers API module shares: the blueprint, the database, visibility checks."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.db import Database
from shared.errors import not_found
from shared.tenancy import Scope

from ..handlers.common import active
from ..models import Customer

blp = Blueprint("customers", __name__, url_prefix="/customers/api/v1", description="The unified customer view")
NOT_ANALYST = ("group_admin", "cc_supervisor", "cc_agent", "store_manager", "sales_consultant")
REVIEWERS = ("group_admin", "store_manager")
FEEDERS = ("group_admin", "store_manager")


def db() -> Database:
    return current_app.extensions["crm"].db


def visible(s: Session, customer_id: str) -> Customer:
    """The live customer behind the id if the caller may see it; 404 otherwise (never 403)."""
    c = active(s, customer_id)
    if c is None:
        not_found("customer")
    return c


@contextmanager
def group_work(p: Principal, customer_id: str | None = None) -> Iterator[tuple[Session, Customer | None]]:
    """A unit of work over the whole group for changes that touch identity (matching, merging, consent).

    The caller must first be able to see the customer in their own scope; only then does the change
    run group-wide, so that exact matching and merging see every record of the group.
    """
    c_id = None
    if customer_id is not None:
        with db().session(p.scope) as s:
            c_id = visible(s, customer_id).id
    with db().session(Scope.system(p.group_id)) as s:
        yield s, (active(s, c_id) if c_id else None)
