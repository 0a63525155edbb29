"""The customer's web survey: no login, a single-use token in the link, valid for a few days."""
from __future__ import annotations

from flask import render_template, request

from shared.errors import UserError

from ...handlers import surveys as h
from . import bp, rt
from .workbench import _answers, choices


@bp.route("/s/<token>", methods=["GET", "POST"])
def public_survey(token: str):
    """Show the questionnaire to the customer; accept one set of answers."""
    status, errors = 200, dict[str, list[str]]()
    scope = rt().scope_of_unsigned(lambda s: h.link_group(s, token))  # not signed in: the token names the group
    with rt().uow(scope) as uow:
        try:
            _link, _task, version = h.open_link(uow.session, token)
            uow.session.expunge(version)  # read only: keep it readable after the unit of work rolls back
        except h.LinkUnusable as exc:
            status = 404 if exc.reason == "unknown" else 410
            return render_template("callcenter/public_done.html", reason=exc.reason), status
        ctx = {"version": version, "choices": choices, "token": token}
    if request.method == "POST":
        try:
            with rt().uow(scope) as uow:
                h.submit_link(uow, token, _answers(request.form))
                uow.commit()
            return render_template("callcenter/public_done.html", reason="thanks")
        except h.LinkUnusable as exc:
            return render_template("callcenter/public_done.html", reason=exc.reason), 410
        except UserError as exc:
            errors, status = exc.data.get("errors", {}), 422
    return render_template("callcenter/public_survey.html", errors=errors, form=request.form, **ctx), status
