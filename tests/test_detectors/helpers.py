"""Run events through the engine in the order given (arrival order, not sorted)."""

from __future__ import annotations

from typing import Any

from detectors import Engine, Policy, policy_from_mapping
from events import Alert, Rejection, parse_event_dict

COMPANY = {
    "mail_domains": ["acme.example.cn"],
    "switchboard_numbers": ["+862160000000"],
    "allow_numbers": ["95588"],
}


def policy(rules: dict[str, Any] | None = None, **head: Any) -> Policy:
    return policy_from_mapping({"company": COMPANY, "rules": rules or {}, **head})


def run(
    events: list[dict[str, Any]],
    pol: Policy | None = None,
    engine: Engine | None = None,
    state: dict | None = None,
) -> dict[str, Alert]:
    """Final state of every alert, by id; events are read under the engine's policy, as the
    worker reads them (phone region, company currency, input bounds)."""
    engine = engine or Engine(pol or policy())
    context = engine.policy.parse_context()
    state = {} if state is None else state
    alerts: dict[str, Alert] = {}
    for raw in events:
        event = parse_event_dict(raw, context)
        assert not isinstance(event, Rejection), event
        for output in engine.run(event, state):
            if isinstance(output, Alert):
                alerts[output.alert_id] = output
    return alerts


def of_rule(alerts: dict[str, Alert], rule_id: str) -> list[Alert]:
    return [a for a in alerts.values() if a.rule_id == rule_id]


def break_rule_on_key(monkeypatch: Any, detector: type, key: str) -> None:
    """Make ``detector`` raise ``ZeroDivisionError("a bug")`` on copies keyed ``key`` (a bug)."""
    observe = detector.observe

    def broken(self: Any, item: Any, state: Any) -> Any:
        if item.key == key:
            raise ZeroDivisionError("a bug")
        return observe(self, item, state)

    monkeypatch.setattr(detector, "observe", broken)
