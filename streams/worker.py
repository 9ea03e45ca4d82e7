"""Build the whole pipeline for a worker process and run it."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any, get_args

import faust

from detectors import Engine, Policy
from events.alert import ActionKind
from sinks import metrics
from sinks.clickhouse import ClickHouseSink
from streams.actions.keeper import ActionKeeper
from streams.agents import Pipeline
from streams.app import create_app
from streams.input_reader import InputReader
from streams.lag import ConsumerLag
from streams.logs import faust_logging_config
from streams.settings import Settings
from streams.tables import declare_tables
from streams.topics import declare_topics, ensure_topics
from streams.web import register_views

log = logging.getLogger(__name__)


def build_pipeline(settings: Settings, policy: Policy) -> Pipeline:
    """App, topics, tables, sink, agents and views for ``settings`` and its role."""
    app = create_app(settings)
    sink = None
    if settings.role in ("all", "store"):
        sink = ClickHouseSink(
            settings.clickhouse_dsn,
            alert_ttl_days=settings.alert_ttl_days,
            distress_ttl_days=max(1, policy.privacy.distress_retention.days),
            event_ttl_days=settings.event_ttl_days,
        )
    pipeline = Pipeline(
        app,
        Engine(policy, pseudonymizer=settings.pseudonymizer()),
        declare_topics(app, settings),
        declare_tables(app, settings) if settings.role in ("all", "detect") else None,
        sink,
        flush_rows=settings.flush_rows,
        flush_interval=settings.flush_interval,
        keyed_partitions=settings.partitions,
        role=settings.role,
        sweep_interval=settings.state_sweep_interval,
    )
    detecting = settings.role in ("all", "detect")
    if detecting:
        inputs = [topic.get_topic_name() for topic in pipeline.topics.inputs.values()]
        recovery = pipeline.app.tables.recovery
        reader = InputReader(settings, inputs, pipeline.route_batch, recovery.completed.wait)
        pipeline.input_reader = reader
        pipeline.app.late_services.append(reader)
        ActionKeeper(
            pipeline.app,
            settings,
            policy,
            pipeline.topics.action_commands,
            pipeline.outbox,
        )
    metrics.declare_worker_series(
        inputs=[topic.get_topic_name() for topic in pipeline.topics.inputs.values()] if detecting else [],
        sinks=[sink.name] if sink is not None else [],
        action_kinds=get_args(ActionKind) if detecting else [],
    )
    ConsumerLag(pipeline.app, [pipeline.input_reader] if pipeline.input_reader else [])
    register_views(pipeline, settings, policy)
    return pipeline


def run_worker(settings: Settings, policy: Policy, loglevel: str = "warning") -> None:
    """Run a Faust worker until it is stopped (SIGINT/SIGTERM)."""
    import uvloop

    asyncio.run(ensure_topics(settings))  # raises BrokerUnreachableError before anything starts
    uvloop.install()
    pipeline = build_pipeline(settings, policy)
    # Long-lived start-up objects leave the collector's generations, and the young generation
    # is scanned every 50,000 allocations instead of 700: per-event objects are acyclic and
    # freed by reference counting (see streams.backtest.relaxed_gc, measured there).
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    logging_config = faust_logging_config(settings.log_format, loglevel)
    faust_worker(pipeline.app, loglevel, logging_config).execute_from_commandline()


def faust_worker(app: faust.App, loglevel: str, logging_config: dict[str, Any] | None = None) -> faust.Worker:
    """Faust's worker without its start-up spinner.

    To turn the spinner on every log record, Faust sets the root logger to DEBUG for good (the
    spinner's handler stays, stopped, after start-up): every debug call of aiokafka, Faust and
    mode then built a record that no handler printed, 2.7 % of the worker's main thread (py-spy).
    """
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, logging_config=logging_config)
    worker.spinner = None
    return worker
