"""The Prometheus files of infra/prometheus, checked by Debian's ``promtool``.

``promtool check rules`` and ``check config`` read them as Prometheus would (the config's
``rule_files`` resolved next to it, so the rules are checked through it as well), and
``promtool test rules`` runs rules_test.yml: each alert fired by one series and not by
another, and the recording rules' output. A missing promtool fails the test.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PROMETHEUS = Path(__file__).resolve().parents[2] / "infra" / "prometheus"
RECORDING = {"cm:events_processed:rate5m", "cm:consumer_lag:sum"}
ALERTS = {
    "CMWorkerDown",
    "CMConsumerLagGrowing",
    "CMDeadLettersHigh",
    "CMClickHouseFlushFailing",
    "CMNoInputEvents",
    "CMEventTimeLagHigh",
}


def promtool(*args: str) -> str:
    """Run promtool on the files of infra/prometheus; its output, asserting it succeeded."""
    assert shutil.which("promtool"), "promtool missing: run `make metrics-tools` (apt-get install prometheus)"
    run = subprocess.run(["promtool", *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    return output


def rules() -> dict[str, list[dict]]:
    """The rules of rules.yml by group name."""
    groups = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"]
    return {group["name"]: group["rules"] for group in groups}


def test_rules_are_valid():
    assert "SUCCESS: 8 rules found" in promtool("check", "rules", "rules.yml")


def test_config_is_valid_and_loads_the_rules():
    output = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert "SUCCESS: 1 rule files found" in output
    assert "SUCCESS: 8 rules found" in output  # rules.yml, resolved next to the config


def test_every_alert_fires_and_stays_quiet_in_the_unit_tests():
    assert "SUCCESS" in promtool("test", "rules", "rules_test.yml")
    tests = yaml.safe_load((PROMETHEUS / "rules_test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    for alert in ALERTS:
        expected = [bool(case["exp_alerts"]) for case in cases if case["alertname"] == alert]
        assert True in expected and False in expected, (
            f"{alert}: needs a case that fires and one that does not"
        )
    tested = {test["expr"] for test in tests for test in test.get("promql_expr_test", [])}
    assert tested >= RECORDING


def test_rule_names_labels_and_annotations():
    groups = rules()
    assert {rule["record"] for rule in groups["compliance-monitor-recording"]} == RECORDING
    alerts = {rule["alert"]: rule for rule in groups["compliance-monitor-alerts"]}
    assert set(alerts) == ALERTS
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert {"summary", "description", "runbook"} <= rule["annotations"].keys(), name
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{name.lower()}"


def test_scrape_jobs_are_the_shared_names():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"compliance-monitor", "compliance-monitor-deliver", "compliance-monitor-postfix"} == jobs
    assert config["rule_files"] == ["rules.yml"]


def test_a_missing_promtool_fails_naming_the_make_target(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AssertionError, match=r"make metrics-tools"):
        promtool("check", "rules", "rules.yml")
