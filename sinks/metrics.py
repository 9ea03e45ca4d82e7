"""Prometheus metrics of the pipeline, served by the worker at ``/metrics``."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # process_resident_memory_bytes, process_cpu_seconds_total, ...
PlatformCollector(registry=REGISTRY)  # python_info

EVENTS_CONSUMED = Counter(
    "cm_events_consumed_total",
    "Input messages read, by topic: processed + dead-lettered + lost dead letters",
    ["topic"],
    registry=REGISTRY,
)
EVENTS_PROCESSED = Counter(
    "cm_events_processed_total",
    "Input events validated and routed to the detectors, by topic and event type",
    ["topic", "type"],
    registry=REGISTRY,
)
KEYED_SENT = Counter(
    "cm_keyed_sent_total",
    "Keyed copies forwarded to the detectors, by key family",
    ["family"],
    registry=REGISTRY,
)
EVENTS_REJECTED = Counter(
    "cm_events_rejected_total",
    "Messages sent to the dead-letter topic, by reason and the topic they were read from",
    ["reason", "topic"],
    registry=REGISTRY,
)
DEADLETTER_FAILURES = Counter(
    "cm_deadletter_failures_total",
    "Rejected messages the dead-letter topic refused too: logged with topic, partition and offset",
    ["topic"],
    registry=REGISTRY,
)
ALERTS = Counter(
    "cm_alerts_total",
    "Alert revisions raised, by rule and severity",
    ["rule_id", "severity"],
    registry=REGISTRY,
)
ACTIONS = Counter("cm_actions_total", "IT action requests published, by kind", ["kind"], registry=REGISTRY)
ACTION_STATES = Counter(
    "cm_action_states_total",
    "IT action state changes published by the action keeper, by kind and new state",
    ["kind", "state"],
    registry=REGISTRY,
)
ACTIONS_IN_FORCE = Gauge(
    "cm_actions_in_force", "IT actions pending approval or active (on the keeper)", registry=REGISTRY
)
ACTION_DECISIONS_REFUSED = Counter(
    "cm_action_decisions_refused_total",
    "Decisions the keeper did not apply (unknown action, or not allowed from its state)",
    registry=REGISTRY,
)
DETECTOR_SECONDS = Histogram(
    "cm_detector_seconds",
    "Time the detectors of one key family take per event",
    ["family"],
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5),
    registry=REGISTRY,
)
SINK_FLUSH_SECONDS = Histogram("cm_sink_flush_seconds", "Time of one sink flush", ["sink"], registry=REGISTRY)
SINK_FLUSH_FAILURES = Counter(
    "cm_sink_flush_failures_total",
    "Sink flushes that failed (rows kept and retried)",
    ["sink"],
    registry=REGISTRY,
)
SINK_ROWS = Counter("cm_sink_rows_total", "Rows written by a sink", ["sink"], registry=REGISTRY)
SINK_PENDING = Gauge(
    "cm_sink_pending_rows", "Rows read from the alerts topic and not yet written", ["sink"], registry=REGISTRY
)
SINK_FAILING_SINCE = Gauge(
    "cm_sink_failing_since_seconds",
    "Unix time of the first failed flush of the current failure streak (0 while writes succeed)",
    ["sink"],
    registry=REGISTRY,
)
INVALID_RECORDS = Counter(
    "cm_invalid_records_total",
    "Records of the worker's own topics that could not be read (skipped and logged), by topic",
    ["topic"],
    registry=REGISTRY,
)
STATE_KEYS = Gauge(
    "cm_state_keys",
    "Keys with detector state on this worker's partitions, at the last sweep",
    registry=REGISTRY,
)
STATE_KEYS_EXPIRED = Counter(
    "cm_state_keys_expired_total",
    "Keys whose detector state was deleted, idle past their family's horizon",
    registry=REGISTRY,
)
OTHER_CURRENCY_CLAIMS = Counter(
    "cm_other_currency_claims_total",
    "Expense claims in a currency other than the company's: not compared with amount thresholds",
    ["currency"],
    registry=REGISTRY,
)
EVENT_TIME_LAG = Gauge(
    "cm_event_time_lag_seconds",
    "Wall clock minus event time of the newest event read, by topic",
    ["topic"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "cm_consumer_lag",
    "Records on the broker not yet read by this worker, per assigned partition of a topic its agents read",
    ["topic", "partition"],
    registry=REGISTRY,
)
BUILD_INFO = Gauge(
    "cm_build_info",
    "Always 1; the labels say which build runs: the project's, Python's and Faust's versions",
    ["version", "python", "faust"],
    registry=REGISTRY,
)


def _installed(distribution: str) -> str:
    """The installed version of ``distribution``, or ``unknown`` (a source tree not installed)."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


def build_labels() -> dict[str, str]:
    """The labels of ``cm_build_info``: this project's, Python's and Faust's versions."""
    return {
        "version": _installed("compliance-monitor"),
        "python": platform.python_version(),
        "faust": _installed("faust-streaming"),
    }


BUILD_INFO.labels(**build_labels()).set(1)


@cache
def child(metric: Counter | Gauge | Histogram, *labels: str) -> Counter | Gauge | Histogram:
    """``metric.labels(*labels)``, looked up once: the worker counts every event (1.3 -> 0.3 µs)."""
    return metric.labels(*labels)


def declare_worker_series(inputs: Iterable[str], sinks: Iterable[str], action_kinds: Iterable[str]) -> None:
    """Create at 0 the series a healthy worker may never touch (failures, actions): a rate or
    sum over them is then 0 on the dashboards, not "no data", and alerts see them from the start.

    ``inputs``: input topics read; ``sinks``: sink names; ``action_kinds``: kinds it may request.
    """
    for topic in inputs:
        child(EVENTS_CONSUMED, topic)
        child(DEADLETTER_FAILURES, topic)
    for sink in sinks:
        child(SINK_FLUSH_FAILURES, sink)
        child(SINK_ROWS, sink)
        child(SINK_PENDING, sink)
        child(SINK_FAILING_SINCE, sink)
    for kind in action_kinds:
        child(ACTIONS, kind)


def totals(text: str) -> dict[str, float]:
    """Every ``cm_`` sample family of a ``/metrics`` page summed over its labels (bench, tests)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("cm_"):
            name, _, value = line.rpartition(" ")
            family = name.split("{", 1)[0]
            out[family] = out.get(family, 0.0) + float(value)
    return out


def render() -> bytes:
    """The metrics in Prometheus text format."""
    return generate_latest(REGISTRY)
