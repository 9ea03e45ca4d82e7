"""A distress alert cannot be joined to an alert that names the employee in clear."""

from __future__ import annotations

from detectors import load_policy
from detectors.privacy import Pseudonymizer
from simulator import write_file
from streams.backtest import run_backtest
from streams.process import DEMO_POLICY


def test_no_distress_alert_shares_an_event_id_with_an_alert_in_clear(tmp_path):
    path = tmp_path / "events.jsonl"
    write_file(path, seed=11, days=10)
    report = run_backtest(
        path, load_policy(DEMO_POLICY), pseudonymizer=Pseudonymizer(b"linkage-test-key-0123")
    )
    distress = [a for a in report.alerts.values() if a.category == "distress"]
    in_clear = [a for a in report.alerts.values() if a.category != "distress"]
    assert {a.rule_id for a in distress} >= {"distress.frequent_small_claims", "distress.risk_score"}
    assert any(a.category == "expense" for a in in_clear)
    hidden = {uid for a in distress for uid in a.event_ids}
    assert all(uid.startswith("ev-") for uid in hidden)
    assert not hidden & {uid for a in in_clear for uid in a.event_ids}
    assert not {e for a in distress for e in a.employee_ids} & {e for a in in_clear for e in a.employee_ids}
