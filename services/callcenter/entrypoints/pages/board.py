"""Supervisor and HQ pages: the board, the questionnaire designer, rules and settings, spot checks, and the
page where a store logs the callbacks it made itself."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from shared.errors import NotFound, UserError
from shared.permissions import page

from ... import views
from ...domain.rules import TASK_TYPES
from ...domain.scoring import QUESTION_TYPES
from ...handlers import board as board_h
from ...handlers import config as config_h
from ...handlers import spotchecks
from ...handlers import surveys as surveys_h
from . import bp, may, reading, reason, work


@bp.get("/")
def home():
    """Send each role to its call-center page."""
    if g.get("principal") is None:
        return redirect("/identity/login?next=/callcenter/")
    if may("callcenter.work"):
        return redirect(url_for("callcenter_pages.workbench"))
    if may("callcenter.board"):
        return redirect(url_for("callcenter_pages.board"))
    if may("callcenter.complaints.read"):
        return redirect(url_for("callcenter_pages.complaints"))
    return redirect(url_for("callcenter_pages.store_callbacks"))


@bp.get("/board")
@page("callcenter.board")
def board():
    """Queues, SLA breaches, reach rate, agent pace and survey results."""
    days = request.args.get("days", 7, type=int)
    with reading() as s:
        data = board_h.board(s, max(1, min(days, 90)))
        brands = views.brands(s)
    totals = {"open": sum(q["open"] for q in data["queues"]), "due_now": sum(q["due_now"] for q in data["queues"]),
              "held": sum(q["held"] for q in data["queues"])}
    return render_template("callcenter/board.html", d=data, totals=totals, brands=brands, days=days)


# --- questionnaires --------------------------------------------------------------------------------

@bp.get("/questionnaires")
@page("callcenter.board")
def questionnaires():
    """Every task type and brand with its questionnaire."""
    with reading() as s:
        rows = views.questionnaires(s)
        brands = views.brands(s)
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
@page("callcenter.board")
def questionnaire_open():
    """Open the designer for a task type and brand picked in a form."""
    t = request.args.get("task_type", "")
    if t not in TASK_TYPES:
        abort(404)
    brand = request.args.get("brand_id") or None
    extra = {"brand_id": brand} if brand else {}
    return redirect(url_for("callcenter_pages.questionnaire_edit", task_type=t, **extra))


def _designer(task_type: str, brand_id: str | None, draft: dict | None = None, errors: dict | None = None):
    """The designer page: the current (or shown) version, or the draft that was refused."""
    if task_type not in TASK_TYPES:
        abort(404)
    p = g.principal
    with work() as uow:
        q, v = surveys_h.questionnaire_for(uow.session, p.group_id, task_type, brand_id, create=True)
        versions = views.versions_of(uow.session, q.id)
        brands = views.brands(uow.session)
        uow.commit()  # the questionnaire is made on first use
    show = request.args.get("version", type=int)
    shown = next((x for x in versions if x.version == show), v)
    current = draft or {"name": shown.name, "script": shown.script, "low_score_threshold": shown.low_score_threshold,
                        "questions": shown.questions}
    inherited = bool(brand_id) and q.brand_id != brand_id
    return render_template("callcenter/questionnaire_edit.html", task_type=task_type, q=q, shown=shown, v=v,
                           versions=versions, current=current, errors=errors or {}, brand_id=brand_id, brands=brands,
                           inherited=inherited, question_types=QUESTION_TYPES, can_edit=may("callcenter.configure"),
                           blank_rows=2)


@bp.get("/questionnaires/<task_type>")
@page("callcenter.board")
def questionnaire_edit(task_type: str):
    """The designer: script, questions, weights, alerts; saving publishes a new version."""
    return _designer(task_type, request.args.get("brand_id") or None)


@bp.post("/questionnaires/<task_type>")
@page("callcenter.configure")
def questionnaire_save(task_type: str):
    """Publish the designer's questions as a new version (answers given earlier keep theirs)."""
    if task_type not in TASK_TYPES:
        abort(404)
    brand_id = request.values.get("brand_id") or None
    f = request.form
    draft = {"name": f.get("name", ""), "script": f.get("script", ""),
             "low_score_threshold": _num(f.get("low_score_threshold"), 60.0), "questions": _questions_from_form(f)}
    try:
        with work() as uow:
            _q, v = surveys_h.save_questionnaire(uow, g.principal, task_type, brand_id, draft["name"], draft["script"],
                                                 draft["questions"], draft["low_score_threshold"])
            uow.commit()
    except UserError as exc:
        flash(exc.data["message"], "error")
        return _designer(task_type, brand_id, draft, exc.data.get("errors", {}))
    flash(_("Published version %(v)s. Answers given earlier keep their version.", v=v.version), "ok")
    extra: dict[str, Any] = {"brand_id": brand_id} if brand_id else {}
    return redirect(url_for("callcenter_pages.questionnaire_edit", task_type=task_type, **extra))


def _ints(text: str) -> list[int]:
    """'-60, -30' (also with a Chinese comma) → [-60, -30]."""
    return [int(x) for x in text.replace("，", ",").split(",") if x.strip()]


# --- rules and settings ----------------------------------------------------------------------------

@bp.get("/rules")
@page("callcenter.board")
def rules():
    """Task rules per task type (group or brand) and the group's call-center settings."""
    p = g.principal
    brand_id = request.args.get("brand_id") or None
    with reading() as s:
        rows = config_h.effective_rules(s, brand_id)
        cfg = config_h.settings_for(s, p.group_id)
        sla = config_h.sla_hours(cfg)
        brands = views.brands(s)
    return render_template("callcenter/rules.html", rows=rows, cfg=cfg, sla=sla, brand_id=brand_id, brands=brands,
                           can_edit=may("callcenter.configure"))


def _settings_from_form(f) -> dict:
    return {"timezone": f.get("timezone", "").strip(), "window_start": f["window_start"], "window_end": f["window_end"],
            "lease_minutes": int(f["lease_minutes"]), "callback_release_minutes": int(f["callback_release_minutes"]),
            "spot_check_share": float(f["spot_check_share"]) / 100,
            "low_score_threshold": float(f["low_score_threshold"]), "link_valid_hours": int(f["link_valid_hours"]),
            "sla_hours": {k: int(f[f"sla_{k}"]) for k in ("high", "medium", "low")}}


def _rule_from_form(f) -> dict:
    return {"offsets_days": _ints(f["offsets_days"]), "valid_days": int(f["valid_days"]),
            "priority": int(f["priority"]), "max_attempts": int(f["max_attempts"]),
            "retry_minutes": _ints(f["retry_minutes"]), "enabled": bool(f.get("enabled"))}


@bp.post("/rules")
@page("callcenter.configure")
def rules_save():
    """Save the group's settings, or one task type's rule (for the group or a brand)."""
    p, f = g.principal, request.form
    brand_id = request.values.get("brand_id") or None
    try:
        with work() as uow:
            if f.get("kind") == "settings":
                config_h.update_settings(uow, p, _settings_from_form(f))
            else:
                config_h.set_rule(uow, p, f["task_type"], brand_id, _rule_from_form(f))
            uow.commit()
        flash(_("Saved."), "ok")
    except UserError as exc:
        flash(reason(exc), "error")
    except (ValueError, KeyError):
        flash(_("Please enter whole numbers (offsets and retry delays separated by commas)."), "error")
    return redirect(url_for("callcenter_pages.rules", **({"brand_id": brand_id} if brand_id else {})))


# --- spot checks and the store's own callbacks ------------------------------------------------------

@bp.get("/spot-checks")
@page("callcenter.spot_checks")
def spot_checks():
    """HQ: disagreements per store (a store sees its own), and the form to log a callback for those who may."""
    only = request.args.get("disagreement") == "1"
    with reading() as s:
        s = s
        summary = spotchecks.spot_check_summary(s)
        checks = views.find_spot_checks(s, {"disagreement": True if only else None, "page": 1, "per_page": 200})
        stores = views.stores(s)
        share = config_h.settings_for(s, g.principal.group_id).spot_check_share
    summary.sort(key=lambda r: (-r["disagreements"], stores[r["store_id"]].code if r["store_id"] in stores else ""))
    return render_template("callcenter/spot_checks.html", summary=summary, checks=checks.rows, stores=stores,
                           share=share, only=only, task_types=TASK_TYPES,
                           store_form=may("callcenter.store_callbacks"))


@bp.get("/store-callbacks")
@page("callcenter.store_callbacks")
def store_callbacks():
    """A store's page to log the callbacks it made itself (a share is re-called by HQ)."""
    return render_template("callcenter/store_callbacks.html", task_types=TASK_TYPES)


@bp.post("/store-callbacks")
@page("callcenter.store_callbacks")
def store_callback_save():
    """Log a callback the store made, for a customer of its own (found by phone number or id)."""
    f = request.form
    try:
        with work() as uow:
            cb = spotchecks.record_store_callback(uow, g.principal, {
                "customer": f.get("customer", ""), "kind": f.get("kind", "delivery_callback"),
                "reached": f.get("reached") == "1",
                "satisfaction": int(f["satisfaction"]) if f.get("satisfaction", "").isdigit() else None,
                "note": f.get("note", ""), "store_id": f.get("store_id") or None})
            uow.commit()
        picked = " " + _("It was picked for an HQ spot check.") if cb.sampled else ""
        flash(_("Callback recorded.") + picked, "ok")
    except NotFound:
        flash(_("No customer of your store has this phone number or id in the call center."), "error")
    except UserError as exc:
        flash(reason(exc), "error")
    back = "spot_checks" if may("callcenter.spot_checks") else "store_callbacks"
    return redirect(url_for(f"callcenter_pages.{back}"))


@bp.get("/tasks")
@page("callcenter.tasks.read")
def tasks():
    """The callbacks of one lead or one customer (the lead page and the 360 view link here), else the latest
    ones, in the caller's scope."""
    q: dict[str, Any] = {"page": 1, "per_page": 100}
    for key in ("lead_id", "customer_id"):
        if request.args.get(key):
            q[key] = request.args[key][:40]
    with reading() as s:
        rows = views.find_tasks(s, q).rows
        stores = views.stores(s)
    return render_template("callcenter/tasks.html", rows=rows, stores=stores)
