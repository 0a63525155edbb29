"""The customer's web survey: no login, a single-use token in the link, valid for a few days."""
from __future__ import annotations

from flask import render_template, request

from shared.errors import ApiError
from shared.tenancy import Scope

from ..handlers import surveys as h
from . import bp, rt
from .workbench import _answers, choices


@bp.route("/s/<token>", methods=["GET", "POST"])
def public_survey(token: str):
    """Show the questionnaire to the customer; accept one set of answers."""
    status, errors = 200, {}
    with rt().db.session(Scope.system()) as s:
        try:
            link, task, version = h.open_link(s, token)
        except h.LinkUnusable as exc:
            status = 404 if exc.reason == "unknown" else 410
            return render_template("callcenter/public_done.html", reason=exc.reason), status
        ctx = {"version": version, "choices": choices, "token": token}
    if request.method == "POST":
        try:
            with rt().db.session(Scope.system()) as s:
                h.submit_link(s, token, _answers(request.form))
            return render_template("callcenter/public_done.html", reason="thanks")
        except h.LinkUnusable as exc:
            return render_template("callcenter/public_done.html", reason=exc.reason), 410
        except ApiError as exc:
            errors, status = exc.data.get("errors", {}), 422
    return render_template("callcenter/public_survey.html", errors=errors, form=request.form, **ctx), status
