"""Identity pages: login, logout, the org tree and users for the group admin."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from shared.errors import ApiError
from shared.nav import home_for
from shared.redirects import same_site_path
from shared.web import COOKIE, page_roles

from . import handlers
from .models import Brand, Group, Store, User

bp = Blueprint("identity_pages", __name__, url_prefix="/identity")


def _rt():
    return current_app.extensions["crm"]


@bp.get("/")
def home():
    """Send a signed-in user to their role's first page."""
    if g.principal is None:
        return redirect("/identity/login")
    return redirect(home_for(g.principal.role))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form: group code, username, password."""
    error = None
    form = {"group": request.values.get("group", "demo"), "username": request.values.get("username", "")}
    if request.method == "POST":
        try:
            res = handlers.login(_rt().db, _rt().signer, request.form.get("group", ""),
                                 request.form.get("username", ""), request.form.get("password", ""))
        except handlers.LoginFailed as exc:
            error = _("Too many failed attempts; try again in 15 minutes.") if exc.status == 429 else _(
                "Wrong group, username or password.")
            return render_template("identity/login.html", error=error, form=form), exc.status
        resp = redirect(same_site_path(request.form.get("next"), home_for(res.principal.role)))
        resp.set_cookie(COOKIE, res.token, max_age=res.expires_in, httponly=True, samesite="Lax",
                        secure=_rt().settings.cookie_secure, path="/")
        return resp
    return render_template("identity/login.html", error=error, form=form)


@bp.post("/logout")
def logout():
    """Forget the session cookie."""
    resp = redirect("/identity/login")
    resp.delete_cookie(COOKIE, path="/")
    return resp


@bp.route("/org", methods=["GET", "POST"])
@page_roles("group_admin")
def org():
    """The org tree; forms to add a brand or a store."""
    p = g.principal
    if request.method == "POST":
        try:
            with _rt().db.session(p.scope) as s:
                if request.form.get("kind") == "brand":
                    handlers.create_brand(s, p, p.group_id, request.form["code"].strip(), request.form["name"].strip())
                else:
                    handlers.create_store(s, p, p.group_id, request.form["brand_id"], request.form["code"].strip(),
                                          request.form["name"].strip(), request.form.get("city", "").strip())
            flash(_("Saved."), "ok")
        except ApiError as exc:
            flash(exc.data["message"], "error")
        return redirect("/identity/org")
    with _rt().db.session(p.scope) as s:
        group = s.get(Group, p.group_id)
        brands = s.scalars(select(Brand).order_by(Brand.code)).all()
        stores = s.scalars(select(Store).order_by(Store.code)).all()
    return render_template("identity/org.html", group=group, brands=brands, stores=stores)


@bp.route("/users", methods=["GET", "POST"])
@page_roles("group_admin")
def users():
    """Users of the group, filterable by store; a form to add one."""
    p = g.principal
    if request.method == "POST":
        f = request.form
        try:
            with _rt().db.session(p.scope) as s:
                if f.get("user_id"):
                    handlers.update_user(s, p, f["user_id"], {"active": f.get("active") == "1",
                                                              "on_duty": f.get("on_duty") == "1"})
                else:
                    if len(f.get("password", "")) < 10:
                        raise ApiError(422, _("The password needs at least 10 characters."))
                    handlers.create_user(s, p, p.group_id, f["username"].strip(), f["name"].strip(), f["role"],
                                         f["password"], f.get("store_id") or None)
            flash(_("Saved."), "ok")
        except ApiError as exc:
            flash(exc.data["message"], "error")
        return redirect(request.full_path)
    store_id = request.args.get("store_id") or None
    with _rt().db.session(p.scope) as s:
        q = select(User).order_by(User.store_id.is_not(None), User.store_id, User.role, User.username)
        if store_id:
            q = q.where(User.store_id == store_id)
        rows = s.scalars(q).all()
        stores = {st.id: st for st in s.scalars(select(Store).order_by(Store.code))}
    return render_template("identity/users.html", users=rows, stores=stores, store_id=store_id)
