"""Questionnaires (versions), answers, public web links."""
from __future__ import annotations

from flask import request
from flask.views import MethodView

from shared.auth import current_principal
from shared.errors import NotFound
from shared.permissions import require

from ... import views
from ...handlers import surveys as h
from ...adapters.models import Questionnaire, QuestionnaireVersion
from ...schemas import LinkOut, QuestionnaireIn, QuestionnaireOut, SurveyOut, SurveyQuery
from . import blp, paged, reading, work


def _out(q: Questionnaire, v: QuestionnaireVersion) -> dict:
    return {"id": q.id, "task_type": q.task_type, "brand_id": q.brand_id, "name": v.name, "version": v.version,
            "version_id": v.id, "script": v.script, "low_score_threshold": v.low_score_threshold,
            "questions": v.questions}


@blp.route("/questionnaires")
class Questionnaires(MethodView):
    @require("callcenter.read")
    @blp.response(200, QuestionnaireOut(many=True))
    def get(self):
        """Every questionnaire with its current version."""
        with reading() as s:
            return [_out(q, v) for q, v in views.questionnaires(s)]

    @require("callcenter.configure")
    @blp.arguments(QuestionnaireIn)
    @blp.response(201, QuestionnaireOut)
    def post(self, body):
        """Publish a new version of the questionnaire of a task type (and brand); answers keep their version."""
        with work() as uow:
            q, v = h.save_questionnaire(uow, current_principal(), body["task_type"], body["brand_id"], body["name"],
                                        body["script"], body["questions"], body["low_score_threshold"])
            uow.commit()
            return _out(q, v)


@blp.route("/questionnaires/<qid>/versions/<int:version>")
class QuestionnaireVersionOne(MethodView):
    @require("callcenter.read")
    @blp.response(200, QuestionnaireOut)
    def get(self, qid, version):
        """One version of a questionnaire, as answers given on it saw it."""
        with reading() as s:
            q = s.get(Questionnaire, qid)
            v = q and views.version_of(s, qid, version)
            if not v:
                raise NotFound("questionnaire version")
            return _out(q, v)


@blp.route("/surveys")
class Surveys(MethodView):
    @require("callcenter.tasks.read")
    @blp.arguments(SurveyQuery, location="query")
    @blp.response(200, SurveyOut(many=True))
    def get(self, q):
        """Survey answers in the caller's scope, newest first; paginated."""
        with reading() as s:
            return paged(views.find_surveys(s, q))


@blp.route("/tasks/<task_id>/survey-link")
class SurveyLink(MethodView):
    @require("callcenter.work")
    @blp.response(201, LinkOut)
    def post(self, task_id):
        """A public, single-use, expiring web link to send the customer (shown once)."""
        with work() as uow:
            link, token = h.create_link(uow, current_principal(), task_id)
            uow.commit()
        return {"url": f"{request.host_url.rstrip('/')}/callcenter/s/{token}", "expires_at": link.expires_at}
