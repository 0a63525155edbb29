"""Questionnaires (versions), answers, public web links."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from sqlalchemy import select

from shared.auth import current_principal, require_roles
from shared.errors import not_found

from ..handlers import surveys as h
from ..models import Questionnaire, QuestionnaireVersion, SurveyResponse
from ..schemas import LinkOut, QuestionnaireIn, QuestionnaireOut, SurveyOut, SurveyQuery
from . import AGENTS, HQ_READ, SUPERVISORS, blp, db, paginate


def _out(q: Questionnaire, v: QuestionnaireVersion) -> dict:
    return {"id": q.id, "task_type": q.task_type, "brand_id": q.brand_id, "name": v.name, "version": v.version,
            "version_id": v.id, "script": v.script, "low_score_threshold": v.low_score_threshold,
            "questions": v.questions}


@blp.route("/questionnaires")
class Questionnaires(MethodView):
    @require_roles(*HQ_READ)
    @blp.response(200, QuestionnaireOut(many=True))
    def get(self):
        """Every questionnaire with its current version."""
        p = current_principal()
        with db().session(p.scope) as s:
            out = []
            for q in s.scalars(select(Questionnaire).order_by(Questionnaire.task_type, Questionnaire.brand_id)):
                v = s.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == q.id,
                                                                QuestionnaireVersion.version == q.current_version))
                out.append(_out(q, v))
            return out

    @require_roles(*SUPERVISORS)
    @blp.arguments(QuestionnaireIn)
    @blp.response(201, QuestionnaireOut)
    def post(self, body):
        """Publish a new version of the questionnaire of a task type (and brand); answers keep their version."""
        p = current_principal()
        with db().session(p.scope) as s:
            return _out(*h.save_questionnaire(s, p, body["task_type"], body["brand_id"], body["name"], body["script"],
                                              body["questions"], body["low_score_threshold"]))


@blp.route("/questionnaires/<qid>/versions/<int:version>")
class QuestionnaireVersionOne(MethodView):
    @require_roles(*HQ_READ)
    @blp.response(200, QuestionnaireOut)
    def get(self, qid, version):
        """One version of a questionnaire, as answers given on it saw it."""
        p = current_principal()
        with db().session(p.scope) as s:
            q = s.get(Questionnaire, qid)
            v = q and s.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == qid,
                                                                  QuestionnaireVersion.version == version))
            if not v:
                not_found("questionnaire version")
            return _out(q, v)


@blp.route("/surveys")
class Surveys(MethodView):
    @require_roles(*HQ_READ, "store_manager")
    @blp.arguments(SurveyQuery, location="query")
    @blp.response(200, SurveyOut(many=True))
    def get(self, q):
        """Survey answers in the caller's scope, newest first; paginated."""
        p = current_principal()
        with db().session(p.scope) as s:
            stmt = select(SurveyResponse)
            for key in ("store_id", "task_type", "customer_id"):
                if q.get(key):
                    stmt = stmt.where(getattr(SurveyResponse, key) == q[key])
            if "low_score" in q:
                stmt = stmt.where(SurveyResponse.low_score.is_(q["low_score"]))
            return paginate(s, stmt.order_by(SurveyResponse.created_at.desc()), q)


@blp.route("/tasks/<task_id>/survey-link")
class SurveyLink(MethodView):
    @require_roles(*AGENTS)
    @blp.response(201, LinkOut)
    def post(self, task_id):
        """A public, single-use, expiring web link to send the customer (shown once)."""
        p = current_principal()
        with db().session(p.scope) as s:
            link, token = h.create_link(s, p, task_id)
        return {"url": f"{request.host_url.rstrip('/')}/callcenter/s/{token}", "expires_at": link.expires_at}
