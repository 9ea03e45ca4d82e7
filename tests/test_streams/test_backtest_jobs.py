"""``backtest --jobs N`` gives what ``--jobs 1`` gives, apart from ``detected_at``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detectors import load_policy
from detectors.privacy import Pseudonymizer
from simulator import write_file
from streams import backtest_jobs
from streams.backtest import BacktestReport, run_backtest
from streams.cli import app

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "infra" / "policy" / "demo.yaml"
KEY = "test-key-0123456789abcdef"
DETECTED_AT = re.compile(rb',"detected_at":"[^"]*"')
RATE = re.compile(r"\(\S+ events/s, \S+ s, \d+ jobs?\)")


@pytest.fixture(scope="module", params=[(99, 6), (3, 14)], ids=["seed99-6days", "seed3-14days"])
def noisy(request, tmp_path_factory) -> Path:
    """A noisy simulated file: duplicates, broken and out-of-order lines among several days."""
    seed, days = request.param
    path = tmp_path_factory.mktemp("jobs") / f"seed{seed}.jsonl"
    write_file(path, seed=seed, days=days, noise=0.01)
    return path


def _backtest(events: Path, out_dir: Path, jobs: int) -> tuple[bytes, bytes, str]:
    """Alerts (without ``detected_at``), actions and the summary (without the rate) of one run."""
    out, actions = out_dir / f"alerts-{jobs}.jsonl", out_dir / f"actions-{jobs}.jsonl"
    args = ["backtest", str(events), "--policy", str(POLICY), "--out", str(out), "--actions", str(actions)]
    result = CliRunner().invoke(app, [*args, "--jobs", str(jobs)], env={"CM_PSEUDONYM_KEY": KEY})
    assert result.exit_code == 0, result.output
    summary = RATE.sub("(rate)", result.output)
    return DETECTED_AT.sub(b"", out.read_bytes()), actions.read_bytes(), summary


def test_jobs_write_the_same_alerts_actions_and_summary_as_one_job(noisy, tmp_path):
    alerts, actions, summary = _backtest(noisy, tmp_path, 1)
    assert alerts.count(b"\n") > 100 and actions and b"detected_at" not in alerts
    assert "rejected not_json" in summary and "distress.risk_score" in summary
    for jobs in (2, 3):
        assert _backtest(noisy, tmp_path, jobs) == (alerts, actions, summary), jobs


def _fields(report: BacktestReport) -> dict:
    return {
        "alerts": [a.model_dump(exclude={"detected_at"}) for a in report.alerts.values()],
        "actions": [a.model_dump() for a in report.actions.values()],
        "pseudonyms": list(report.pseudonyms.items()),
        "errors": [(line, e.rule_id, e.event_uid, str(e)) for line, e in report.detector_errors],
        "rest": (report.lines, report.events, report.rejected, report.other_currency),
        "keys": (report.live_keys, report.expired_keys),
    }


def test_jobs_report_the_same_pseudonyms_keys_and_rule_errors_in_the_same_order(noisy, monkeypatch):
    """Every field of the report, insertion order included; rules that raise on some events
    (in every job: the forked jobs inherit the patch) are listed the same."""
    from detectors.conduct.quiet_hours import QuietHours
    from detectors.expense.duplicate_claim import DuplicateClaim

    def failing(original):
        def observe(self, item, state):
            if item.event.uid.endswith(("3", "7")):
                raise ValueError(f"no {item.event.uid[-1]}")
            return original(self, item, state)

        return observe

    for rule in (QuietHours, DuplicateClaim):
        monkeypatch.setattr(rule, "observe", failing(rule.observe))
    policy = load_policy(POLICY)
    hidden = Pseudonymizer(KEY.encode())
    one = _fields(run_backtest(noisy, policy, pseudonymizer=hidden))
    assert one["errors"] and one["pseudonyms"] and one["keys"][1]
    assert {rule for _, rule, _, _ in one["errors"]} == {"conduct.quiet_hours", "expense.duplicate_claim"}
    for jobs in (2, 3):
        assert _fields(run_backtest(noisy, policy, pseudonymizer=hidden, jobs=jobs)) == one, jobs


def test_each_job_runs_the_keys_the_keyed_topic_would_give_it():
    """Copies go by Kafka's murmur2 of the key, as the worker partitions its keyed topic."""
    from aiokafka.partitioner import murmur2

    keys = [f"+86150{i:06d}" for i in range(200)] + [f"E{i}" for i in range(200)]
    for jobs in (2, 3, 4):
        owners = [backtest_jobs.owner(key, jobs) for key in keys]
        assert owners == [(murmur2(key.encode()) & 0x7FFFFFFF) % jobs for key in keys]
        assert set(owners) == set(range(jobs))


def test_a_job_that_fails_fails_the_backtest_with_its_traceback():
    def work(job: int) -> backtest_jobs.Share:
        if job == 1:
            raise KeyError("lost in job 1")
        return backtest_jobs.Share()

    with pytest.raises(RuntimeError, match=r"(?s)backtest job 1 failed: Traceback.*lost in job 1"):
        backtest_jobs.in_jobs(2, work)
