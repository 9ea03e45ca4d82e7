"""``compliance-monitor rules``: the catalogue from the code, and docs/rules.md is its output."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from detectors.registry import CATALOGUE
from streams.cli import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_docs_rules_md_is_the_output_for_the_built_in_defaults(monkeypatch):
    monkeypatch.delenv("CM_POLICY", raising=False)
    result = runner.invoke(app, ["rules", "--format", "md"], env={})
    assert result.exit_code == 0, result.output
    assert result.output == (REPO / "docs" / "rules.md").read_text(encoding="utf-8"), (
        "docs/rules.md is stale: regenerate it with `compliance-monitor rules > docs/rules.md`"
    )


def test_json_names_every_rule_with_its_values_and_their_source(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "jurisdiction: us\nrules:\n  harassment.repeated_calls: {min_calls: 7}\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["rules", "--policy", str(policy), "--format", "json"], env={})
    assert result.exit_code == 0, result.output
    entries = {entry["rule_id"]: entry for entry in json.loads(result.output)}
    assert list(entries) == list(CATALOGUE)

    def setting(rule, key):
        return next(s for s in entries[rule]["settings"] if s["key"] == key)

    assert setting("harassment.repeated_calls", "min_calls") | {"meaning": ""} == {
        "key": "min_calls",
        "value": 7,
        "source": "policy",
        "meaning": "",
    }
    assert setting("conduct.quiet_hours", "start")["source"] == "us pack"
    assert setting("conduct.quiet_hours", "start")["value"] == "21:00"
    assert setting("harassment.repeated_calls", "window") == {
        "key": "window",
        "value": "24h",
        "source": "rule default",
        "meaning": "Sliding window of the calls counted; also the alert's suppression period.",
    }
    assert not entries["conduct.daily_attempt_cap"]["enabled"]  # off in the us pack
    assert entries["contacts.colleague_as_emergency_contact"]["hr_records_as_of_arrival"]


def test_an_unknown_format_exits_2():
    assert runner.invoke(app, ["rules", "--format", "html"], env={}).exit_code == 2


def test_help_loads_no_detector_and_the_text_tables_wait_for_first_use():
    """`--help` must start at once: the detectors (and the text normaliser's table of every
    Unicode code point, about 0.25 s to build) load only when a command needs them."""
    import subprocess
    import sys

    probe = (
        "import sys, streams.cli\n"
        "assert not [m for m in sys.modules if m.startswith('detectors')], sorted(sys.modules)\n"
        "import importlib\n"
        "normalize = importlib.import_module('detectors.text.normalize')\n"
        "assert normalize._kept_run.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, cwd=REPO)
