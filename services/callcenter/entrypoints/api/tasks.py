"""Tasks: the queue, claiming the next one, attempts, leases. Phones are masked by role (`TaskOut`)."""
from __future__ import annotations

from flask import request
from flask.views import MethodView

from shared.auth import current_principal
from shared.errors import NotFound
from shared.permissions import require

from ... import views
from ...handlers import calls
from ...handlers import tasks as h
from ...schemas import AttemptIn, AttemptOut, ClaimIn, ClaimOut, ContactOut, QueueOut, TaskOut, TaskQuery
from . import blp, paged, reading, work

REASONS = {"outside_window": "No calls now: outside the calling window.",
           "empty": "No task is waiting in this queue right now."}


@blp.route("/queue")
class Queue(MethodView):
    @require("callcenter.tasks.read")
    @blp.response(200, QueueOut)
    def get(self):
        """Queue depth and the next open tasks in the caller's scope (expired tasks are counted apart:
        nobody will be asked to call them)."""
        with reading() as s:
            return views.queue(s)


@blp.route("/contacts/<customer_id>")
class ContactOne(MethodView):
    @require("callcenter.contacts")
    @blp.response(200, ContactOut)
    def get(self, customer_id):
        """What the call center knows of a customer: stores and consent (the number masked by role)."""
        with reading() as s:
            found = views.contact_view(s, current_principal(), customer_id)
        if found is None:
            raise NotFound("contact")
        return found


@blp.route("/tasks")
class Tasks(MethodView):
    @require("callcenter.tasks.read")
    @blp.arguments(TaskQuery, location="query")
    @blp.response(200, TaskOut(many=True))
    def get(self, q):
        """Tasks in the caller's scope, filterable, by priority and due time; paginated."""
        with reading() as s:
            found = views.find_tasks(s, q)
            return paged(views.Page(views.task_rows(s, found.rows), found.total))


@blp.route("/tasks/next")
class NextTask(MethodView):
    @require("callcenter.work")
    @blp.arguments(ClaimIn)
    @blp.response(200, ClaimOut)
    def post(self, body):
        """Claim the next task: exactly one, held under a lease; `task` is null when none may be called now."""
        p = current_principal()
        with work() as uow:
            claim = h.claim_next_task(uow, p.user_id, p.group_id, **body)
            # read before the commit: after it, a read would begin a transaction of its own, which on
            # SQLite (a POST's transactions take the write lock) queues behind every writer again
            task = views.task_row(uow.session, claim.task) if claim.task else None
            uow.commit()
        return {"task": task, "reason": claim.reason, "message": REASONS.get(claim.reason, "")}


@blp.route("/tasks/<task_id>")
class TaskOne(MethodView):
    @require("callcenter.tasks.read")
    @blp.response(200, TaskOut)
    def get(self, task_id):
        """One task; 404 outside the caller's scope (another store's task answers like a random id)."""
        with reading() as s:
            t = views.one_task(s, task_id)
            if t is None:
                raise NotFound("task")
            return views.task_row(s, t)


@blp.route("/tasks/<task_id>/attempts")
class Attempts(MethodView):
    @require("callcenter.tasks.read")
    @blp.response(200, AttemptOut(many=True))
    def get(self, task_id):
        """The calls made on a task."""
        with reading() as s:
            if views.one_task(s, task_id) is None:
                raise NotFound("task")
            return views.attempts_of(s, task_id)

    @require("callcenter.work")
    @blp.arguments(AttemptIn)
    @blp.response(201, AttemptOut)
    def post(self, body, task_id):
        """Log a call on a task you hold (409 when your lease expired or the customer asked not to be
        called: nothing is recorded). An `Idempotency-Key` is yours: a retry gets the first answer."""
        p = current_principal()
        key = request.headers.get("Idempotency-Key")
        call = calls.Call(body["outcome"], body["note"], body["callback_at"], body["answers"], key[:80] if key else None)
        with work() as uow:
            res = calls.log_attempt(uow, p, task_id, call)
            uow.commit()
            a = res.attempt
            out = {c: getattr(a, c) for c in ("id", "task_id", "number", "outcome", "callback_at", "created_at")}
            out.update(task=views.task_row(uow.session, res.task), response_id=getattr(res.response, "id", None),
                       score=getattr(res.response, "score", None), low_score=getattr(res.response, "low_score", None),
                       complaint_id=getattr(res.complaint, "id", None))
            return out


@blp.route("/tasks/<task_id>/release")
class Release(MethodView):
    @require("callcenter.work")
    @blp.response(200, TaskOut)
    def post(self, task_id):
        """Give a task you hold back to the queue."""
        with work() as uow:
            t = h.release_task(uow, current_principal(), task_id)
            row = views.task_row(uow.session, t)  # before the commit, as for a claim
            uow.commit()
            return row


@blp.route("/tasks/<task_id>/renew")
class Renew(MethodView):
    @require("callcenter.work")
    @blp.response(200, TaskOut)
    def post(self, task_id):
        """Extend your lease while you are still on the call."""
        with work() as uow:
            t = h.renew_lease(uow, current_principal(), task_id)
            row = views.task_row(uow.session, t)  # before the commit, as for a claim
            uow.commit()
            return row
