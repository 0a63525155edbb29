"""Tasks: the queue, claiming the next one, attempts, leases."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from sqlalchemy import func, select

from shared.auth import current_principal, require_roles
from shared.db import utcnow
from shared.errors import not_found

from ..handlers import tasks as h
from ..models import Attempt, Contact, Task
from ..schemas import AttemptIn, AttemptOut, ClaimIn, ClaimOut, ContactOut, QueueOut, TaskOut, TaskQuery
from . import AGENTS, HQ_READ, blp, db, paginate

REASONS = {"outside_window": "No calls now: outside the calling window.",
           "empty": "No task is waiting in this queue right now."}


@blp.route("/queue")
class Queue(MethodView):
    @require_roles("cc_agent", "cc_supervisor", "group_admin", "hq_analyst", "store_manager")
    @blp.response(200, QueueOut)
    def get(self):
        """Queue depth and the next open tasks in the caller's scope (expired tasks are counted apart:
        nobody will be asked to call them)."""
        p = current_principal()
        now = utcnow()
        live = (Task.status == "open", Task.expires_at > now)
        with db().session(p.scope) as s:
            tasks = s.scalars(select(Task).where(*live).order_by(Task.priority, Task.due_at).limit(20))
            return {
                "open_tasks": s.scalar(select(func.count(Task.id)).where(*live)),
                "expired_tasks": s.scalar(select(func.count(Task.id)).where(Task.status == "open",
                                                                            Task.expires_at <= now)),
                "contacts": s.scalar(select(func.count(Contact.id))),
                "tasks": [{"id": t.id, "type": t.task_type, "store_id": t.store_id, "due_at": t.due_at}
                          for t in tasks],
            }


@blp.route("/contacts/<customer_id>")
class ContactOne(MethodView):
    @require_roles("cc_agent", "cc_supervisor", "group_admin")
    @blp.response(200, ContactOut)
    def get(self, customer_id):
        """What the call center knows of a customer: stores and consent."""
        p = current_principal()
        with db().session(p.scope) as s:
            c = s.get(Contact, customer_id)
            if c is None:
                not_found("contact")
            return {"id": c.id, "name": c.name, "phone": c.phone, "do_not_call": c.do_not_call,
                    "consent": c.consent, "store_ids": c.store_ids, "callable": c.callable}


@blp.route("/tasks")
class Tasks(MethodView):
    @require_roles(*HQ_READ, "store_manager")
    @blp.arguments(TaskQuery, location="query")
    @blp.response(200, TaskOut(many=True))
    def get(self, q):
        """Tasks in the caller's scope, filterable, by priority and due time; paginated."""
        p = current_principal()
        with db().session(p.scope) as s:
            stmt = select(Task)
            for key in ("status", "task_type", "store_id", "brand_id", "customer_id", "lead_id"):
                if q.get(key):
                    stmt = stmt.where(getattr(Task, key) == q[key])
            return paginate(s, stmt.order_by(Task.priority, Task.due_at, Task.id), q)


@blp.route("/tasks/next")
class NextTask(MethodView):
    @require_roles(*AGENTS)
    @blp.arguments(ClaimIn)
    @blp.response(200, ClaimOut)
    def post(self, body):
        """Claim the next task: exactly one, held under a lease; `task` is null when none may be called now."""
        p = current_principal()
        with db().session(p.scope) as s:
            claim = h.claim_next_task(s, p.user_id, p.group_id, **body)
        return {"task": claim.task, "reason": claim.reason, "message": REASONS.get(claim.reason, "")}


@blp.route("/tasks/<task_id>")
class TaskOne(MethodView):
    @require_roles(*HQ_READ, "store_manager")
    @blp.response(200, TaskOut)
    def get(self, task_id):
        """One task; 404 outside the caller's scope."""
        p = current_principal()
        with db().session(p.scope) as s:
            t = s.get(Task, task_id)
            if t is None:
                not_found("task")
            return t


@blp.route("/tasks/<task_id>/attempts")
class Attempts(MethodView):
    @require_roles(*HQ_READ, "store_manager")
    @blp.response(200, AttemptOut(many=True))
    def get(self, task_id):
        """The calls made on a task."""
        p = current_principal()
        with db().session(p.scope) as s:
            if s.get(Task, task_id) is None:
                not_found("task")
            return s.scalars(select(Attempt).where(Attempt.task_id == task_id).order_by(Attempt.number)).all()

    @require_roles(*AGENTS)
    @blp.arguments(AttemptIn)
    @blp.response(201, AttemptOut)
    def post(self, body, task_id):
        """Log a call on a task you hold (409 when your lease expired: nothing is recorded)."""
        p = current_principal()
        key = request.headers.get("Idempotency-Key")
        with db().session(p.scope) as s:
            res = h.log_attempt(s, p, task_id, body["outcome"], body["note"], body["callback_at"], body["answers"],
                                key[:80] if key else None)
            a = res.attempt
            out = {c: getattr(a, c) for c in ("id", "task_id", "number", "outcome", "callback_at", "created_at")}
            out.update(task=res.task, response_id=getattr(res.response, "id", None),
                       score=getattr(res.response, "score", None), low_score=getattr(res.response, "low_score", None),
                       complaint_id=getattr(res.complaint, "id", None))
            return out


@blp.route("/tasks/<task_id>/release")
class Release(MethodView):
    @require_roles(*AGENTS)
    @blp.response(200, TaskOut)
    def post(self, task_id):
        """Give a task you hold back to the queue."""
        p = current_principal()
        with db().session(p.scope) as s:
            return h.release_task(s, p, task_id)


@blp.route("/tasks/<task_id>/renew")
class Renew(MethodView):
    @require_roles(*AGENTS)
    @blp.response(200, TaskOut)
    def post(self, task_id):
        """Extend your lease while you are still on the call."""
        p = current_principal()
        with db().session(p.scope) as s:
            return h.renew_lease(s, p, task_id)
