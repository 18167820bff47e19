"""docker-compose.yml and docker-compose.scale.yml, checked without a Docker engine.

What compose would only report at `up` time (a dependency on a service whose profile is
off), and what it never reports (a variable that silently never reaches a container, a
scaled worker fighting over a container name), checked by parsing the files against the
variables the app reads, `.env.example` and the docs.
"""

import functools
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCALE = ROOT / "docker-compose.scale.yml"
DOCS = ROOT / "docs" / "scaling" / "compose.md"
APP_SERVICES = {"web", "worker", "beat"}
# Not app code: skipped when collecting the variables the app reads, as are hidden
# folders (.venv among them).
NOT_APP_CODE = {"tests", "benchmarks", "migrations", "data", "staticfiles", "test-artifacts"}

# The readers of hub/env.py (the same extraction as .ci/run) and direct os.environ reads.
READERS = [
    re.compile(r'\benv_(?:str|bool|int|list)\(\s*"([A-Z][A-Z0-9_]*)"'),
    re.compile(r'\bos\.(?:environ\.get|getenv)\(\s*"([A-Z][A-Z0-9_]*)"'),
    re.compile(r'\bos\.environ\[\s*"([A-Z][A-Z0-9_]*)"\s*\](?!\s*=[^=])'),
]
# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`; `$${...}` is escaped.
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path.name} is not a mapping"
    return document


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Compose's merge of an override file, as far as these files need it: mappings
    (environment, depends_on, healthcheck) merge key by key, volumes and ports add up,
    anything else (command, entrypoint, image) is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        elif key in {"volumes", "ports"} and isinstance(merged.get(key), list):
            merged[key] = [*merged[key], *value]
        else:
            merged[key] = value
    return merged


def services(*paths: Path) -> dict[str, dict[str, Any]]:
    merged: dict[str, Any] = {}
    for path in paths:
        merged = merge(merged, load(path))
    return merged["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):  # the `- NAME=value` form
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {name: str(value) for name, value in raw.items()}


def env_files(service: dict[str, Any]) -> list[dict[str, Any]]:
    raw = service.get("env_file") or []
    entries = [raw] if isinstance(raw, str | dict) else raw
    return [{"path": entry} if isinstance(entry, str) else entry for entry in entries]


def depends_on(service: dict[str, Any]) -> list[str]:
    raw = service.get("depends_on") or []
    return list(raw)  # the short form is a list of names, the long one a mapping of them


@functools.cache
def app_variables() -> frozenset[str]:
    names: set[str] = set()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [
            name for name in subfolders if name not in NOT_APP_CODE and not name.startswith(".")
        ]
        for file in files:
            if file.endswith(".py"):
                text = Path(folder, file).read_text()
                names.update(name for reader in READERS for name in reader.findall(text))
    return frozenset(names)


def documented_in_env_example() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))


def compose_only_variables() -> set[str]:
    """The variables listed in docker-compose.yml's header, indented under its list."""
    header = []
    for line in COMPOSE.read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    return set(re.findall(r"^#   ([A-Z][A-Z0-9_]*) ", "\n".join(header), re.MULTILINE))


def test_the_app_reads_variables_at_all() -> None:
    # Guards the extraction itself: an empty set would make the tests below pass vacuously.
    assert {"SECRET_KEY", "DATABASE_URL", "CSRF_TRUSTED_ORIGINS", "EMAIL_HOST"} <= app_variables()


@pytest.mark.parametrize(
    "paths", [(COMPOSE,), (COMPOSE, SCALE)], ids=["default", "with scale override"]
)
def test_app_services_are_web_worker_and_beat(paths: tuple[Path, ...]) -> None:
    app = {
        name
        for name, service in services(*paths).items()
        if service.get("image") == "passerelle:latest" or "build" in service
    }
    assert app == APP_SERVICES


def test_every_app_service_gets_the_whole_env_file() -> None:
    for name in APP_SERVICES:
        entries = env_files(services(COMPOSE)[name])
        assert {"path": ".env", "required": False} in entries, name


def test_every_variable_the_app_reads_reaches_the_app_containers() -> None:
    read = app_variables()
    for name, service in services(COMPOSE, SCALE).items():
        if name not in APP_SERVICES:
            continue
        passed_whole = any(entry["path"] == ".env" for entry in env_files(service))
        reached = read if passed_whole else set(environment(service))
        assert not read - reached, f"{name} never gets {sorted(read - reached)}"


@pytest.mark.parametrize("path", [COMPOSE, SCALE], ids=lambda path: path.name)
def test_compose_sets_only_variables_the_app_reads(path: Path) -> None:
    # A misspelt name under `environment:` would be ignored by the app without a word.
    compose = load(path)
    sections = {name: compose["services"][name] for name in APP_SERVICES & set(compose["services"])}
    sections |= {key: value for key, value in compose.items() if key.startswith("x-")}
    for name, section in sections.items():
        unread = sorted(set(environment(section)) - app_variables())
        assert not unread, f"{path.name}, {name}: the app reads no {unread}"


@pytest.mark.parametrize("path", [COMPOSE, SCALE], ids=lambda path: path.name)
def test_every_interpolated_variable_is_documented(path: Path) -> None:
    used = set(INTERPOLATION.findall(path.read_text()))
    documented = documented_in_env_example() | compose_only_variables()
    assert used, "no interpolation found: the pattern is broken"
    assert used <= documented, f"document {sorted(used - documented)} in .env.example"


def test_compose_only_variables_are_explained_in_the_docs() -> None:
    listed = compose_only_variables()
    expected = {"POSTGRES_PASSWORD", "WORKER_REPLICAS", "CELERY_WORKER_CONCURRENCY"}
    assert expected | {"WEB_CONCURRENCY"} <= listed
    docs = DOCS.read_text()
    assert not [name for name in listed if f"`{name}`" not in docs]


def test_web_worker_and_beat_share_the_data_volume() -> None:
    compose = load(COMPOSE)
    sources = set()
    for name in APP_SERVICES:
        mounts = [str(volume).split(":") for volume in compose["services"][name]["volumes"]]
        on_data_dir = [mount[0] for mount in mounts if mount[1] == "/app/data"]
        assert len(on_data_dir) == 1, name
        sources.add(on_data_dir[0])
        assert environment(compose["services"][name]).get("DATA_DIR") == "/app/data"
    assert len(sources) == 1
    assert sources <= set(compose["volumes"]), "a named volume, not a host folder"


def test_the_image_prepares_the_data_volume_for_its_user() -> None:
    # A named volume takes the ownership of the directory it is mounted on, once.
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = dockerfile.index("USER passerelle")
    assert -1 < dockerfile.find("mkdir -p /app/data/media") < user
    assert -1 < dockerfile.find("chown -R passerelle:passerelle /app/data") < user


def test_workers_scale_and_beat_stays_single() -> None:
    all_services = services(COMPOSE, SCALE)
    assert not [name for name, service in all_services.items() if "container_name" in service]
    for name in ("worker", "beat"):
        assert "ports" not in all_services[name], name
    worker = all_services["worker"]
    assert str(worker["deploy"]["replicas"]).startswith("${WORKER_REPLICAS")
    assert any("${CELERY_WORKER_CONCURRENCY" in str(part) for part in worker["command"])
    assert worker["stop_grace_period"]
    assert all_services["beat"]["deploy"]["replicas"] == 1


def test_mailpit_runs_only_with_the_mailcatcher_profile() -> None:
    compose = load(COMPOSE)
    assert compose["services"]["mailpit"]["profiles"] == ["mailcatcher"]
    for name in APP_SERVICES:
        email_host = environment(compose["services"][name])["EMAIL_HOST"]
        # .env's EMAIL_HOST wins, an empty one included (e-mails to files).
        assert email_host == "${EMAIL_HOST-mailpit}"


@pytest.mark.parametrize(
    "paths", [(COMPOSE,), (COMPOSE, SCALE)], ids=["default", "with scale override"]
)
def test_depends_on_never_points_at_a_profiled_or_missing_service(
    paths: tuple[Path, ...],
) -> None:
    # Compose refuses to start a service whose dependency is in a profile that is off.
    all_services = services(*paths)
    for name, service in all_services.items():
        for target in depends_on(service):
            assert target in all_services, f"{name} depends on unknown {target}"
            if not service.get("profiles"):
                assert not all_services[target].get("profiles"), f"{name} -> {target}"


def test_services_restart_and_the_stateful_ones_have_health_checks() -> None:
    all_services = services(COMPOSE, SCALE)
    assert not [name for name, service in all_services.items() if "restart" not in service]
    for name in ("postgres", "redis", "web", "pgbouncer", "postgres-replica"):
        assert all_services[name]["healthcheck"]["test"], name


def test_third_party_images_are_pinned() -> None:
    for name, service in services(COMPOSE, SCALE).items():
        if name in APP_SERVICES:
            continue
        image = service["image"]
        assert ":" in image, name
        assert not image.endswith(":latest"), name


def test_without_the_override_there_is_no_pooler_and_no_replica() -> None:
    # Pinned empty, so that a .env written for another setup cannot switch them on.
    for name in APP_SERVICES:
        env = environment(services(COMPOSE)[name])
        assert env["DATABASE_POOLER"] == env["DATABASE_REPLICA_URL"] == "", name


def test_scale_override_routes_the_app_through_pgbouncer_and_web_to_the_replica() -> None:
    all_services = services(COMPOSE, SCALE)
    for name in APP_SERVICES:
        env = environment(all_services[name])
        assert urlsplit(env["DATABASE_URL"]).hostname == "pgbouncer", name
        assert env["DATABASE_POOLER"] == "pgbouncer", name
        # PgBouncer refuses startup options; the servers get them on their command line.
        assert env["DATABASE_CONNECTION_OPTIONS"] == "", name
        assert "pgbouncer" in depends_on(all_services[name]), name
    # Only web's opted-in pages read the replica; tasks read the primary.
    web = all_services["web"]
    assert urlsplit(environment(web)["DATABASE_REPLICA_URL"]).hostname == "postgres-replica"
    assert web["depends_on"]["postgres-replica"]["condition"] == "service_started"
    assert environment(all_services["worker"])["DATABASE_REPLICA_URL"] == ""
    pgbouncer = environment(all_services["pgbouncer"])
    postgres = environment(all_services["postgres"])
    assert pgbouncer["POOL_MODE"] == "transaction"
    assert pgbouncer["DB_HOST"] == "postgres"
    assert pgbouncer["DB_NAME"] == postgres["POSTGRES_DB"]
    assert pgbouncer["DB_USER"] == postgres["POSTGRES_USER"]
    assert pgbouncer["DB_PASSWORD"] == postgres["POSTGRES_PASSWORD"]
    assert "jit=off" in all_services["postgres"]["command"]
    assert "jit=off" in all_services["postgres-replica"]["command"]


def test_files_the_scale_override_mounts_exist() -> None:
    for service in load(SCALE)["services"].values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), source


def test_the_database_url_is_the_one_postgres_is_given() -> None:
    compose = load(COMPOSE)
    url = urlsplit(environment(compose["services"]["web"])["DATABASE_URL"])
    postgres = environment(compose["services"]["postgres"])
    assert url.hostname == "postgres"
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == postgres["POSTGRES_DB"]
