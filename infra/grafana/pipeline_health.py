"""The "Pipeline health" dashboard: the workers' and the action deliverer's metrics (Prometheus).

Metric names are the ones ``sinks/metrics.py`` registers; ``cm:events_processed:rate5m`` and
``cm:consumer_lag:sum`` are the recording rules of ``infra/prometheus/rules.yml`` (group
``compliance-monitor-recording``), used where a panel would repeat their expression. The
workers are scraped as job ``compliance-monitor``, the deliverer as ``compliance-monitor-deliver``.
"""

from __future__ import annotations

from infra.grafana.model import (
    PROMETHEUS,
    Grid,
    Json,
    dashboard,
    promql,
    query_variable,
    stat,
    table,
    timeseries,
)

UID = "cm-pipeline-health"
WORKER_JOB = "compliance-monitor"
DELIVER_JOB = "compliance-monitor-deliver"
WORKER = '{job="$job", instance=~"$instance"}'
DELIVER = '{job="' + DELIVER_JOB + '"}'
RATE = "[$__rate_interval]"
STORE = '{job="$job", instance=~"$instance", sink="clickhouse"}'


def _quantiles(metric: str, by: str, selector: str) -> list[Json]:
    group = f"le, {by}" if by else "le"
    legend = "{{" + by + "}} " if by else ""
    return [
        promql(
            f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{selector}{RATE})))",
            legend=f"{legend}p{int(q * 100)}",
            ref=ref,
        )
        for q, ref in ((0.5, "A"), (0.99, "B"))
    ]


def _variables() -> list[Json]:
    job = query_variable("job", "Job", PROMETHEUS, "label_values(cm_build_info, job)", multi=False)
    job["current"] = {"text": WORKER_JOB, "value": WORKER_JOB}
    instance = query_variable(
        "instance", "Worker", PROMETHEUS, 'label_values(cm_build_info{job="$job"}, instance)', all_value=".*"
    )
    return [job, instance]


def _panels() -> Grid:
    grid = Grid()
    grid.row("Throughput")
    grid.add(
        timeseries(
            "Events processed per second by type",
            "Valid input events forwarded to the detectors, all workers "
            "(recording rule cm:events_processed:rate5m).",
            [promql("cm:events_processed:rate5m", legend="{{type}}")],
            unit="ops",
            stacked=True,
        ),
        12,
    )
    grid.add(
        timeseries(
            "Events consumed per second by topic",
            "Records read from the input topics by the selected workers.",
            [promql(f"sum by (topic) (rate(cm_events_consumed_total{WORKER}{RATE}))", legend="{{topic}}")],
            unit="ops",
        ),
        12,
    )
    grid.add(
        timeseries(
            "Rejected events (dead letters) by reason",
            "Input records sent to the dead-letter topic, per reason.",
            [promql(f"sum by (reason) (rate(cm_events_rejected_total{WORKER}{RATE}))", legend="{{reason}}")],
            unit="ops",
        ),
        8,
    )
    grid.add(
        timeseries(
            "Dead letters not written",
            "Rejected records that could not be written to the dead-letter topic.",
            [
                promql(
                    f"sum by (topic) (rate(cm_deadletter_failures_total{WORKER}{RATE}))", legend="{{topic}}"
                )
            ],
            unit="ops",
        ),
        8,
    )
    grid.add(
        timeseries(
            "Alerts per second by rule",
            "Alert revisions the detectors published.",
            [promql(f"sum by (rule_id) (rate(cm_alerts_total{WORKER}{RATE}))", legend="{{rule_id}}")],
            unit="ops",
            stacked=True,
        ),
        8,
    )
    grid.row("Lag")
    grid.add(
        timeseries(
            "Consumer lag per topic and partition",
            "Records on the broker not yet read by the worker that holds the partition.",
            [
                promql(
                    f"sum by (topic, partition) (cm_consumer_lag{WORKER})", legend="{{topic}}[{{partition}}]"
                )
            ],
        ),
        12,
    )
    grid.add(
        timeseries(
            "Consumer lag per topic",
            "All partitions of a topic together (recording rule cm:consumer_lag:sum).",
            [promql("cm:consumer_lag:sum", legend="{{topic}}")],
        ),
        6,
    )
    grid.add(
        timeseries(
            "Event-time lag",
            "Wall clock minus the time of the last event read, per input topic.",
            [promql(f"max by (topic) (cm_event_time_lag_seconds{WORKER})", legend="{{topic}}")],
            unit="s",
        ),
        6,
    )
    grid.row("Detectors and store")
    grid.add(
        timeseries(
            "Detector time per family",
            "Median and 99th percentile of the time the detectors of a family take per keyed event.",
            _quantiles("cm_detector_seconds", "family", WORKER),
            unit="s",
        ),
        12,
    )
    grid.add(
        timeseries(
            "ClickHouse flush time",
            "Median and 99th percentile of one flush of the alert store.",
            _quantiles("cm_sink_flush_seconds", "", STORE),
            unit="s",
        ),
        6,
    )
    grid.add(
        timeseries(
            "ClickHouse flush failures",
            "Failed flushes per second; the rows stay buffered and are written again.",
            [
                promql(
                    f"sum(rate(cm_sink_flush_failures_total{STORE}{RATE}))",
                    legend="failures",
                )
            ],
            unit="ops",
        ),
        6,
    )
    grid.add(
        timeseries(
            "Rows waiting for the store",
            "Rows buffered and not yet written, and for how long flushes have been failing.",
            [
                promql(f"sum(cm_sink_pending_rows{STORE})", legend="pending rows"),
                promql(
                    f"max(cm_sink_failing_since_seconds{STORE})",
                    legend="failing for (s)",
                    ref="B",
                ),
            ],
        ),
        12,
    )
    grid.add(
        timeseries(
            "Detector state keys",
            "Keys held in the detectors' state tables.",
            [promql(f"sum by (instance) (cm_state_keys{WORKER})", legend="{{instance}}")],
        ),
        12,
    )
    grid.row("IT actions")
    grid.add(
        timeseries(
            "Webhook deliveries by outcome",
            "Action deliveries: delivered, retried and failed (job compliance-monitor-deliver).",
            [
                promql(
                    f"sum by (outcome) (rate(cm_webhook_deliveries_total{DELIVER}{RATE}))",
                    legend="{{outcome}}",
                )
            ],
            unit="ops",
        ),
        12,
    )
    grid.add(
        timeseries(
            "Actions requested by kind",
            "IT action requests from the detectors.",
            [promql(f"sum by (kind) (rate(cm_actions_total{WORKER}{RATE}))", legend="{{kind}}")],
            unit="ops",
        ),
        6,
    )
    grid.add(
        stat(
            "Open webhook circuits",
            "Endpoints whose circuit breaker is open (deliveries paused).",
            [promql(f"sum(cm_webhook_circuit_open{DELIVER}) or vector(0)", legend="open")],
        ),
        6,
    )
    grid.row("Processes")
    grid.add(
        timeseries(
            "Resident memory",
            "Resident set size of each worker process.",
            [promql(f"process_resident_memory_bytes{WORKER}", legend="{{instance}}")],
            unit="bytes",
        ),
        8,
    )
    grid.add(
        timeseries(
            "CPU",
            "CPU seconds per second of each worker process (1 = one core).",
            [promql(f"rate(process_cpu_seconds_total{WORKER}{RATE})", legend="{{instance}}")],
            unit="percentunit",
        ),
        8,
    )
    grid.add(
        table(
            "Build",
            "Version, Python and Faust of each worker (cm_build_info).",
            [promql(f"cm_build_info{WORKER}", instant=True)],
            transformations=[
                {
                    "id": "organize",
                    "options": {
                        "excludeByName": {"Time": True, "Value": True, "__name__": True},
                        "indexByName": {"instance": 0, "version": 1, "python": 2, "faust": 3, "job": 4},
                    },
                }
            ],
        ),
        8,
    )
    return grid


def build() -> Json:
    """The dashboard document."""
    return dashboard(
        UID,
        "Pipeline health",
        "Throughput, lag, detector and store timings, IT action deliveries and processes "
        "of compliance-monitor.",
        _panels(),
        _variables(),
        tags=["compliance-monitor", "prometheus"],
        time_from="now-6h",
        refresh="30s",
    )
