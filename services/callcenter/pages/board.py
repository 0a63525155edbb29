"""Supervisor and HQ pages: the board, the questionnaire designer, rules and settings, spot checks."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from shared.errors import ApiError
from shared.web import page_roles

from ..domain.rules import TASK_TYPES
from ..domain.scoring import QUESTION_TYPES
from ..handlers import board as board_h
from ..handlers import config as config_h
from ..handlers import spotchecks
from ..handlers import surveys as surveys_h
from ..models import BrandRef, Questionnaire, QuestionnaireVersion, StoreCallback, StoreRef
from . import AGENTS, BOARD, SPOT, SUPERVISORS, bp, rt


@bp.get("/")
def home():
    """Send each role to its call-center page."""
    p = g.get("principal")
    if p is None:
        return redirect("/identity/login?next=/callcenter/")
    if p.role in AGENTS:
        return redirect(url_for("callcenter_pages.workbench"))
    if p.role in BOARD:
        return redirect(url_for("callcenter_pages.board"))
    return redirect(url_for("callcenter_pages.complaints"))


@bp.get("/board")
@page_roles(*BOARD)
def board():
    """Queues, SLA breaches, reach rate, agent pace and survey results."""
    days = request.args.get("days", 7, type=int)
    with rt().db.session(g.principal.scope) as s:
        data = board_h.board(s, max(1, min(days, 90)))
        brands = _brands(s)
    totals = {"open": sum(q["open"] for q in data["queues"]), "due_now": sum(q["due_now"] for q in data["queues"]),
              "held": sum(q["held"] for q in data["queues"])}
    return render_template("callcenter/board.html", d=data, totals=totals, brands=brands, days=days)


# --- questionnaires --------------------------------------------------------------------------------

def _brands(s) -> dict[str, str]:
    return {b.id: b.name for b in s.scalars(select(BrandRef).order_by(BrandRef.code))}


@bp.get("/questionnaires")
@page_roles(*BOARD)
def questionnaires():
    """Every task type and brand with its questionnaire."""
    with rt().db.session(g.principal.scope) as s:
        rows = []
        for q in s.scalars(select(Questionnaire).order_by(Questionnaire.task_type, Questionnaire.brand_id)):
            v = s.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == q.id,
                                                            QuestionnaireVersion.version == q.current_version))
            rows.append((q, v))
        brands = _brands(s)
    have = {(q.task_type, q.brand_id) for q, _v in rows}
    return render_template("callcenter/questionnaires.html", rows=rows, have=have, task_types=TASK_TYPES,
                           brands=brands)


def _questions_from_form(f) -> list[dict]:
    """Rows of the designer form → question dicts (empty rows and rows marked for deletion are skipped)."""
    out = []
    for i in sorted({int(k.split("_")[-1]) for k in f if k.startswith("text_")}):
        text = f.get(f"text_{i}", "").strip()
        if not text or f.get(f"delete_{i}"):
            continue
        q = {"key": f.get(f"key_{i}", "").strip() or f"q{i + 1}", "type": f.get(f"type_{i}", "text"), "text": text,
             "weight": _num(f.get(f"weight_{i}"), 1.0), "required": bool(f.get(f"required_{i}")),
             "measure": f.get(f"measure_{i}") or None, "alert_below": _num(f.get(f"alert_below_{i}"), None),
             "alert_on": [v.strip() for v in f.get(f"alert_on_{i}", "").split(",") if v.strip()],
             "options": [], "order": _num(f.get(f"order_{i}"), i)}
        for line in f.get(f"options_{i}", "").splitlines():
            parts = [p.strip() for p in line.split("|")]
            if parts and parts[0]:
                q["options"].append({"value": parts[0], "label": parts[1] if len(parts) > 1 and parts[1] else parts[0],
                                     "score": _num(parts[2] if len(parts) > 2 else None, 0.0)})
        out.append(q)
    out.sort(key=lambda q: q.pop("order"))
    return out


def _num(value, default):
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


@bp.get("/questionnaires/open")
@page_roles(*BOARD)
def questionnaire_open():
    """Open the designer for a task type and brand picked in a form."""
    t = request.args.get("task_type", "")
    if t not in TASK_TYPES:
        abort(404)
    brand = request.args.get("brand_id") or None
    extra = {"brand_id": brand} if brand else {}
    return redirect(url_for("callcenter_pages.questionnaire_edit", task_type=t, **extra))


@bp.route("/questionnaires/<task_type>", methods=["GET", "POST"])
@page_roles(*BOARD)
def questionnaire_edit(task_type: str):
    """The designer: script, questions, weights, alerts; saving publishes a new version."""
    if task_type not in TASK_TYPES:
        abort(404)
    p = g.principal
    brand_id = request.values.get("brand_id") or None
    errors: dict = {}
    draft = None
    if request.method == "POST":
        if p.role not in SUPERVISORS:
            abort(403)
        f = request.form
        draft = {"name": f.get("name", ""), "script": f.get("script", ""),
                 "low_score_threshold": _num(f.get("low_score_threshold"), 60.0), "questions": _questions_from_form(f)}
        try:
            with rt().db.session(p.scope) as s:
                _q, v = surveys_h.save_questionnaire(s, p, task_type, brand_id, draft["name"], draft["script"],
                                                     draft["questions"], draft["low_score_threshold"])
            flash(_("Published version %(v)s. Answers given earlier keep their version.", v=v.version), "ok")
            return redirect(url_for("callcenter_pages.questionnaire_edit", task_type=task_type,
                                    **({"brand_id": brand_id} if brand_id else {})))
        except ApiError as exc:
            errors = exc.data.get("errors", {})
            flash(exc.data["message"], "error")
    with rt().db.session(p.scope) as s:
        found = surveys_h.questionnaire_for(s, p.group_id, task_type, brand_id, create=True)
        q, v = found
        versions = s.scalars(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == q.id)
                             .order_by(QuestionnaireVersion.version.desc())).all()
        show = request.args.get("version", type=int)
        shown = next((x for x in versions if x.version == show), v)
        brands = _brands(s)
    current = draft or {"name": shown.name, "script": shown.script, "low_score_threshold": shown.low_score_threshold,
                        "questions": shown.questions}
    inherited = bool(brand_id) and q.brand_id != brand_id
    return render_template("callcenter/questionnaire_edit.html", task_type=task_type, q=q, shown=shown, v=v,
                           versions=versions, current=current, errors=errors, brand_id=brand_id, brands=brands,
                           inherited=inherited, question_types=QUESTION_TYPES, can_edit=p.role in SUPERVISORS,
                           blank_rows=2)


def _ints(text: str) -> list[int]:
    """'-60, -30' (also with a Chinese comma) → [-60, -30]."""
    return [int(x) for x in text.replace("，", ",").split(",") if x.strip()]


# --- rules and settings ----------------------------------------------------------------------------

@bp.route("/rules", methods=["GET", "POST"])
@page_roles(*BOARD)
def rules():
    """Task rules per task type (group or brand) and the group's call-center settings."""
    p = g.principal
    brand_id = request.values.get("brand_id") or None
    if request.method == "POST":
        if p.role not in SUPERVISORS:
            abort(403)
        f = request.form
        try:
            with rt().db.session(p.scope) as s:
                if f.get("kind") == "settings":
                    config_h.update_settings(s, p, {
                        "window_start": f["window_start"], "window_end": f["window_end"],
                        "lease_minutes": int(f["lease_minutes"]),
                        "callback_release_minutes": int(f["callback_release_minutes"]),
                        "spot_check_share": float(f["spot_check_share"]) / 100,
                        "low_score_threshold": float(f["low_score_threshold"]),
                        "link_valid_hours": int(f["link_valid_hours"]),
                        "sla_hours": {k: int(f[f"sla_{k}"]) for k in ("high", "medium", "low")}})
                else:
                    config_h.set_rule(s, p, f["task_type"], brand_id, {
                        "offsets_days": _ints(f["offsets_days"]),
                        "valid_days": int(f["valid_days"]), "priority": int(f["priority"]),
                        "max_attempts": int(f["max_attempts"]),
                        "retry_minutes": _ints(f["retry_minutes"]),
                        "enabled": bool(f.get("enabled"))})
            flash(_("Saved."), "ok")
        except ApiError as exc:
            errors = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in exc.data.get("errors", {}).items())
            flash(f"{exc.data['message']} {errors}", "error")
        except (ValueError, KeyError):
            flash(_("Please enter whole numbers (offsets and retry delays separated by commas)."), "error")
        return redirect(url_for("callcenter_pages.rules", **({"brand_id": brand_id} if brand_id else {})))
    with rt().db.session(p.scope) as s:
        rows = config_h.effective_rules(s, brand_id)
        cfg = config_h.settings_for(s, p.group_id)
        sla = config_h.sla_hours(cfg)
        brands = _brands(s)
    return render_template("callcenter/rules.html", rows=rows, cfg=cfg, sla=sla, brand_id=brand_id, brands=brands,
                           can_edit=p.role in SUPERVISORS)


def _customer_ref(s, text: str) -> str:
    """A customer id from what a store user typed: the customer's phone number, or the id itself."""
    from shared.phones import InvalidPhone, normalize

    from ..models import Contact

    text = text.strip()
    try:
        phone = normalize(text)
    except InvalidPhone:
        return text
    cid = s.scalar(select(Contact.id).where(Contact.phone == phone).limit(1))
    if cid is None:
        raise ApiError(422, _("No customer with this phone number is known to the call center."))
    return cid


# --- spot checks -----------------------------------------------------------------------------------

@bp.route("/spot-checks", methods=["GET", "POST"])
@page_roles(*SPOT, "sales_consultant")
def spot_checks():
    """HQ: disagreements per store. Stores: log the callbacks they made (a share is re-called by HQ)."""
    p = g.principal
    if request.method == "POST":
        f = request.form
        try:
            with rt().db.session(p.scope) as s:
                cb = spotchecks.record_store_callback(s, p, {
                    "customer_id": _customer_ref(s, f.get("customer", "")), "kind": f.get("kind", "delivery_callback"),
                    "reached": f.get("reached") == "1",
                    "satisfaction": int(f["satisfaction"]) if f.get("satisfaction") else None,
                    "note": f.get("note", ""), "store_id": f.get("store_id") or None})
            picked = " " + _("It was picked for an HQ spot check.") if cb.sampled else ""
            flash(_("Callback recorded.") + picked, "ok")
        except ApiError as exc:
            flash(exc.data["message"], "error")
        return redirect(url_for("callcenter_pages.spot_checks"))
    only_disagreements = request.args.get("disagreement") == "1"
    with rt().db.session(p.scope) as s:
        summary = spotchecks.spot_check_summary(s)
        q = select(StoreCallback).where(StoreCallback.sampled.is_(True))
        if only_disagreements:
            q = q.where(StoreCallback.disagreement.is_(True))
        checks = s.scalars(q.order_by(StoreCallback.created_at.desc()).limit(200)).all()
        stores = {st.id: st for st in s.scalars(select(StoreRef))}
        share = config_h.settings_for(s, p.group_id).spot_check_share
    summary.sort(key=lambda r: (-r["disagreements"], stores[r["store_id"]].code if r["store_id"] in stores else ""))
    return render_template("callcenter/spot_checks.html", summary=summary, checks=checks, stores=stores, share=share,
                           only=only_disagreements, task_types=TASK_TYPES)
