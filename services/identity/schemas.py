"""Request and response schemas of the identity API."""
from marshmallow import Schema, fields, validate

from shared.config import DEFAULT_TIMEZONE
from shared.fields import Id, TimeZone
from shared.tenancy import ROLES

CODE = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,38}$", error="lower-case letters, digits and '-', 2–39 characters")


class LoginIn(Schema):
    group = fields.String(required=True, validate=validate.Length(min=1, max=40))
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class TokenOut(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class MeOut(Schema):
    user_id = fields.String()
    username = fields.String()
    name = fields.String()
    group_id = fields.String()
    group_code = fields.String()
    role = fields.String()
    store_ids = fields.Method("_stores")

    def _stores(self, p):
        return ["*"] if p.store_ids is None else sorted(p.store_ids)


class BrandIn(Schema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))


class BrandOut(Schema):
    id = fields.String()
    code = fields.String()
    name = fields.String()


class StoreIn(Schema):
    brand_id = Id(required=True)
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    city = fields.String(load_default="", validate=validate.Length(max=60))
    timezone = TimeZone(load_default=DEFAULT_TIMEZONE)


class StorePatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    city = fields.String(validate=validate.Length(max=60))
    timezone = TimeZone()
    active = fields.Boolean()


class StoreOut(Schema):
    id = fields.String()
    brand_id = fields.String()
    code = fields.String()
    name = fields.String()
    city = fields.String()
    timezone = fields.String()
    active = fields.Boolean()


class OrgOut(Schema):
    group = fields.Dict()
    brands = fields.List(fields.Nested(BrandOut))
    stores = fields.List(fields.Nested(StoreOut))


class UserIn(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{2,80}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    role = fields.String(required=True, validate=validate.OneOf(sorted(ROLES)))
    store_id = Id(load_default=None, allow_none=True)
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=200))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))


class UserPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    role = fields.String(validate=validate.OneOf(sorted(ROLES)))
    store_id = Id(allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    active = fields.Boolean()
    on_duty = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(min=10, max=200))


class UserOut(Schema):
    id = fields.String()
    username = fields.String()
    name = fields.String()
    role = fields.String()
    store_id = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    active = fields.Boolean()
    on_duty = fields.Boolean()
    locked = fields.Boolean(dump_default=False, metadata={"description": "locked after failed logins (unlock to lift)"})


class UserQuery(Schema):
    q = fields.String(validate=validate.Length(min=1, max=80), metadata={"description": "part of the username or name"})
    store_id = Id()
    role = fields.String(validate=validate.OneOf(sorted(ROLES)))
    active = fields.Boolean()


class PasswordChangeIn(Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))


class PasswordResetIn(Schema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))


class KeysOut(Schema):
    keys = fields.List(fields.Dict(), metadata={"description": "a JWKS: the RSA public key(s), kid, alg RS256"})
    pem = fields.String()


HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="a time of day as HH:MM")


class InboxCountOut(Schema):
    open = fields.Integer()
    unread = fields.Integer()


class InboxItemOut(Schema):
    id = fields.String()
    kind = fields.String()
    ref = fields.String()  # the record the work is on: a lead, a complaint, a task, a report
    title = fields.String()
    detail = fields.String()
    link = fields.String()
    store_id = fields.String(allow_none=True)
    data = fields.Dict()
    show_from = fields.DateTime()
    created_at = fields.DateTime()
    read = fields.Boolean()
    done = fields.Boolean()
    closes_by_work = fields.Boolean()


class InboxOut(Schema):
    counts = fields.Nested(InboxCountOut)
    items = fields.List(fields.Nested(InboxItemOut))


class NotifySettingsIO(Schema):
    email = fields.Boolean(load_default=False)
    wecom = fields.Boolean(load_default=False)
    quiet_start = fields.String(allow_none=True, load_default=None, validate=HHMM)
    quiet_end = fields.String(allow_none=True, load_default=None, validate=HHMM)
    language = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))


class ChannelsIO(Schema):
    smtp_host = fields.String(allow_none=True, validate=validate.Length(max=200))
    smtp_port = fields.Integer(validate=validate.Range(min=1, max=65535))
    smtp_sender = fields.Email(allow_none=True)
    smtp_starttls = fields.Boolean()
    wecom_webhook = fields.Url(allow_none=True, schemes={"http", "https"}, require_tld=False,
                               validate=validate.Length(max=500))
    public_url = fields.Url(allow_none=True, schemes={"http", "https"}, require_tld=False,
                            validate=validate.Length(max=200))
