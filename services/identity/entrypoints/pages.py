"""Identity pages: login, logout, one's own password, the org tree and users for the group admin."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, g, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from shared.db import utcnow
from shared.errors import DomainError, Invalid, UserError
from shared.nav import home_for
from shared.permissions import ROLES, page
from shared.redirects import same_site_path
from shared.web import COOKIE

from ..handlers import login as auth
from ..handlers import inbox, org, sessions, users
from ..domain.inbox_text import describe, overdue
from ..views import org_tree, stores_by_id

bp = Blueprint("identity_pages", __name__, url_prefix="/identity")
ROLE_ORDER = tuple(reversed(ROLES))  # the role choices, the store's first


def _rt():
    return current_app.extensions["crm"]


def _with_cookie(resp, res: auth.LoginResult):
    resp.set_cookie(COOKIE, res.token, max_age=res.expires_in, httponly=True, samesite="Lax",
                    secure=_rt().settings.cookie_secure, path="/")
    return resp


#: the rules' refusals by code, in the reader's language (the API keeps the rule's own English words)
MESSAGES = {"duplicate": _l("This code or username is already used in this group."),
            "forbidden": _l("Your role may not do this.")}


def _message(exc: Exception) -> str:
    data = exc.data  # type: ignore[attr-defined]
    return str(MESSAGES[data["code"]]) if data.get("code") in MESSAGES else _(data["message"])


@bp.get("/")
def home():
    """Send a signed-in user to their role's first page."""
    if g.principal is None:
        return redirect("/identity/login")
    return redirect(home_for(g.principal.role))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form: group code, username, password."""
    form = {"group": request.values.get("group", "demo"), "username": request.values.get("username", "")}
    if request.method == "GET":
        return render_template("identity/login.html", error=None, form=form)
    f = request.form
    attempt = auth.Attempt(f.get("group", ""), f.get("username", ""), f.get("password", ""), request.remote_addr)
    try:
        res = auth.login(_rt().uow, attempt, _rt().scope_of_unsigned(lambda s: auth.group_of(s, attempt)))
    except auth.TooManyAttempts as exc:
        error = _("Too many failed attempts; try again in %(minutes)d minutes.", minutes=-(-exc.retry_after // 60))
        resp = current_app.make_response((render_template("identity/login.html", error=error, form=form), 429))
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    except auth.LoginRefused:
        return render_template("identity/login.html", error=_("Wrong group, username or password."), form=form), 401
    return _with_cookie(redirect(same_site_path(f.get("next"), home_for(res.principal.role))), res)


@bp.post("/logout")
def logout():
    """End every session of the signed-in user (all their browsers and tokens) and forget the cookie."""
    p = g.principal
    if p is not None:
        with _rt().uow(p.scope) as uow:
            sessions.end_sessions(uow, p)
            uow.commit()
    resp = redirect("/identity/login")
    resp.delete_cookie(COOKIE, path="/")
    return resp


@bp.route("/password", methods=["GET", "POST"])
@page("identity.self")
def password():
    """Change one's own password; the user's other sessions end, this browser stays signed in."""
    if request.method == "GET":
        return render_template("identity/password.html", error=None)
    f = request.form
    if f.get("new_password", "") != f.get("repeat_password", ""):
        return render_template("identity/password.html", error=_("The two new passwords differ.")), 422
    if len(f.get("new_password", "")) < 10:
        return render_template("identity/password.html", error=_("The password needs at least 10 characters.")), 422
    try:
        res = auth.change_password(_rt().uow, g.principal, f.get("current_password", ""), f["new_password"])
    except DomainError as exc:
        error = _("The current password is wrong.") if "current_password" in exc.errors else exc.message
        return render_template("identity/password.html", error=error), exc.status
    flash(_("Password changed. Your other sessions have ended."), "ok")
    return _with_cookie(redirect(home_for(res.principal.role)), res)


@bp.route("/org", methods=["GET", "POST"])
@page("identity.admin")
def org_page():
    """The org tree; forms to add a brand or a store."""
    p = g.principal
    if request.method == "POST":
        f = request.form
        try:
            with _rt().uow(p.scope) as uow:
                if f.get("kind") == "brand":
                    org.create_brand(uow, p, p.group_id, f.get("code", "").strip(), f.get("name", "").strip())
                else:
                    org.create_store(uow, p, p.group_id, f.get("brand_id", ""), f.get("code", "").strip(),
                                     f.get("name", "").strip(), f.get("city", "").strip(),
                                     f.get("timezone", "").strip() or org.DEFAULT_TZ)
                uow.commit()
            flash(_("Saved."), "ok")
        except UserError as exc:
            flash(_message(exc), "error")
        return redirect("/identity/org")
    with _rt().uow(p.scope) as uow:
        tree = org_tree(uow, p.group_id)
    return render_template("identity/org.html", group=tree["group"], brands=tree["brands"], stores=tree["stores"])


@bp.route("/users", methods=["GET", "POST"])
@page("identity.admin")
def users_page():
    """Users of the group, searchable and filterable by store; a form to add one."""
    p = g.principal
    if request.method == "POST":
        f = request.form
        try:
            if len(f.get("password", "")) < 10:
                raise Invalid(_("The password needs at least 10 characters."))
            with _rt().uow(p.scope) as uow:
                users.create_user(uow, p, p.group_id, f.get("username", "").strip(), f.get("name", "").strip(),
                                  f.get("role", ""), f["password"], f.get("store_id") or None)
                uow.commit()
            flash(_("Saved."), "ok")
        except UserError as exc:
            flash(_message(exc), "error")
        return redirect(request.full_path)
    filters = users.UserFilter(q=request.args.get("q", "").strip()[:80] or None,
                               store_id=request.args.get("store_id") or None)
    with _rt().uow(p.scope) as uow:
        rows = [users.user_data(u) for u in users.find_users(uow, filters)]
        locked = users.locked_usernames(uow, p.group_id)
        stores = stores_by_id(uow)
    return render_template("identity/users.html", users=rows, stores=stores, filters=filters, locked=locked,
                           roles=ROLE_ORDER)


@bp.route("/users/<user_id>", methods=["GET", "POST"])
@page("identity.admin")
def user_page(user_id: str):
    """One user: role, store, activity and duty; a new password; unlock after failed logins."""
    p = g.principal
    if request.method == "POST":
        f = request.form
        try:
            with _rt().uow(p.scope) as uow:
                action = f.get("action")
                if action == "reset":
                    if len(f.get("password", "")) < 10:
                        raise Invalid(_("The password needs at least 10 characters."))
                    users.reset_password(uow, p, user_id, f["password"])
                    flash(_("New password set; the user's sessions have ended."), "ok")
                elif action == "unlock":
                    users.unlock(uow, p, user_id)
                    flash(_("Unlocked."), "ok")
                else:
                    users.update_user(uow, p, user_id, {"role": f.get("role", ""), "store_id": f.get("store_id") or None,
                                                        "active": f.get("active") == "1", "on_duty": f.get("on_duty") == "1"})
                    flash(_("Saved."), "ok")
                uow.commit()
        except UserError as exc:
            flash(_message(exc), "error")
        return redirect(f"/identity/users/{user_id}")
    with _rt().uow(p.scope) as uow:
        user = users.user_data(users.get_user(uow, user_id))
        locked = user["username"] in users.locked_usernames(uow, p.group_id)
        stores = stores_by_id(uow)
    return render_template("identity/user.html", user=user, stores=stores, locked=locked, roles=ROLE_ORDER)


def _item_view(item) -> dict:
    title, detail = describe(item.kind, item.data or {}, _)
    return {"id": item.id, "kind": item.kind, "title": title, "detail": detail, "link": item.link,
            "at": item.show_from, "read": item.read_at is not None, "done": item.done_at is not None,
            "acknowledge": item.kind in inbox.ACKNOWLEDGED, "overdue": overdue(item.data or {}, utcnow())}


@bp.get("/inbox")
@page("identity.self")
def inbox_page():
    """The caller's to-do inbox: what waits for them, each with a link to where it is done."""
    p = g.principal
    with _rt().uow(p.scope) as uow:
        items = [_item_view(i) for i in inbox.open_items(uow, p)]
        done = [_item_view(i) for i in inbox.recently_done(uow, p)]
    return render_template("identity/inbox.html", items=items, done=done)


@bp.post("/inbox/<item_id>")
@page("identity.self")
def inbox_action(item_id: str):
    """Open an item (read, then to its page) or close one that only tells something."""
    p = g.principal
    try:
        with _rt().uow(p.scope) as uow:
            if request.form.get("action") == "done":
                inbox.mark_done(uow, p, item_id)
                target = "/identity/inbox"
            else:
                target = inbox.open_item(uow, p, item_id).link
            uow.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(_("This item closes by itself when the work is done."), "error")
        return redirect("/identity/inbox")
    return redirect(same_site_path(target, "/identity/inbox"))


@bp.route("/notifications", methods=["GET", "POST"])
@page("identity.self")
def notifications_page():
    """The caller's channels and quiet hours; for the group admin, the group's SMTP server and WeCom robot."""
    p = g.principal
    admin = p.role == "group_admin"
    if request.method == "POST":
        f = request.form
        try:
            with _rt().uow(p.scope) as uow:
                if f.get("form") == "group" and admin:
                    port = f.get("smtp_port", "25").strip() or "25"
                    if not port.isdigit():
                        raise Invalid(_("The port is a number."))
                    inbox.save_group_channels(uow, p, {
                        "smtp_host": f.get("smtp_host", ""), "smtp_port": int(port),
                        "smtp_sender": f.get("smtp_sender", ""), "smtp_starttls": f.get("smtp_starttls") == "1",
                        "wecom_webhook": f.get("wecom_webhook", ""), "public_url": f.get("public_url", "")})
                else:
                    inbox.save_my_settings(uow, p, inbox.MySettings(
                        email=f.get("email") == "1", wecom=f.get("wecom") == "1",
                        quiet_start=f.get("quiet_start") or None, quiet_end=f.get("quiet_end") or None,
                        language=f.get("language", "zh")))
                uow.commit()
            flash(_("Saved."), "ok")
        except Invalid as exc:
            flash(_("Please check the highlighted values: %(fields)s",
                    fields=", ".join(str(FIELD_LABELS.get(k, k)) for k in exc.errors) or _message(exc)), "error")
        return redirect("/identity/notifications")
    with _rt().uow(p.scope) as uow:
        mine = inbox.my_settings(uow, p)
        channels = inbox.group_channels(uow) if admin else None
        me = users.get_user(uow, p.user_id).email
        sent = [(d.channel, d.status, d.attempts, d.sent_at or d.next_at, _item_view(i)["title"])
                for d, i in inbox.recent_deliveries(uow, p)]
    return render_template("identity/notifications.html", mine=mine, channels=channels, email=me, sent=sent)


FIELD_LABELS = {"quiet_start": _l("Quiet from"), "quiet_end": _l("Quiet until"), "language": _l("Language"),
                "wecom_webhook": _l("WeCom robot webhook"), "public_url": _l("Address of the CRM"),
                "smtp_port": _l("SMTP port")}


@bp.app_template_filter("local")
def _local(value, fmt: str = "%m-%d %H:%M") -> str:
    """An instant in the platform's local time (the groups' time zone)."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(_rt().settings.default_timezone)).strftime(fmt)
