"""Leads JSON API (flask-smorest): one blueprint, its views split by area."""
from flask import current_app, g
from flask_smorest import Blueprint

blp = Blueprint("leads", __name__, url_prefix="/leads/api/v1", description="Leads and the visitor log")


def db():
    return current_app.extensions["crm"].db


@blp.after_request
def _total(resp):
    """Lists tell the total number of rows in `X-Total-Count`."""
    if g.get("total_count") is not None:
        resp.headers["X-Total-Count"] = str(g.total_count)
    return resp


from . import admin, catalogue, leads, sales, stats  # noqa: E402, F401  (views register themselves on blp)
