"""Identity JSON API: login, the caller, the public key, the org tree and users."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select

from shared.auth import current_principal, require_roles
from shared.errors import fail

from . import handlers
from .models import Brand, Group, Store, User
from .schemas import (
    BrandIn,
    BrandOut,
    KeysOut,
    LoginIn,
    MeOut,
    OrgOut,
    StoreIn,
    StoreOut,
    StorePatch,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
    UserQuery,
)

blp = Blueprint("identity", __name__, url_prefix="/identity/api/v1", description="Org tree, users and login")
ADMIN = ("group_admin",)


def _rt():
    return current_app.extensions["crm"]


@blp.route("/auth/login")
class Login(MethodView):
    @blp.doc(security=[])
    @blp.arguments(LoginIn)
    @blp.response(200, TokenOut)
    def post(self, body):
        """Log in with group code, username and password; returns a Bearer token."""
        try:
            res = handlers.login(_rt().db, _rt().signer, body["group"], body["username"], body["password"])
        except handlers.LoginFailed as exc:
            fail(exc.status, str(exc), "locked" if exc.status == 429 else "invalid_credentials")
        return {"access_token": res.token, "token_type": "Bearer", "expires_in": res.expires_in}


@blp.route("/auth/me")
class Me(MethodView):
    @require_roles()
    @blp.response(200, MeOut)
    def get(self):
        """Who the token says the caller is."""
        return current_principal()


@blp.route("/keys")
class Keys(MethodView):
    @blp.doc(security=[])
    @blp.response(200, KeysOut)
    def get(self):
        """The public key(s) that verify tokens, as a JWKS and as PEM."""
        import json

        verifier = current_app.extensions["crm_verifier"]
        jwk = json.loads(RSAAlgorithm.to_jwk(verifier._key))
        jwk.update({"kid": verifier.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk], "pem": verifier.public_pem.decode()}


@blp.route("/org")
class Org(MethodView):
    @require_roles()
    @blp.response(200, OrgOut)
    def get(self):
        """The caller's group: brands and stores (a store user sees the whole tree, not the people)."""
        p = current_principal()
        with _rt().db.session(p.scope) as s:
            g = s.get(Group, p.group_id)
            return {
                "group": {"id": g.id, "code": g.code, "name": g.name, "timezone": g.timezone},
                "brands": s.scalars(select(Brand).order_by(Brand.code)).all(),
                "stores": s.scalars(select(Store).order_by(Store.code)).all(),
            }


@blp.route("/brands")
class Brands(MethodView):
    @require_roles(*ADMIN)
    @blp.arguments(BrandIn)
    @blp.response(201, BrandOut)
    def post(self, body):
        """Add a brand to the group."""
        p = current_principal()
        with _rt().db.session(p.scope) as s:
            return handlers.create_brand(s, p, p.group_id, body["code"], body["name"])


@blp.route("/stores")
class Stores(MethodView):
    @require_roles(*ADMIN)
    @blp.arguments(StoreIn)
    @blp.response(201, StoreOut)
    def post(self, body):
        """Open a store under a brand."""
        p = current_principal()
        with _rt().db.session(p.scope) as s:
            return handlers.create_store(s, p, p.group_id, **body)


@blp.route("/stores/<store_id>")
class StoreOne(MethodView):
    @require_roles(*ADMIN)
    @blp.arguments(StorePatch)
    @blp.response(200, StoreOut)
    def patch(self, body, store_id):
        """Rename, move or close a store."""
        p = current_principal()
        with _rt().db.session(p.scope) as s:
            return handlers.update_store(s, p, store_id, body)


@blp.route("/users")
class Users(MethodView):
    @require_roles()
    @blp.arguments(UserQuery, location="query")
    @blp.response(200, UserOut(many=True))
    def get(self, query):
        """Users of the group (HQ), or of the caller's store (store roles)."""
        p = current_principal()
        with _rt().db.session(p.scope) as s:
            q = select(User).order_by(User.username)  # User.scope_criteria keeps store roles to their store
            if query.get("store_id"):
                q = q.where(User.store_id == query["store_id"])
            if query.get("role"):
                q = q.where(User.role == query["role"])
            return s.scalars(q).all()

    @require_roles(*ADMIN)
    @blp.arguments(UserIn)
    @blp.response(201, UserOut)
    def post(self, body):
        """Create a user with a role and, for store roles, a store."""
        p = current_principal()
        with _rt().db.session(p.scope) as s:
            return handlers.create_user(s, p, p.group_id, **body)


@blp.route("/users/<user_id>")
class UserOne(MethodView):
    @require_roles(*ADMIN)
    @blp.arguments(UserPatch)
    @blp.response(200, UserOut)
    def patch(self, body, user_id):
        """Change a user's role, store, duty, activity or password."""
        p = current_principal()
        with _rt().db.session(p.scope) as s:
            return handlers.update_user(s, p, user_id, body)
