"""Errors of the sinks."""

from __future__ import annotations

from events.exceptions import ComplianceMonitorError


class SinkError(ComplianceMonitorError):
    """A sink could not write. The rows stay buffered and the caller retries; nothing is dropped."""


class SinkConfigError(SinkError):
    """A sink setting is invalid (for example an unsupported ClickHouse URL). Fix the named setting."""
