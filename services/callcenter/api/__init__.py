"""Call-center JSON API: one blueprint, views split by area."""
from __future__ import annotations

from flask import after_this_request, current_app
from flask_smorest import Blueprint

blp = Blueprint("callcenter", __name__, url_prefix="/callcenter/api/v1",
                description="Callback queues, questionnaires, complaints and spot checks")

AGENTS = ("cc_agent", "cc_supervisor")
SUPERVISORS = ("cc_supervisor", "group_admin")
HQ_READ = ("cc_supervisor", "group_admin", "hq_analyst", "cc_agent")


def db():
    return current_app.extensions["crm"].db


def paginate(s, stmt, q):
    """Run a list query one page at a time; the total goes in the X-Total-Count header."""
    from sqlalchemy import func, select

    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))

    @after_this_request
    def _total(resp):
        resp.headers["X-Total-Count"] = str(total)
        return resp

    return s.scalars(stmt.limit(q["per_page"]).offset((q["page"] - 1) * q["per_page"])).all()


from . import complaints, config, surveys, tasks  # noqa: E402,F401  (register the views)
