"""Call-center JSON API."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import func, select

from shared.auth import current_principal, require_roles

from .models import Contact, Task

blp = Blueprint("callcenter", __name__, url_prefix="/callcenter/api/v1", description="Callback queues")


class QueueOut(Schema):
    open_tasks = fields.Integer()
    contacts = fields.Integer()
    tasks = fields.List(fields.Dict())


def _db():
    return current_app.extensions["crm"].db


@blp.route("/queue")
class Queue(MethodView):
    @require_roles("cc_agent", "cc_supervisor", "group_admin", "hq_analyst", "store_manager")
    @blp.response(200, QueueOut)
    def get(self):
        """Queue depth and the next open tasks in the caller's scope."""
        p = current_principal()
        with _db().session(p.scope) as s:
            tasks = s.scalars(select(Task).where(Task.status == "open").order_by(Task.priority, Task.due_at).limit(20))
            return {
                "open_tasks": s.scalar(select(func.count(Task.id)).where(Task.status == "open")),
                "contacts": s.scalar(select(func.count(Contact.id))),
                "tasks": [{"id": t.id, "type": t.task_type, "store_id": t.store_id, "due_at": t.due_at.isoformat()}
                          for t in tasks],
            }


@blp.route("/contacts/<customer_id>")
class ContactOne(MethodView):
    @require_roles("cc_agent", "cc_supervisor", "group_admin")
    @blp.response(200)
    def get(self, customer_id):
        """What the call center knows of a customer: stores and consent."""
        from shared.errors import not_found

        p = current_principal()
        with _db().session(p.scope) as s:
            c = s.get(Contact, customer_id)
            if c is None:
                not_found("contact")
            return {"id": c.id, "name": c.name, "phone": c.phone, "do_not_call": c.do_not_call,
                    "consent": c.consent, "store_ids": c.store_ids}
