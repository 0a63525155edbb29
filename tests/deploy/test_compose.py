"""The production deployment renders and is complete: `docker-compose config` on deploy/.

Needs Debian's `docker-compose` (v1) binary, which validates and renders the file without a Docker
engine. Missing binary: skipped, except with CI=true, where it is a failure.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from shared import config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
NGINX = DEPLOY / "nginx.conf"
ENV_EXAMPLE = DEPLOY / ".env.example"
# a value config.load accepts, standing in for the operator's real one
SECRET = "0123456789abcdef" * 4


def _compose_binary() -> str:
    found = shutil.which("docker-compose") or ("/usr/bin/docker-compose" if Path("/usr/bin/docker-compose").exists()
                                               else None)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose (Debian's v1 binary) is required with CI=true")
        pytest.skip("docker-compose binary not installed")
    return found


def example_env() -> dict[str, str]:
    """The variables documented in deploy/.env.example (KEY=VALUE lines)."""
    env = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def _yaml_to_json(text: str, binary: str) -> dict:
    """Parse YAML with PyYAML: in-process if installed, else with docker-compose's own interpreter."""
    try:
        import yaml
    except ModuleNotFoundError:
        shebang = Path(binary).read_text(errors="replace").splitlines()[0]
        python = shebang[2:].strip().split()[-1] if shebang.startswith("#!") else "python3"
        out = subprocess.run(
            [python, "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
            input=text, capture_output=True, text=True, check=True, timeout=60,
        )
        return json.loads(out.stdout)
    return yaml.safe_load(text)


def _render(*args: str, **env_overrides: str) -> dict:
    """`docker-compose -f deploy/docker-compose.yml [args] config` with the documented variables set."""
    binary = _compose_binary()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env.update(example_env())
    env["SECRET_KEY"] = SECRET
    env.update(env_overrides)
    proc = subprocess.run(
        [binary, "-f", str(COMPOSE), *args, "config"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return _yaml_to_json(proc.stdout, binary)


@pytest.fixture(scope="module")
def rendered() -> dict:
    return _render()


def _command(svc: dict) -> str:
    cmd = svc.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def _env(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _secrets(svc: dict) -> set[str]:
    return {s["source"] if isinstance(s, dict) else s for s in svc.get("secrets") or []}


def test_every_service_has_an_api_and_a_worker(rendered):
    services = rendered["services"]
    for name in ("postgres", "rabbitmq", "gateway", "migrate"):
        assert name in services
    for svc in config.SERVICES:
        api, worker = services[f"{svc}-api"], services[f"{svc}-worker"]
        assert f"services.{svc}.bootstrap:create_app()" in _command(api)
        assert _command(api).startswith("gunicorn -c python:shared.gunicorn_conf -w 2 -b 0.0.0.0:8000")
        assert _command(worker) == f"crm worker {svc}"
    assert _command(services["migrate"]) == "crm migrate --all"
    assert services["rabbitmq"]["image"].startswith("rabbitmq:3.13-management")


def test_each_api_has_a_healthcheck_on_its_prefix(rendered):
    for svc in config.SERVICES:
        check = rendered["services"][f"{svc}-api"].get("healthcheck")
        assert check, f"{svc}-api has no healthcheck"
        test = check["test"] if isinstance(check["test"], str) else " ".join(check["test"])
        assert f"/{svc}/healthz" in test


def test_environment_is_production_and_each_service_sees_only_its_own_database(rendered):
    services = rendered["services"]
    for svc in config.SERVICES:
        for role in ("api", "worker"):
            env = _env(services[f"{svc}-{role}"])
            assert env["CRM_MODE"] == "production"
            assert env["BUS_URL"].startswith("amqp://") and "guest" not in env["BUS_URL"]
            assert env[f"{svc.upper()}_DATABASE_URL"].startswith("postgresql+psycopg://")
            others = [k for k in env if k.endswith("_DATABASE_URL") and k != f"{svc.upper()}_DATABASE_URL"]
            assert not others, f"{svc}-{role} sees {others}"
            assert env["JWT_PUBLIC_KEY_FILE"].startswith("/run/secrets/")
            assert "jwt_public_key" in _secrets(services[f"{svc}-{role}"])
            if svc == "identity":
                assert env["JWT_PRIVATE_KEY_FILE"].startswith("/run/secrets/")
            else:
                assert "JWT_PRIVATE_KEY_FILE" not in env
                assert "jwt_private_key" not in _secrets(services[f"{svc}-{role}"])
            # the very environment the container gets is one that config.load accepts
            settings = config.load(svc, env)
            assert settings.mode == "production" and not settings.embedded


def test_apis_and_workers_connect_as_a_role_that_owns_nothing_and_only_migrate_as_the_owner(rendered):
    """Row-level security holds only for a role that does not own the tables (docs/security.md)."""
    from sqlalchemy import make_url

    services = rendered["services"]
    migrate = _env(services["migrate"])
    for svc in config.SERVICES:
        for role in ("api", "worker"):
            url = make_url(_env(services[f"{svc}-{role}"])[f"{svc.upper()}_DATABASE_URL"])
            assert (url.username, url.database) == (f"{svc}_app", svc), f"{svc}-{role} connects as {url.username}"
        owner = make_url(migrate[f"{svc.upper()}_MIGRATE_DATABASE_URL"])
        app = make_url(migrate[f"{svc.upper()}_DATABASE_URL"])
        assert (owner.username, owner.database) == (svc, svc)  # the owner of 01-databases.sql
        assert (app.username, app.database) == (f"{svc}_app", svc)  # the role `crm migrate` grants to
        settings = config.load(svc, migrate)
        assert settings.migrate_database_url == str(migrate[f"{svc.upper()}_MIGRATE_DATABASE_URL"])
    sql = (DEPLOY / "postgres-init" / "02-app-roles.sql").read_text()
    for svc in config.SERVICES:
        assert re.search(rf"^CREATE ROLE {svc}_app LOGIN NOSUPERUSER NOBYPASSRLS\b.*PASSWORD :'{svc}_app_password';$",
                         sql, re.MULTILINE), svc
        assert re.search(rf"^\\getenv {svc}_app_password {svc.upper()}_APP_DB_PASSWORD$", sql, re.MULTILINE), svc
    assert "OWNER" not in re.sub(r"--[^\n]*", "", sql)


def test_postgres_creates_one_database_per_service():
    sql = (DEPLOY / "postgres-init" / "01-databases.sql").read_text()
    for svc in config.SERVICES:
        assert re.search(rf"^CREATE DATABASE {svc} OWNER {svc}\b", sql, re.MULTILINE), svc
        assert re.search(rf"^\\getenv {svc}_password {svc.upper()}_DB_PASSWORD$", sql, re.MULTILINE), svc


def _nginx_routes() -> tuple[dict[str, str], dict[str, list[str]]]:
    """(location prefix -> proxy_pass target, upstream name -> servers) from deploy/nginx.conf."""
    text = re.sub(r"#[^\n]*", "", NGINX.read_text())
    locations = dict(re.findall(r"location\s+(/[\w-]+/)\s*\{[^}]*?proxy_pass\s+(\S+?);", text))
    upstreams = {name: re.findall(r"server\s+(\S+?)[\s;]", body)
                 for name, body in re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", text)}
    return locations, upstreams


def test_gateway_routes_every_prefix_without_stripping_it(rendered):
    locations, upstreams = _nginx_routes()
    services = rendered["services"]
    for svc in config.SERVICES:
        target = locations.get(f"/{svc}/")
        assert target, f"no location /{svc}/ in nginx.conf"
        # `http://name` with no URI part passes /<svc>/... unchanged; `http://name/` would strip it
        m = re.fullmatch(r"http://([\w-]+)", target)
        assert m, f"/{svc}/ proxies to {target!r}: it must have no URI part, so the prefix is kept"
        assert upstreams.get(m.group(1)) == [f"{svc}-api:8000"]
    gateway = services["gateway"]
    assert any(str(v).endswith(":/etc/nginx/nginx.conf:ro") or "nginx.conf" in str(v)
               for v in gateway.get("volumes", []))
    assert set(gateway.get("depends_on", {})) >= {f"{svc}-api" for svc in config.SERVICES}


def test_nginx_conf_is_valid_when_nginx_is_installed(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx not installed (the structural checks above still ran)")
    conf = re.sub(r"server\s+[\w-]+-api:8000", "server 127.0.0.1:8000", NGINX.read_text())
    conf = conf.replace("pid /tmp/nginx.pid;", f"pid {tmp_path / 'nginx.pid'};")
    (tmp_path / "nginx.conf").write_text(conf)
    proc = subprocess.run([nginx, "-t", "-q", "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "err.log")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def test_env_example_documents_every_variable_and_holds_no_secret():
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    documented = example_env()
    assert used <= set(documented), f"undocumented in .env.example: {sorted(used - set(documented))}"
    for key, value in documented.items():
        if key == "SECRET_KEY" or key.endswith(("_PASSWORD", "_COOKIE")):
            assert value.startswith("CHANGE-ME"), f"{key} in .env.example must be a placeholder"
    # an unedited copy of the example must not start in production
    env = {**documented, "CRM_MODE": "production", "BUS_URL": "amqp://crm:x@rabbitmq:5672//",
           "LEADS_DATABASE_URL": "postgresql+psycopg://leads:x@postgres/leads",
           "JWT_PUBLIC_KEY_FILE": "/run/secrets/jwt_public_key"}
    with pytest.raises(config.ConfigError):
        config.load("leads", env)


CLUSTER_NODES = ("rabbitmq-1", "rabbitmq-2", "rabbitmq-3")


def test_the_cluster_profile_adds_three_rabbitmq_nodes_and_nothing_else():
    services = _render("--profile", "cluster", RABBITMQ_HOSTS=",".join(f"{n}:5672" for n in CLUSTER_NODES),
                       RABBITMQ_ERLANG_COOKIE="0123456789abcdef0123")["services"]
    profiled = {name for name, svc in services.items() if svc.get("profiles")}
    assert profiled == set(CLUSTER_NODES)  # the default deployment is unchanged
    conf = (DEPLOY / "rabbitmq" / "cluster.conf").read_text()
    listed = re.findall(r"^cluster_formation\.classic_config\.nodes\.\d+ = (\S+)$", conf, re.MULTILINE)
    assert listed == [f"rabbit@{n}" for n in CLUSTER_NODES]
    assert re.search(r"^cluster_formation\.peer_discovery_backend = classic_config$", conf, re.MULTILINE)
    for name in CLUSTER_NODES:
        node = services[name]
        assert node["profiles"] == ["cluster"] and node["hostname"] == name  # the node is rabbit@<hostname>
        assert node["image"] == services["rabbitmq"]["image"]
        assert _env(node)["RABBITMQ_ERLANG_COOKIE"] == "0123456789abcdef0123"  # the same, from deploy/.env
        assert any(str(v).endswith("/deploy/rabbitmq/cluster.conf:/etc/rabbitmq/conf.d/30-cluster.conf:ro")
                   for v in node["volumes"])
        assert any(str(v).startswith(f"{name}-data:/var/lib/rabbitmq") for v in node["volumes"])
    # each node joins the one before it once that one is healthy: one cluster, no race
    assert "depends_on" not in services["rabbitmq-1"]
    assert set(services["rabbitmq-2"]["depends_on"]) == {"rabbitmq-1"}
    assert set(services["rabbitmq-3"]["depends_on"]) == {"rabbitmq-2"}


def test_with_the_cluster_every_service_connects_to_the_three_nodes():
    from shared.bus.topology import connect

    services = _render("--profile", "cluster", RABBITMQ_HOSTS=",".join(f"{n}:5672" for n in CLUSTER_NODES))["services"]
    for svc in config.SERVICES:
        for role in ("api", "worker"):
            env = _env(services[f"{svc}-{role}"])
            conn = connect(config.load(svc, env).bus_url)
            assert [(c.split("@")[1].split(":")[0]) for c in conn.alt] == list(CLUSTER_NODES)
            assert conn.userid == "crm" and conn.password == example_env()["RABBITMQ_PASSWORD"]


def test_by_default_every_service_connects_to_the_single_node(rendered):
    for svc in config.SERVICES:
        assert _env(rendered["services"][f"{svc}-worker"])["BUS_URL"] == (
            f"amqp://crm:{example_env()['RABBITMQ_PASSWORD']}@rabbitmq:5672//")
