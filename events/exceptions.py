"""The root of the project's own errors (here because every layer may import ``events``)."""

from __future__ import annotations


class ComplianceMonitorError(Exception):
    """Root of the project's own errors: ``except ComplianceMonitorError`` catches any of them."""
