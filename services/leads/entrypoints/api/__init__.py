"""Leads JSON API (flask-smorest): one blueprint, its views split by area."""
from flask import current_app, g

from shared.web import ApiBlueprint
from shared.auth import current_principal

blp = ApiBlueprint("leads", __name__, url_prefix="/leads/api/v1", description="Leads and the visitor log")


def db():
    return current_app.extensions["crm"].db


def in_scope(handler, *args):
    """`handler(session, principal, *args)` in a session of the caller's scope: the body of a view that
    hands its request to one handler."""
    p = current_principal()
    with db().session(p.scope) as s:
        return handler(s, p, *args)


@blp.after_request
def _total(resp):
    """Lists tell the total number of rows in `X-Total-Count`."""
    if g.get("total_count") is not None:
        resp.headers["X-Total-Count"] = str(g.total_count)
    return resp


from . import admin, catalogue, leads, sales, stats  # noqa: E402, F401  (views register themselves on blp)
