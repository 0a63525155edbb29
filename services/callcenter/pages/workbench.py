"""The agent workbench: next task, customer summary, script, questionnaire, outcome in a few keystrokes."""
from __future__ import annotations

from datetime import datetime

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from shared.db import utcnow
from shared.errors import ApiError
from shared.web import page_roles

from .. import labels
from ..domain.rules import TASK_TYPES
from ..domain.scoring import options_of
from ..handlers import complaints as complaints_h
from ..handlers import surveys as surveys_h
from ..handlers import tasks as h
from ..models import Attempt, Complaint, Contact, StoreRef, SurveyResponse, Task
from . import AGENTS, bp, rt, tz

HOME = "/callcenter/workbench"


def _filters() -> dict:
    return {k: request.values.get(k) or None for k in ("task_type", "store_id")}


def _error(exc: ApiError) -> None:
    code = exc.data.get("code")
    if code == "lease_expired":
        flash(_("Your hold on this task expired and it went back to the queue; nothing was recorded. "
                "Take the next task."), "error")
    elif code == "task_closed":
        flash(_("This task is already closed; nothing was recorded."), "error")
    else:
        errors = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in exc.data.get("errors", {}).items())
        flash(f"{exc.data['message']}{' — ' + errors if errors else ''}", "error")


@bp.get("/workbench")
@page_roles(*AGENTS)
def workbench():
    """The task the agent holds, or the queue and the Next-task button."""
    p = g.principal
    now = utcnow()
    with rt().db.session(p.scope) as s:
        task = h.held_task(s, p.user_id)
        stores = {st.id: st for st in s.scalars(select(StoreRef).order_by(StoreRef.code))}
        due = dict(s.execute(select(Task.task_type, func.count(Task.id))
                             .where(Task.status == "open", Task.available_at <= now, Task.expires_at > now)
                             .group_by(Task.task_type)).all())
        callbacks = s.scalars(select(Task).where(Task.reserved_for == p.user_id, Task.status == "open")
                              .order_by(Task.available_at).limit(10)).all()
        ctx = {"task": task, "stores": stores, "due": due, "callbacks": callbacks, "filters": _filters(),
               "task_types": TASK_TYPES, "now": now}
        if task is not None:
            q, v = surveys_h.questionnaire_for(s, task.group_id, task.task_type, task.brand_id)
            contact = s.get(Contact, task.customer_id) if task.customer_id else None
            ctx.update(
                questionnaire=q, version=v, contact=contact, choices=choices,
                attempts=s.scalars(select(Attempt).where(Attempt.task_id == task.id).order_by(Attempt.number)).all(),
                history=_history(s, task),
                complaint=s.get(Complaint, task.detail["complaint_id"]) if task.detail.get("complaint_id") else None,
            )
    return render_template("callcenter/workbench.html", **ctx)


def choices(q: dict) -> list[dict]:
    """A question's options with the key that picks each: the value for scales, y/n, else 1, 2, 3…"""
    out = []
    for i, o in enumerate(options_of(q), 1):
        key = o["value"] if q["type"] in ("satisfaction5", "nps") else (
            {"yes": "y", "no": "n"}.get(o["value"], str(i)) if q["type"] == "yes_no" else str(i))
        out.append({**o, "shortcut": key})
    return out


def _history(s, task: Task) -> dict:
    """What the call center already knows of this customer: earlier tasks, answers, complaints."""
    if task.customer_id:
        same = Task.customer_id == task.customer_id
    elif task.phone:
        same = Task.phone == task.phone
    else:
        return {"tasks": [], "surveys": [], "complaints": []}
    tasks = s.scalars(select(Task).where(same, Task.id != task.id).order_by(Task.created_at.desc()).limit(8)).all()
    surveys, complaints = [], []
    if task.customer_id:
        surveys = s.scalars(select(SurveyResponse).where(SurveyResponse.customer_id == task.customer_id)
                            .order_by(SurveyResponse.created_at.desc()).limit(5)).all()
        complaints = s.scalars(select(Complaint).where(Complaint.customer_id == task.customer_id)
                               .order_by(Complaint.created_at.desc()).limit(5)).all()
    return {"tasks": tasks, "surveys": surveys, "complaints": complaints}


@bp.post("/workbench/next")
@page_roles(*AGENTS)
def next_task():
    """Claim the next task (keyboard: n)."""
    p = g.principal
    f = _filters()
    with rt().db.session(p.scope) as s:
        claim = h.claim_next_task(s, p.user_id, p.group_id, **f)
    if claim.task is None:
        flash(str(labels.REASONS.get(claim.reason, claim.reason)), "error")
    return redirect(url_for("callcenter_pages.workbench", **{k: v for k, v in f.items() if v}))


def _answers(form) -> dict:
    out = {}
    for key in form:
        if key.startswith("q_"):
            values = [v for v in form.getlist(key) if v.strip()]
            if values:
                out[key[2:]] = values if len(values) > 1 or form.get(f"multi_{key[2:]}") else values[0]
    return out


@bp.post("/workbench/<task_id>/attempt")
@page_roles(*AGENTS)
def attempt(task_id: str):
    """Record the outcome (and the answers when the customer was reached)."""
    p = g.principal
    f = request.form
    outcome = f.get("outcome", "")
    callback_at = None
    if outcome == "call_back":
        try:
            callback_at = datetime.fromisoformat(f.get("callback_at", "")).replace(tzinfo=tz())
        except ValueError:
            flash(_("Give the date and time you promised to call back."), "error")
            return redirect(HOME)
    answers = _answers(f) if outcome == "reached" else {}
    try:
        with rt().db.session(p.scope) as s:
            res = h.log_attempt(s, p, task_id, outcome, f.get("note", ""), callback_at, answers)
            if f.get("complaint", "").strip() and outcome == "reached":
                complaints_h.open_from_agent(s, p, {"task_id": task_id, "severity": f.get("severity", "medium"),
                                                    "summary": f["complaint"]})
            msg = _("Saved: %(outcome)s.", outcome=labels.OUTCOMES.get(outcome, outcome))
            if res.response is not None:
                msg += " " + _("Score %(score)s.", score=f"{res.response.score:g}")
            if res.complaint is not None:
                msg += " " + _("A complaint was opened for the store's manager.")
        flash(msg, "ok")
    except ApiError as exc:
        _error(exc)
    return redirect(HOME)


@bp.post("/workbench/<task_id>/release")
@page_roles(*AGENTS)
def release(task_id: str):
    """Give the task back without calling (keyboard: l)."""
    try:
        with rt().db.session(g.principal.scope) as s:
            h.release_task(s, g.principal, task_id)
        flash(_("The task went back to the queue."), "ok")
    except ApiError as exc:
        _error(exc)
    return redirect(HOME)


@bp.post("/workbench/<task_id>/renew")
@page_roles(*AGENTS)
def renew(task_id: str):
    """Keep the lease while the agent is still on the call (called by the page every few minutes)."""
    try:
        with rt().db.session(g.principal.scope) as s:
            t = h.renew_lease(s, g.principal, task_id)
            return jsonify({"lease_until": t.lease_until.isoformat()})
    except ApiError as exc:
        return jsonify(exc.data), exc.code


@bp.post("/workbench/<task_id>/link")
@page_roles(*AGENTS)
def link(task_id: str):
    """Make a web link the customer can answer on (shown once, to send by SMS or WeChat)."""
    try:
        with rt().db.session(g.principal.scope) as s:
            lk, token = surveys_h.create_link(s, g.principal, task_id)
        url = f"{request.host_url.rstrip('/')}/callcenter/s/{token}"
        flash(_("Web survey link (valid until %(until)s): %(url)s", until=lk.expires_at.astimezone(tz())
                .strftime("%m-%d %H:%M"), url=url), "ok")
    except ApiError as exc:
        _error(exc)
    return redirect(HOME)
