"""Identity JSON API: login and logout, the caller and their password, the public key, the org tree and users."""
from __future__ import annotations

import json
from collections.abc import Set

from flask import current_app, request
from flask.views import MethodView
from jwt.algorithms import RSAAlgorithm

from shared.web import ApiBlueprint
from shared.auth import current_principal
from shared.errors import ErrorBody
from shared.permissions import require

from ..handlers import login as auth
from ..handlers import inbox, org, sessions, users
from ..domain.inbox_text import describe
from ..views import org_tree
from ..schemas import (
    BrandIn,
    BrandOut,
    ChannelsIO,
    InboxCountOut,
    InboxItemOut,
    InboxOut,
    KeysOut,
    LoginIn,
    MeOut,
    NotifySettingsIO,
    OrgOut,
    PasswordChangeIn,
    PasswordResetIn,
    StoreIn,
    StoreOut,
    StorePatch,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
    UserQuery,
)

blp = ApiBlueprint("identity", __name__, url_prefix="/identity/api/v1", description="Org tree, users and login")


def _rt():
    return current_app.extensions["crm"]


def _token(res: auth.LoginResult) -> dict:
    return {"access_token": res.token, "token_type": "Bearer", "expires_in": res.expires_in}


def _user_out(u, locked: Set[str] = frozenset()) -> dict:
    return {**users.user_data(u), "locked": u.username in locked}


@blp.route("/auth/login")
class Login(MethodView):
    @blp.doc(security=[])
    @blp.arguments(LoginIn)
    @blp.response(200, TokenOut)
    @blp.alt_response(401, schema=ErrorBody,
                      description="wrong group, username or password (the same answer for every reason)")
    @blp.alt_response(429, schema=ErrorBody, description="too many failed logins for this account name or from this "
                                                         "address; see Retry-After")
    def post(self, body):
        """Log in with group code, username and password; returns a Bearer token."""
        attempt = auth.Attempt(body["group"], body["username"], body["password"], request.remote_addr)
        return _token(auth.login(_rt().uow, attempt, _rt().scope_of_unsigned(lambda s: auth.group_of(s, attempt))))


@blp.route("/auth/logout")
class Logout(MethodView):
    @require("identity.self")
    @blp.response(204)
    def post(self):
        """End every session of the caller: their tokens stop working on every service within seconds."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            sessions.end_sessions(uow, p)
            uow.commit()


@blp.route("/auth/password")
class Password(MethodView):
    @require("identity.self")
    @blp.arguments(PasswordChangeIn)
    @blp.response(200, TokenOut)
    def post(self, body):
        """Change the caller's password; every other session ends, and the new token returned goes on."""
        res = auth.change_password(_rt().uow, current_principal(), body["current_password"], body["new_password"])
        return _token(res)


@blp.route("/auth/me")
class Me(MethodView):
    @require("identity.self")
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
        verifier = current_app.extensions["crm_verifier"]
        jwk = json.loads(RSAAlgorithm.to_jwk(verifier._key))
        jwk.update({"kid": verifier.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk], "pem": verifier.public_pem.decode()}


@blp.route("/org")
class Org(MethodView):
    @require("identity.read")
    @blp.response(200, OrgOut)
    def get(self):
        """The caller's group: brands and stores (a store user sees the whole tree, not the people)."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            return org_tree(uow, p.group_id)


@blp.route("/brands")
class Brands(MethodView):
    @require("identity.admin")
    @blp.arguments(BrandIn)
    @blp.response(201, BrandOut)
    def post(self, body):
        """Add a brand to the group."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            brand = org.create_brand(uow, p, p.group_id, body["code"], body["name"])
            uow.commit()
            return brand


@blp.route("/stores")
class Stores(MethodView):
    @require("identity.admin")
    @blp.arguments(StoreIn)
    @blp.response(201, StoreOut)
    def post(self, body):
        """Open a store under a brand (its time zone from the tz database, e.g. Asia/Shanghai)."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            store = org.create_store(uow, p, p.group_id, **body)
            uow.commit()
            return store


@blp.route("/stores/<store_id>")
class StoreOne(MethodView):
    @require("identity.admin")
    @blp.arguments(StorePatch)
    @blp.response(200, StoreOut)
    def patch(self, body, store_id):
        """Rename, move, change the time zone of, or close a store."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            store = org.update_store(uow, p, store_id, body)
            uow.commit()
            return store


@blp.route("/users")
class Users(MethodView):
    @require("identity.read")
    @blp.arguments(UserQuery, location="query")
    @blp.response(200, UserOut(many=True))
    def get(self, query):
        """Users of the group (HQ), or of the caller's store (store roles); `q` searches username and name."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            found = users.find_users(uow, users.UserFilter(**query))
            locked = users.locked_usernames(uow, p.group_id) if p.role == "group_admin" else set()
            return [_user_out(u, locked) for u in found]

    @require("identity.admin")
    @blp.arguments(UserIn)
    @blp.response(201, UserOut)
    def post(self, body):
        """Create a user with a role and, for store roles, a store."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            u = users.create_user(uow, p, p.group_id, **body)
            uow.commit()
            return _user_out(u)


@blp.route("/users/<user_id>")
class UserOne(MethodView):
    @require("identity.admin")
    @blp.arguments(UserPatch)
    @blp.response(200, UserOut)
    def patch(self, body, user_id):
        """Change a user's role, store, duty, activity or password; a change of role, store, activity or
        password ends the user's sessions on every service."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            u = users.update_user(uow, p, user_id, body)
            uow.commit()
            return _user_out(u)


@blp.route("/users/<user_id>/password-reset")
class PasswordReset(MethodView):
    @require("identity.admin")
    @blp.arguments(PasswordResetIn)
    @blp.response(200, UserOut)
    def post(self, body, user_id):
        """Give a user a new password (tell it to them in person): unlocks the account, ends their sessions."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            u = users.reset_password(uow, p, user_id, body["password"])
            uow.commit()
            return _user_out(u)


@blp.route("/users/<user_id>/unlock")
class Unlock(MethodView):
    @require("identity.admin")
    @blp.response(200, UserOut)
    def post(self, user_id):
        """Let a user locked out by failed logins try again at once."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            u = users.unlock(uow, p, user_id)
            uow.commit()
            return _user_out(u)


def _item_out(item) -> dict:
    from flask_babel import gettext

    title, detail = describe(item.kind, item.data or {}, gettext)
    return {"id": item.id, "kind": item.kind, "ref": item.ref, "title": title, "detail": detail, "link": item.link,
            "store_id": item.store_id, "data": item.data or {}, "show_from": item.show_from,
            "created_at": item.created_at, "read": item.read_at is not None, "done": item.done_at is not None,
            "closes_by_work": item.kind not in inbox.ACKNOWLEDGED}


@blp.route("/inbox")
class Inbox(MethodView):
    @require("identity.self")
    @blp.response(200, InboxOut)
    def get(self):
        """The caller's to-do inbox: open items that are due, newest first, with the counts."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            return {"counts": inbox.counts(uow, p), "items": [_item_out(i) for i in inbox.open_items(uow, p)]}


@blp.route("/inbox/count")
class InboxCount(MethodView):
    @require("identity.self")
    @blp.response(200, InboxCountOut)
    def get(self):
        """How many open and unread items the caller has (the top bar's badge)."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            return inbox.counts(uow, p)


@blp.route("/inbox/<item_id>/read")
class InboxRead(MethodView):
    @require("identity.self")
    @blp.response(200, InboxItemOut)
    @blp.alt_response(404, schema=ErrorBody, description="not an item of the caller")
    def post(self, item_id):
        """Mark one of the caller's items read."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            item = inbox.open_item(uow, p, item_id)
            uow.commit()
            return _item_out(item)


@blp.route("/inbox/<item_id>/done")
class InboxDone(MethodView):
    @require("identity.self")
    @blp.response(200, InboxItemOut)
    @blp.alt_response(404, schema=ErrorBody, description="not an item of the caller")
    @blp.alt_response(409, schema=ErrorBody, description="a work item: it closes when the work is done")
    def post(self, item_id):
        """Close an item that only tells something (a defeat approved, a late report)."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            item = inbox.mark_done(uow, p, item_id)
            uow.commit()
            return _item_out(item)


@blp.route("/notify-settings")
class MyNotifySettings(MethodView):
    @require("identity.self")
    @blp.response(200, NotifySettingsIO)
    def get(self):
        """The caller's channels beyond the inbox (e-mail to their address, the group's WeCom robot) and
        quiet hours."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            return inbox.my_settings(uow, p).__dict__

    @require("identity.self")
    @blp.arguments(NotifySettingsIO)
    @blp.response(200, NotifySettingsIO)
    def put(self, body):
        """Choose the caller's channels and quiet hours (HH:MM to HH:MM, local time; may cross midnight)."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            saved = inbox.save_my_settings(uow, p, inbox.MySettings(**body))
            uow.commit()
            return saved.__dict__


@blp.route("/notify-channels")
class GroupNotifyChannels(MethodView):
    @require("identity.admin")
    @blp.response(200, ChannelsIO)
    def get(self):
        """The group's SMTP server and WeCom group-robot webhook."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            return inbox.group_channels(uow)

    @require("identity.admin")
    @blp.arguments(ChannelsIO)
    @blp.response(200, ChannelsIO)
    def put(self, body):
        """Set the group's SMTP server (host, port, sender, STARTTLS), WeCom webhook and public address."""
        p = current_principal()
        with _rt().uow(p.scope) as uow:
            saved = inbox.save_group_channels(uow, p, body)
            uow.commit()
            return saved
