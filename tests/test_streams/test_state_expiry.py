"""Idle keys are deleted without changing an alert (backtest; the worker shares the engine)."""

from __future__ import annotations

import pytest

import streams.backtest as backtest
from detectors import load_policy
from detectors.privacy import Pseudonymizer
from simulator import write_file
from streams.process import DEMO_POLICY

KEY = Pseudonymizer(b"expiry-test-key-0123456789")


def compared(report):
    return {
        alert_id: (a.rule_id, a.severity, a.subject, a.employee_ids, a.event_ids, a.revision)
        for alert_id, a in report.alerts.items()
    }


def test_expiring_idle_keys_keeps_every_alert_and_bounds_the_state(tmp_path, monkeypatch):
    path = tmp_path / "events.jsonl"
    write_file(path, seed=11, days=20)
    policy = load_policy(DEMO_POLICY)
    kept = backtest.run_backtest(path, policy, pseudonymizer=KEY)
    monkeypatch.setattr(backtest, "EXPIRE_EVERY", 10**12)  # never sweep
    unbounded = backtest.run_backtest(path, policy, pseudonymizer=KEY)
    assert compared(kept) == compared(unbounded) and kept.alerts
    assert kept.expired_keys > 0 and unbounded.expired_keys == 0
    assert kept.live_keys < unbounded.live_keys * 0.7


@pytest.mark.parametrize("family", ["harassment", "conduct", "employee", "contacts", "mail", "cohort"])
def test_a_key_goes_only_once_its_family_horizon_has_passed(family):
    from detectors import Engine

    engine = Engine(policy := load_policy(DEMO_POLICY))
    assert policy.rules  # the demo policy runs every family
    horizon = engine.state_horizon[family]
    bundle = {"last": 1_000_000.0}
    assert not engine.expired(f"{family}|k", bundle, watermark=1_000_000.0 + horizon)
    assert engine.expired(f"{family}|k", bundle, watermark=1_000_000.0 + horizon + 1)


def test_the_horizons_of_docs_architecture():
    """62 days for the monthly sums, 400 for ``contacts.frequent_changes``, each plus the
    allowed lateness (the built-in defaults)."""
    from detectors import Engine
    from detectors.windows import ALLOWED_LATENESS

    horizon = Engine(load_policy(None)).state_horizon
    day = 86_400
    assert horizon["employee"] == horizon["cohort"] == 62 * day + ALLOWED_LATENESS
    assert horizon["contacts"] == 400 * day + ALLOWED_LATENESS
