"""Production mode refuses to start without real secrets, and accepts a complete environment."""
from __future__ import annotations

import pytest

from shared.config import DEFAULT_SECRET, ConfigError, load

SECRET = "5f2c0e9a7b4d41e8a3c6b9d2e1f0a7c4" * 2


def production_env(**overrides: str | None) -> dict[str, str]:
    """A complete production environment for the leads service; `None` removes a variable."""
    env = {
        "CRM_MODE": "production",
        "LEADS_DATABASE_URL": "postgresql+psycopg://leads:pw@postgres:5432/leads",
        "BUS_URL": "amqp://crm:pw@rabbitmq:5672//",
        "SECRET_KEY": SECRET,
        "JWT_PUBLIC_KEY_FILE": "/run/secrets/jwt_public_key",
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_accepts_a_full_production_env():
    s = load("leads", production_env())
    assert s.mode == "production" and not s.embedded
    assert s.database_url == "postgresql+psycopg://leads:pw@postgres:5432/leads"
    assert s.bus_url == "amqp://crm:pw@rabbitmq:5672//"
    assert s.secret_key == SECRET
    assert str(s.jwt_public_key_file) == "/run/secrets/jwt_public_key"
    assert s.jwt_private_key_file is None  # only identity signs
    assert s.cookie_secure


def test_refuses_the_default_secret():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load("leads", production_env(SECRET_KEY=DEFAULT_SECRET))


def test_refuses_a_missing_secret():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load("leads", production_env(SECRET_KEY=None))


def test_refuses_an_empty_or_short_secret():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load("leads", production_env(SECRET_KEY=""))
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load("leads", production_env(SECRET_KEY="too-short"))


@pytest.mark.parametrize("missing", ["LEADS_DATABASE_URL", "BUS_URL", "JWT_PUBLIC_KEY_FILE"])
def test_refuses_a_missing_setting(missing):
    with pytest.raises(ConfigError, match=missing):
        load("leads", production_env(**{missing: None}))


def test_refuses_the_guest_broker_account_unless_allowed():
    guest = "amqp://guest:guest@rabbitmq:5672//"
    with pytest.raises(ConfigError, match="guest"):
        load("leads", production_env(BUS_URL=guest))
    assert load("leads", production_env(BUS_URL=guest, CRM_ALLOW_GUEST_BROKER="1")).bus_url == guest


def test_identity_needs_its_private_key():
    env = production_env(LEADS_DATABASE_URL=None,
                         IDENTITY_DATABASE_URL="postgresql+psycopg://identity:pw@postgres:5432/identity")
    with pytest.raises(ConfigError, match="JWT_PRIVATE_KEY_FILE"):
        load("identity", env)
    s = load("identity", {**env, "JWT_PRIVATE_KEY_FILE": "/run/secrets/jwt_private_key"})
    assert str(s.jwt_private_key_file) == "/run/secrets/jwt_private_key"


def test_unknown_mode_is_refused():
    with pytest.raises(ConfigError, match="CRM_MODE"):
        load("leads", production_env(CRM_MODE="prod"))


def test_migrations_may_run_as_another_role_and_the_owner_role_is_refused_unless_allowed():
    s = load("leads", production_env())
    assert s.migrate_database_url is None and not s.allow_owner_role
    owner = "postgresql+psycopg://leads:pw@postgres:5432/leads"
    s = load("leads", production_env(LEADS_DATABASE_URL="postgresql+psycopg://leads_app:pw@postgres:5432/leads",
                                     LEADS_MIGRATE_DATABASE_URL=owner, CRM_ALLOW_OWNER_ROLE="1"))
    assert s.migrate_database_url == owner and s.allow_owner_role
