"""The agent workbench: next task, customer summary, script, questionnaire, outcome in a few keystrokes.

The number is a link to dial only while the agent holds the task and the customer may be called
(`views.workbench`); the page shows it masked otherwise.
"""
from __future__ import annotations

from datetime import datetime

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from shared import clock
from shared.db import utcnow
from shared.errors import UserError
from shared.permissions import page

from ... import labels, views
from ...domain.rules import TASK_TYPES
from ...domain.scoring import options_of
from ...handlers import calls, surveys
from ...handlers import complaints as complaints_h
from ...handlers import tasks as h
from ...adapters.models import Contact
from . import bp, reason, work

HOME = "/callcenter/workbench"


def _filters() -> dict:
    return {k: request.values.get(k) or None for k in ("task_type", "store_id")}


def _error(exc) -> None:
    code = exc.data.get("code")
    if code == "lease_expired":
        flash(_("Your hold on this task expired and it went back to the queue; nothing was recorded. "
                "Take the next task."), "error")
    elif code == "task_closed":
        flash(_("This task is already closed; nothing was recorded."), "error")
    elif code == "do_not_call":
        flash(_("The customer asked not to be called; nothing was recorded. Give the task back to the queue."),
              "error")
    else:
        flash(reason(exc), "error")


@bp.get("/workbench")
@page("callcenter.work")
def workbench():
    """The task the agent holds, or the queue and the Next-task button."""
    p = g.principal
    with work() as uow:
        s = uow.session
        task = h.held_task(s, p.user_id)
        ctx = {**views.workbench(s, p, task), "filters": _filters(), "task_types": TASK_TYPES, "choices": choices}
        if task is not None:
            ctx["questionnaire"], ctx["version"] = surveys.questionnaire_for(s, task.group_id, task.task_type,
                                                                             task.brand_id)
        uow.commit()  # the questionnaire is made on first use (and what was read stays readable)
    return render_template("callcenter/workbench.html", **ctx)


def choices(q: dict) -> list[dict]:
    """A question's options with the key that picks each: the value for scales, y/n, else 1, 2, 3…"""
    out = []
    for i, o in enumerate(options_of(q), 1):
        key = o["value"] if q["type"] in ("satisfaction5", "nps") else (
            {"yes": "y", "no": "n"}.get(o["value"], str(i)) if q["type"] == "yes_no" else str(i))
        out.append({**o, "shortcut": key})
    return out


@bp.post("/workbench/next")
@page("callcenter.work")
def next_task():
    """Claim the next task (keyboard: n)."""
    p = g.principal
    f = _filters()
    with work() as uow:
        claim = h.claim_next_task(uow, p.user_id, p.group_id, **f)
        uow.commit()
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
@page("callcenter.work")
def attempt(task_id: str):
    """Record the outcome (and the answers when the customer was reached)."""
    p = g.principal
    f = request.form
    outcome = f.get("outcome", "")
    callback_at = None
    if outcome == "call_back":
        try:
            callback_at = datetime.fromisoformat(f.get("callback_at", "")).replace(tzinfo=clock.zone())
        except ValueError:
            flash(_("Give the date and time you promised to call back."), "error")
            return redirect(HOME)
    call = calls.Call(outcome, f.get("note", ""), callback_at, _answers(f) if outcome == "reached" else {})
    try:
        with work() as uow:
            res = calls.log_attempt(uow, p, task_id, call)
            if f.get("complaint", "").strip() and outcome == "reached":
                complaints_h.open_from_agent(uow, p, {"task_id": task_id, "severity": f.get("severity", "medium"),
                                                      "summary": f["complaint"]})
            uow.commit()
        msg = _("Saved: %(outcome)s.", outcome=labels.OUTCOMES.get(outcome, outcome))
        if res.response is not None:
            msg += " " + _("Score %(score)s.", score=f"{res.response.score:g}")
        if res.complaint is not None:
            msg += " " + _("A complaint was opened for the store's manager.")
        flash(msg, "ok")
    except UserError as exc:
        _error(exc)
    return redirect(HOME)


@bp.post("/workbench/<task_id>/release")
@page("callcenter.work")
def release(task_id: str):
    """Give the task back without calling (keyboard: l)."""
    try:
        with work() as uow:
            h.release_task(uow, g.principal, task_id)
            uow.commit()
        flash(_("The task went back to the queue."), "ok")
    except UserError as exc:
        _error(exc)
    return redirect(HOME)


@bp.post("/workbench/<task_id>/renew")
@page("callcenter.work")
def renew(task_id: str):
    """Keep the lease while the agent is still on the call (called by the page every few minutes)."""
    try:
        with work() as uow:
            t = h.renew_lease(uow, g.principal, task_id)
            uow.commit()
            until = t.lease_until
            assert until is not None  # renew_lease has just set it
            left = int((until - utcnow()).total_seconds())
            return jsonify({"lease_until": until.isoformat(), "seconds_left": left})
    except UserError as exc:
        return jsonify(exc.data), exc.status if hasattr(exc, "status") else exc.code


@bp.get("/workbench/<task_id>/status")
@page("callcenter.work")
def status(task_id: str):
    """Whether the agent still holds the task and may call the customer (the open page polls it: a
    do-not-call set meanwhile takes the number away at once)."""
    with work() as uow:
        s = uow.session
        task = h.held_task(s, g.principal.user_id)
        if task is None or task.id != task_id:
            return jsonify({"held": False, "callable": False})
        contact = s.get(Contact, task.customer_id) if task.customer_id else None
        return jsonify({"held": True, "callable": contact is None or bool(contact.callable)})


@bp.post("/workbench/<task_id>/link")
@page("callcenter.work")
def link(task_id: str):
    """Make a web link the customer can answer on (shown once, to send by SMS or WeChat)."""
    try:
        with work() as uow:
            lk, token = surveys.create_link(uow, g.principal, task_id)
            uow.commit()
        url = f"{request.host_url.rstrip('/')}/callcenter/s/{token}"
        flash(_("Web survey link (valid until %(until)s): %(url)s", until=lk.expires_at.astimezone(clock.zone())
                .strftime("%m-%d %H:%M"), url=url), "ok")
    except UserError as exc:
        _error(exc)
    return redirect(HOME)
