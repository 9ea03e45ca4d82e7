"""The ``make`` targets README.md and docs/ name: they exist and run what the docs say they run.

(The Makefile is read, not run: its targets install packages and start brokers.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def recipes() -> dict[str, str]:
    """Each target of the Makefile: its prerequisites line and recipe, as one text."""
    out: dict[str, str] = {}
    target = None
    for line in (REPO / "Makefile").read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([a-z][a-z-]*):(.*)", line):
            target = match.group(1)
            out[target] = match.group(2)
        elif target and line.startswith("\t"):
            out[target] += "\n" + line.strip()
        else:
            target = None
    return out


def test_every_make_target_the_docs_name_exists():
    texts = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    named = set()
    for path in texts:
        text = path.read_text(encoding="utf-8")
        named |= set(re.findall(r"`(?:[A-Z_]+=\S+ )*make ([a-z][a-z-]*)", text))
        named |= set(re.findall(r"^make ([a-z][a-z-]*)", text, re.MULTILINE))
    assert {"demo", "test", "test-quick", "reliability", "lock"} <= named
    assert named <= set(recipes()), named - set(recipes())


def test_the_targets_run_what_readme_and_reliability_md_say():
    make = recipes()
    assert "compliance-monitor demo $(ARGS)" in make["demo"]  # make demo ARGS="--duration 120"
    assert "pytest" in make["test"] and {"kafka-jars", "browser", "mail-tools", "metrics-tools"} <= set(
        make["test"].split()
    )
    assert '-m "not broker"' in make["test-quick"]  # the unit tests, without brokers
    assert "CM_FAILURE_DAYS=12" in make["reliability"] and "test_failures.py" in make["reliability"]
    assert "tests.reliability.soak --minutes 30 --rate 1000" in make["reliability"]
    assert "freeze" in make["lock"] and "> requirements.lock" in make["lock"]


def test_metrics_tools_installs_prometheus_and_leaves_no_service_running():
    recipe = recipes()["metrics-tools"]
    assert "command -v promtool" in recipe and "command -v prometheus" in recipe  # installs only if missing
    assert "apt-get install -y -q --no-install-recommends prometheus" in recipe  # no node exporter
    assert "exit 101" in recipe and "policy-rc.d" in recipe  # the package's service is not started
    assert "systemctl disable --now prometheus.service" in recipe  # nor at boot


def test_cm_test_brokers_limits_the_broker_tests_to_the_kinds_it_names():
    def kinds(**env: str) -> str:
        probe = "from tests.fixtures.brokers import BROKER_KINDS; print(','.join(BROKER_KINDS))"
        base = {k: v for k, v in os.environ.items() if k != "CM_TEST_BROKERS"}
        done = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=REPO,
            env={**base, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert kinds() == "tansu,kafka" and kinds(CM_TEST_BROKERS="tansu") == "tansu"
