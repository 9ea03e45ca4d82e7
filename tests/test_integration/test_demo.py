"""``make demo``'s command: Tansu, chDB, a worker and the simulator, alerts within its run."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.broker


def test_demo_starts_everything_prints_where_to_look_shows_alerts_and_stops_by_itself(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in ("CM_PSEUDONYM_KEY", "CM_POLICY", "CM_KAFKA_BROKER")
    }
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "streams", "demo", "--duration", "90", "--data-dir", str(data)],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, (out[-3000:], result.stderr[-3000:])
    assert re.search(r"console\s+http://127\.0\.0\.1:\d+/", out), out[:2000]
    for role in ("officer", "hr", "it", "auditor", "admin"):  # one demo login per role
        assert re.search(rf"\S+\s+{role}\s+password \S{{8,}}", out), (role, out[:2000])
    assert (data / "users.yaml").is_file()
    assert "/metrics" in out and "/api/v1/alerts" in out and str(data) in out
    assert "Tansu at " in out and str(data / "worker.log") in out
    # without CM_PSEUDONYM_KEY the demo generated one: the worker ran and alerts were printed
    assert re.search(r"^\s*(low|medium|high|critical) new ", out, re.M), out[-3000:]
    assert (data / "clickhouse").is_dir() and (data / "worker.log").is_file()
