"""docs/operations.md names what exists: a section per alert rule, settings that are settings."""

from __future__ import annotations

import re

import yaml

from tests.test_deploy.names import INFRA, REPO, unknown_cm_variables

DOC = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")


def test_every_alert_rule_has_a_section_its_runbook_anchor_finds():
    rules = yaml.safe_load((INFRA / "prometheus" / "rules.yml").read_text(encoding="utf-8"))
    runbooks = {
        rule["alert"]: rule["annotations"]["runbook"]
        for group in rules["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    headings = re.findall(r"^### (\S+)$", DOC, flags=re.MULTILINE)
    assert len(runbooks) == 6 and set(runbooks) <= set(headings)
    assert all(link == f"docs/operations.md#{name.lower()}" for name, link in runbooks.items())


def test_every_cm_variable_the_page_names_is_a_setting_or_a_webhook_secret():
    names = set(re.findall(r"\bCM_[A-Z_]*[A-Z]\b", DOC))
    assert {"CM_PARTITIONS", "CM_LOG_FORMAT", "CM_ALERT_TTL_DAYS"} <= names
    assert unknown_cm_variables(names) == set()


def test_the_files_the_page_names_exist():
    paths = set(re.findall(r"`((?:infra|docs|tests)/[\w./-]+)`", DOC))
    assert "infra/compose.yaml" in paths and "infra/k8s/" in paths
    missing = [p for p in paths if not (REPO / p).exists()]
    assert missing == []
