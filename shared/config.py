"""Configuration from the environment, with safe defaults for the embedded mode only."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("identity", "leads", "customers", "callcenter", "analytics")
DEFAULT_SECRET = "embedded-mode-secret-do-not-use-in-production"
ROOT = Path(__file__).resolve().parent.parent
#: the group's time zone where a store or group keeps none of its own (shared.clock.zone gives it)
DEFAULT_TIMEZONE = "Asia/Shanghai"


class ConfigError(RuntimeError):
    """The environment does not describe a safe configuration."""


def var_dir() -> Path:
    path = Path(os.environ.get("CRM_VAR_DIR", ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Settings:
    service: str
    mode: str  # "embedded" or "production"
    database_url: str
    bus_url: str
    secret_key: str
    jwt_private_key_file: Path | None
    jwt_public_key_file: Path
    jwt_issuer: str = "crm-identity"
    jwt_audience: str = "crm"
    token_ttl_seconds: int = 8 * 3600
    max_body_bytes: int = 1_000_000
    cookie_secure: bool = False
    #: proxies in front of the service that append the client's address to X-Forwarded-For (the gateway:
    #: 1); 0 trusts no such header, so that a client cannot choose the address its logins are counted by
    proxy_hops: int = 0
    default_timezone: str = DEFAULT_TIMEZONE
    # the owner of the service's tables, for `crm migrate` only (`<SERVICE>_MIGRATE_DATABASE_URL`);
    # None: migrations run as `database_url` (embedded mode, or one role for both)
    migrate_database_url: str | None = None
    # production refuses to serve as a role that owns the tables or bypasses row-level security
    # (shared.rls.check_role) unless CRM_ALLOW_OWNER_ROLE=1 says a trial installation has one role
    allow_owner_role: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"


def load(service: str, env: dict | None = None) -> Settings:
    """Read one service's settings; outside embedded mode refuse default or missing secrets."""
    env = dict(os.environ if env is None else env)
    mode = env.get("CRM_MODE", "embedded")
    if mode not in ("embedded", "production"):
        raise ConfigError(f"CRM_MODE must be 'embedded' or 'production', not {mode!r}")
    key = f"{service.upper()}_DATABASE_URL"
    migrate_url = env.get(f"{service.upper()}_MIGRATE_DATABASE_URL") or None
    if mode == "embedded":
        vd = Path(env.get("CRM_VAR_DIR", ROOT / "var"))
        db_url = env.get(key) or f"sqlite:///{vd / (service + '.sqlite')}"
        bus_url = env.get("BUS_URL") or f"filesystem://{vd / 'bus'}"
        secret = env.get("SECRET_KEY") or DEFAULT_SECRET
        priv: Path | None = Path(env.get("JWT_PRIVATE_KEY_FILE") or vd / "keys" / "jwt-private.pem")
        pub = Path(env.get("JWT_PUBLIC_KEY_FILE") or vd / "keys" / "jwt-public.pem")
    else:
        missing = [k for k in (key, "BUS_URL", "SECRET_KEY", "JWT_PUBLIC_KEY_FILE") if not env.get(k)]
        if service == "identity" and not env.get("JWT_PRIVATE_KEY_FILE"):
            missing.append("JWT_PRIVATE_KEY_FILE")
        if missing:
            raise ConfigError(f"production mode needs {', '.join(missing)}")
        secret = env["SECRET_KEY"]
        if secret == DEFAULT_SECRET or len(secret) < 32:
            raise ConfigError("SECRET_KEY is the embedded default or shorter than 32 characters")
        db_url, bus_url = env[key], env["BUS_URL"]
        if "guest:guest@" in bus_url and env.get("CRM_ALLOW_GUEST_BROKER") != "1":
            raise ConfigError("BUS_URL uses the default guest account; set CRM_ALLOW_GUEST_BROKER=1 to allow it")
        if env.get("CRM_CLOCK_OFFSET") and env.get("CRM_ALLOW_TEST_CLOCK") != "1":
            raise ConfigError("CRM_CLOCK_OFFSET moves the clock and is for test runs only; unset it in production")
        priv = Path(env["JWT_PRIVATE_KEY_FILE"]) if env.get("JWT_PRIVATE_KEY_FILE") else None
        pub = Path(env["JWT_PUBLIC_KEY_FILE"])
    return Settings(
        service=service,
        mode=mode,
        database_url=db_url,
        migrate_database_url=migrate_url,
        bus_url=bus_url,
        secret_key=secret,
        jwt_private_key_file=priv,
        jwt_public_key_file=pub,
        token_ttl_seconds=int(env.get("TOKEN_TTL_SECONDS", 8 * 3600)),
        max_body_bytes=int(env.get("MAX_BODY_BYTES", 1_000_000)),
        cookie_secure=mode == "production" and env.get("COOKIE_SECURE", "1") == "1",
        proxy_hops=int(env.get("CRM_PROXY_HOPS", 0)),
        allow_owner_role=env.get("CRM_ALLOW_OWNER_ROLE") == "1",
    )
