"""infra/compose.yaml and infra/Dockerfile, validated (no container engine runs here): the Compose
specification's JSON Schema, then what the schema cannot know about this project."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from typing import Any

import jsonschema
import pytest
import yaml

from detectors import load_policy
from tests.test_deploy.names import (
    DEPLOY_POLICY,
    INFRA,
    REPO,
    env_file_names,
    unknown_cm_variables,
    unknown_options,
)

COMPOSE = INFRA / "compose.yaml"
SCHEMA = REPO / "tests" / "files" / "compose-spec.json"  # source and commit: tests/files/README.md
CM_SERVICES = {"worker", "store", "deliver", "postfix-policy"}
SECRETS = {"CM_PSEUDONYM_KEY", "CM_CONSOLE_SECRET", "CM_CLICKHOUSE_URL", "CM_KAFKA__PASSWORD"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_is_valid_against_the_compose_specification(compose):
    assert schema_errors(compose) == []
    broken = copy.deepcopy(compose)  # the schema does catch a misspelt key
    broken["services"]["worker"]["healthchek"] = broken["services"]["worker"].pop("healthcheck")
    assert any("healthchek" in error for error in schema_errors(broken))


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: str(v) for k, v in env.items()}


def env_files(service: dict[str, Any]) -> list[str]:
    files = service.get("env_file", [])
    return [files] if isinstance(files, str) else [f if isinstance(f, str) else f["path"] for f in files]


def test_every_cm_variable_is_a_setting_or_a_webhook_secret_of_the_policy(compose):
    names: set[str] = set()
    for service in compose["services"].values():
        names |= set(environment(service))
        for path in env_files(service):
            names |= set(env_file_names(INFRA / f"{path}.example"))
    assert {n for n in names if n.startswith("CM_")} >= {"CM_KAFKA_BROKER", "CM_PSEUDONYM_KEY"}
    assert unknown_cm_variables(names) == set()


def test_secrets_come_from_env_files_that_git_ignores_never_from_the_compose_file(compose):
    text = COMPOSE.read_text(encoding="utf-8")
    for service in compose["services"].values():
        inline = set(environment(service))
        assert not inline & SECRETS and not any("PASSWORD" in n or "SECRET" in n for n in inline), inline
        for path in env_files(service):
            assert path.startswith("env/") and path.endswith(".env")
            assert (INFRA / f"{path}.example").is_file(), path  # what to fill in, with empty values
            values = env_file_names(INFRA / f"{path}.example")
            assert all(
                v in ("", "CHANGE-ME") or "CHANGE-ME" in v or "PASSWORD" not in k for k, v in values.items()
            )
    assert "/infra/env/*.env" in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert not re.search(r"whsec_|CM_PSEUDONYM_KEY:", text)
    example = env_file_names(INFRA / "env" / "compliance-monitor.env.example")
    assert SECRETS - {"CM_KAFKA__PASSWORD"} <= set(example)
    assert {hook.secret_env for hook in load_policy(DEPLOY_POLICY).actions.webhooks} <= set(example)
    assert all(env_files(compose["services"][name]) for name in CM_SERVICES)


def test_three_kraft_brokers_replicate_every_topic_three_times_with_two_in_sync(compose):
    services = compose["services"]
    brokers = {name: s for name, s in services.items() if s.get("image", "").startswith("apache/kafka:")}
    assert len(brokers) == 3 and {s["image"] for s in brokers.values()} == {"apache/kafka:4.1.1"}
    envs = [environment(s) for s in brokers.values()]
    assert sorted(e["KAFKA_NODE_ID"] for e in envs) == ["1", "2", "3"]
    assert len({e["CLUSTER_ID"] for e in envs}) == 1
    for env in envs:
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert len(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == 3
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3" and env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
    advertised = {e["KAFKA_ADVERTISED_LISTENERS"].replace("PLAINTEXT://", "kafka://") for e in envs}
    for name in CM_SERVICES:
        env = environment(services[name])
        assert set(env["CM_KAFKA_BROKER"].split(";")) == advertised, name
        assert env["CM_TOPIC_REPLICATION_FACTOR"] == "3"
        assert set(services[name]["depends_on"]) >= set(brokers)


def test_every_process_has_a_healthcheck_on_the_port_it_serves(compose):
    services = compose["services"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in CM_SERVICES:
        probe = " ".join(services[name]["healthcheck"]["test"])
        command = " ".join(services[name]["command"])
        metrics = re.search(r"--metrics \S*?:(\d+)", command)
        port = metrics.group(1) if metrics else environment(services[name])["CM_WEB_PORT"]
        assert f"http://127.0.0.1:{port}/healthz" in probe, name
    assert environment(services["worker"])["CM_WEB_HOST"] == "0.0.0.0"  # noqa: S104 - for Prometheus


def test_the_workers_detect_and_scale_and_one_store_owns_the_alert_store(compose):
    services = compose["services"]
    assert services["worker"]["command"] == ["worker", "--role", "detect"]
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert "container_name" not in services["worker"] and not any(
        ":" in str(p) and not str(p).startswith("127.0.0.1") for p in services["worker"].get("ports", [])
    )  # `--scale` needs replicas without fixed names or host ports
    partitions = int(environment(services["worker"])["CM_PARTITIONS"])
    assert partitions >= services["worker"]["deploy"]["replicas"]
    assert services["store"]["command"] == ["worker", "--role", "store"]
    assert environment(services["store"])["CM_USERS"]  # the store process serves the console
    assert "clickhouse" in services["store"]["depends_on"]
    assert env_file_names(INFRA / "env" / "compliance-monitor.env.example")["CM_CLICKHOUSE_URL"].startswith(
        "http://"
    )


def test_the_commands_are_commands_of_the_cli(compose):
    for name in CM_SERVICES:
        assert unknown_options(compose["services"][name]["command"]) == [], name


def bind_sources(compose: dict[str, Any]) -> list[str]:
    sources = []
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith(("./", "../")):
                sources.append(source)
    return sources


def test_every_mounted_path_exists_in_the_repository(compose):
    sources = bind_sources(compose)
    assert {"./prometheus/prometheus.yml", "./prometheus/rules.yml", "./grafana/provisioning"} <= set(sources)
    assert {"./grafana/dashboards", "./policy/deploy.yaml", "./clickhouse-init"} <= set(sources)
    missing = [s for s in sources if not (INFRA / s).exists()]
    assert missing == []
    for volume in (v for s in compose["services"].values() for v in s.get("volumes", [])):
        name = volume.split(":", 1)[0]
        assert name.startswith(".") or name in compose["volumes"], name
    assert load_policy(DEPLOY_POLICY).actions.webhooks  # `actions deliver` refuses a policy without


def test_grafana_gets_the_clickhouse_plugin_and_prometheus_loads_the_rules(compose):
    services = compose["services"]
    grafana = environment(services["grafana"])
    assert "grafana-clickhouse-datasource" in grafana["GF_PLUGINS_PREINSTALL_SYNC"].split(",")
    prometheus = services["prometheus"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    mounted = {v.split(":")[1] for v in prometheus["volumes"] if v.startswith("./")}
    assert mounted == {"/etc/prometheus/prometheus.yml", "/etc/prometheus/rules.yml"}


def test_the_image_installs_the_project_with_its_pins_and_probes_the_worker():
    dockerfile = (INFRA / "Dockerfile").read_text(encoding="utf-8")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    copied = set(re.findall(r"^COPY (\S+) \1$", dockerfile, flags=re.MULTILINE))
    assert set(packages) <= copied, set(packages) - copied
    assert (
        "-c requirements.lock ." in dockerfile
        and "COPY pyproject.toml requirements.lock README.md" in dockerfile
    )
    assert re.search(r"^USER \d+", dockerfile, flags=re.MULTILINE)  # not root
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert 'ENTRYPOINT ["compliance-monitor"]' in dockerfile
    ignore = (INFRA / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    assert {f"!{p}/" for p in packages} <= set(ignore)  # the build context holds what COPY names
    build = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["worker"]["build"]
    assert (INFRA / build["context"] / build["dockerfile"]).resolve() == (INFRA / "Dockerfile").resolve()


def test_grafana_provisioning_matches_the_compose_file_and_the_clickhouse_user(compose):
    """The data source's user and password variable are the ones the init script creates and
    Grafana's env file gives; the dashboard provider reads where compose mounts the JSON."""
    grafana = REPO / "infra" / "grafana" / "provisioning"
    sources = yaml.safe_load((grafana / "datasources" / "datasources.yaml").read_text("utf-8"))
    [clickhouse] = [s for s in sources["datasources"] if s["uid"] == "clickhouse"]
    init = (REPO / "infra" / "clickhouse-init" / "grafana-user.sh").read_text("utf-8")
    user = clickhouse["jsonData"]["username"]
    assert f"CREATE USER IF NOT EXISTS {user} " in init
    variable = clickhouse["secureJsonData"]["password"].strip("${}")
    assert f"{variable}=" in (REPO / "infra" / "env" / "grafana.env.example").read_text("utf-8")
    providers = yaml.safe_load((grafana / "dashboards" / "dashboards.yaml").read_text("utf-8"))
    mounts = {
        v.split(":")[1]
        for v in compose["services"]["grafana"]["volumes"]
        if v.startswith("./grafana/dashboards")
    }
    assert {p["options"]["path"] for p in providers["providers"]} == mounts
