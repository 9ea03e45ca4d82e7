"""Errors of the detection layer."""

from __future__ import annotations

from events.exceptions import ComplianceMonitorError


class PolicyError(ComplianceMonitorError):
    """The policy file is unreadable or invalid.

    ``problems`` lists every mistake found (``key.path: what is wrong``), so one run of
    ``compliance-monitor policy check`` shows them all. Fix the named keys and restart.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid policy {source}:\n{listing}")


class DetectorError(ComplianceMonitorError):
    """A rule raised on an event: a bug. The event is dead-lettered (worker) or listed
    (``backtest``) with the rule named, and the stream goes on."""

    def __init__(self, rule_id: str, event_uid: str, cause: Exception) -> None:
        self.rule_id = rule_id
        self.event_uid = event_uid
        super().__init__(f"rule {rule_id} failed on {event_uid}: {type(cause).__name__}: {cause}")


class LexiconError(ComplianceMonitorError, ValueError):
    """A lexicon line that cannot be read; the message names the file and line."""
