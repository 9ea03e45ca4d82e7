"""infra/k8s/: every manifest valid against the Kubernetes JSON schemas (kubernetes-validate, strict:
an unknown field fails), then what the schemas cannot know about this project."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.test_deploy.names import DEPLOY_POLICY, INFRA, unknown_cm_variables, unknown_options

K8S = INFRA / "k8s"
VERSIONS = ("1.30.0", "1.37.0")  # the oldest Kubernetes still widely run, and the newest bundled
SECRET_KEYS = {"CM_PSEUDONYM_KEY", "CM_CONSOLE_SECRET", "CM_CLICKHOUSE_URL", "CM_WEBHOOK_SECRET_MAILGW"}
DATA_DIR = "/var/lib/compliance-monitor"  # CM_DATA_DIR of infra/Dockerfile


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in manifests()}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(version):
    docs = manifests()
    assert len(docs) >= 10
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)
    broken = next(d for d in manifests() if d["kind"] == "StatefulSet")
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):  # strict: a misspelt field fails
        kubernetes_validate.validate(broken, version, strict=True)


def test_kustomize_applies_every_file():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert set(kustomization["resources"]) == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert {d["metadata"].get("namespace") for d in manifests() if d["kind"] != "Namespace"} == {
        "compliance-monitor"
    }


def pod_specs(objects) -> dict[str, dict[str, Any]]:
    return {
        name: obj["spec"]["template"]["spec"]
        for (kind, name), obj in objects.items()
        if kind in ("Deployment", "StatefulSet")
    }


def test_workers_are_a_statefulset_with_a_volume_per_pod_a_headless_service_and_a_budget(objects):
    workers = objects["StatefulSet", "compliance-monitor-worker"]
    spec = workers["spec"]
    [claim] = spec["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    [container] = spec["template"]["spec"]["containers"]
    assert container["args"] == ["worker", "--role", "detect"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == DATA_DIR  # RocksDB state on the pod's own volume
    service = objects["Service", spec["serviceName"]]
    assert service["spec"]["clusterIP"] == "None"
    labels = spec["template"]["metadata"]["labels"]
    assert service["spec"]["selector"] == labels == spec["selector"]["matchLabels"]
    budget = objects["PodDisruptionBudget", "compliance-monitor-worker"]
    assert budget["spec"]["selector"]["matchLabels"] == labels and budget["spec"]["maxUnavailable"] == 1
    settings = objects["ConfigMap", "compliance-monitor-settings"]["data"]
    assert spec["replicas"] <= int(settings["CM_PARTITIONS"])
    assert settings["CM_TOPIC_REPLICATION_FACTOR"] == "3" and len(settings["CM_KAFKA_BROKER"].split(";")) == 3


def port_of(container: dict[str, Any], name: str) -> int:
    return next(p["containerPort"] for p in container["ports"] if p["name"] == name)


def test_probes_ask_each_process_on_the_port_it_serves_its_health(objects):
    settings = objects["ConfigMap", "compliance-monitor-settings"]["data"]
    for name, spec in pod_specs(objects).items():
        [container] = spec["containers"]
        args = " ".join(container["args"])
        metrics = re.search(r"--metrics \S*?:(\d+)", args)
        served = int(metrics.group(1)) if metrics else int(settings["CM_WEB_PORT"])
        for probe in ("livenessProbe", "readinessProbe"):
            get = container[probe]["httpGet"]
            assert port_of(container, get["port"]) == served, (name, probe)
        live = container["livenessProbe"]["httpGet"]["path"]
        ready = container["readinessProbe"]["httpGet"]["path"]
        assert live == "/healthz", name
        if args.startswith("worker"):  # /readyz: 503 until the worker owns partitions
            assert ready == "/readyz", name
        else:  # the console says ready at once; the action processes answer 503 until ready
            assert ready == "/healthz", name
        assert spec["securityContext"]["runAsNonRoot"] is True


def test_every_cm_variable_is_a_setting_and_every_secret_comes_from_the_secret(objects):
    settings = objects["ConfigMap", "compliance-monitor-settings"]["data"]
    names = set(settings)
    assert not names & SECRET_KEYS
    for name, spec in pod_specs(objects).items():
        [container] = spec["containers"]
        refs = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
        assert refs == ["compliance-monitor-settings"], name
        assert not any("secretRef" in e for e in container.get("envFrom", []))  # each key named
        for env in container.get("env", []):
            names.add(env["name"])
            if env["name"] in SECRET_KEYS:
                ref = env["valueFrom"]["secretKeyRef"]
                assert (ref["name"], ref["key"]) == ("compliance-monitor", env["name"]), name
            else:
                assert "value" in env, env
    assert unknown_cm_variables(names) == set()
    assert {n for n in names if n in SECRET_KEYS} == SECRET_KEYS


def test_the_processes_run_commands_the_cli_has(objects):
    args = {name: spec["containers"][0]["args"] for name, spec in pod_specs(objects).items()}
    assert args["compliance-monitor-store"] == ["worker", "--role", "store"]
    assert args["compliance-monitor-console"] == ["console"]
    for name, command in args.items():
        assert unknown_options(command) == [], name


def test_the_policy_config_map_is_the_deployment_policy(objects):
    policy = objects["ConfigMap", "compliance-monitor-policy"]["data"]["policy.yaml"]
    assert policy == DEPLOY_POLICY.read_text(encoding="utf-8")
    settings = objects["ConfigMap", "compliance-monitor-settings"]["data"]
    for name, spec in pod_specs(objects).items():
        [container] = spec["containers"]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        policy_volume = next(
            n for n, v in volumes.items() if v.get("configMap", {}).get("name", "").endswith("policy")
        )
        assert f"{mounts[policy_volume]}/policy.yaml" == settings["CM_POLICY"], name
