"""The wheel carries its data files and its console script: installed on its own (not editable),
it runs from them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson

from tests.factories import at, sms

REPO = Path(__file__).resolve().parents[1]
PROBE = """
import sys
from importlib.resources import files
import detectors, infra, sinks.clickhouse, streams.console.page, streams.process
root = sys.argv[1]
for module in (detectors, infra, streams.console.page):
    assert module.__file__.startswith(root), module.__file__
assert {p.name for p in sinks.clickhouse.DDL_DIR.iterdir()} >= {"001_alerts.sql", "006_events.sql"}
assert streams.process.DEMO_POLICY.is_file() and str(streams.process.DEMO_POLICY).startswith(root)
assert {p.name for p in streams.console.page.STATIC.iterdir()} >= {"console.html", "console.js"}
"""


def test_the_installed_wheel_runs_backtest_and_schemas_from_its_own_files(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "data", "build", "*.egg-info", "__pycache__", "*_cache"
        ),
    )
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", tmp_path / "dist", source], check=True)
    [wheel] = (tmp_path / "dist").glob("compliance_monitor-*.whl")
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", site, wheel], check=True)

    work = tmp_path / "work"  # not the repository: nothing may be read from it
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "CM_PSEUDONYM_KEY": "wheel-test-key-0123456789"}
    env.pop("CM_POLICY", None)

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *map(str, args)], cwd=work, env=env, capture_output=True, text=True, check=False
        )

    probe = run("-c", PROBE, site)
    assert probe.returncode == 0, probe.stderr

    events = work / "events.jsonl"
    text = "你的网贷已经逾期三个月，今天再不还款就上门催收"
    events.write_bytes(
        orjson.dumps(sms("+8615011112222", "+8613800000001", at(), text, recipient_employee_id="E1"))
    )
    backtest = run("-m", "streams", "backtest", events, "--out", work / "alerts.jsonl")
    assert backtest.returncode == 0, backtest.stderr
    rules = {orjson.loads(line)["rule_id"] for line in (work / "alerts.jsonl").read_bytes().splitlines()}
    assert "harassment.collection_content" in rules, backtest.stderr  # the lexicons came with the wheel

    schemas = run("-m", "streams", "schemas", "--out", work / "schemas")
    assert schemas.returncode == 0, schemas.stderr
    assert (work / "schemas" / "alert.schema.json").is_file()
    policy = run("-m", "streams", "policy", "check", site / "infra" / "policy" / "demo.yaml")
    assert policy.returncode == 0, policy.stderr

    script = subprocess.run(  # the one console script, docs/cli.md
        [site / "bin" / "compliance-monitor", "rules", "--format", "json"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert script.returncode == 0, script.stderr
    assert "harassment.contact_blast" in script.stdout


def test_every_dependency_is_pinned_in_requirements_lock_within_its_range():
    """docs/dependencies.md: versions are pinned in ``requirements.lock``; a dependency added
    to pyproject.toml without ``make lock``, or a pin outside its range, fails here."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    pins = {}
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        pins[canonicalize_name(name)] = version
    assert all(pins.values()), "every line of requirements.lock is NAME==VERSION"
    for requirement in wanted:
        version = pins.get(canonicalize_name(requirement.name))
        assert version and requirement.specifier.contains(version), (requirement, version)
