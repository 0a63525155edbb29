"""Call-center JSON API: one blueprint, views split by area.

A view turns the request into a handler call inside a unit of work (`work()`; committed only by the view
that writes) or reads a `views` read model (`reading()`); who may call it is `require(action)`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import after_this_request, current_app
from sqlalchemy.orm import Session

from shared.web import ApiBlueprint
from shared.auth import current_principal
from shared.uow import UnitOfWork

from ...views import Page

blp = ApiBlueprint("callcenter", __name__, url_prefix="/callcenter/api/v1",
                   description="Callback queues, questionnaires, complaints and spot checks")


def work() -> UnitOfWork:
    """A unit of work in the caller's scope: nothing is saved unless the view commits."""
    return current_app.extensions["crm"].uow(current_principal().scope)


@contextmanager
def reading() -> Iterator[Session]:
    """A read in the caller's scope: what it loaded stays readable after the unit of work rolls back."""
    with work() as uow:
        yield uow.session
        uow.session.expunge_all()


def paged(found: Page) -> list:
    """A page of a list; the total goes in the X-Total-Count header."""

    @after_this_request
    def _total(resp):
        resp.headers["X-Total-Count"] = str(found.total)
        return resp

    return found.rows


from . import complaints, config, stats, surveys, tasks  # noqa: E402,F401  (register the views)
