"""HTTP endpoints on the worker's web port: ``/metrics``, ``/healthz``, ``/readyz`` (the same
document, 503 while not ready: for readiness probes) and, in the process
that owns the alert store, the console (``streams.console``) when ``CM_USERS`` is set."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from detectors import Policy
from sinks import metrics
from sinks.clickhouse import ClickHouseSink
from streams.agents import Pipeline
from streams.settings import Settings

log = logging.getLogger(__name__)


def register_views(pipeline: Pipeline, settings: Settings, policy: Policy) -> None:
    """Attach the HTTP views to the pipeline's app (and none of Faust's own)."""
    app = pipeline.app
    # Faust serves /router, /table/{name}/{key} (table values: detector state, the company
    # directory) and an index by default, without authentication: none of them here.
    app.web.blueprints._enabled.clear()

    @app.page("/metrics")
    async def metrics_view(web, request):
        return web.bytes(metrics.render(), content_type="text/plain")

    @app.page("/readyz")
    async def ready_view(web, request):
        status = pipeline.status()  # /healthz's document; 503 while it is not ready (probes)
        return web.json(status, status=200 if status["ready"] else 503)

    sink = pipeline.sink
    if not isinstance(sink, ClickHouseSink) or settings.users is None:
        if isinstance(sink, ClickHouseSink):
            log.warning("console off: CM_USERS is not set, so this port serves only /healthz and /metrics")

        @app.page("/healthz")
        async def health_view(web, request):
            return web.json(pipeline.status())

        return
    from streams.actions.commands import DecisionCommand, commands_topic
    from streams.actions.desk import ActionDesk
    from streams.actions.follower import ActionFollower
    from streams.console.app import build_console

    async def publish(record: Any) -> None:
        await pipeline.publish_audit(orjson.dumps(record.model_dump(mode="json")), record.alert_id)

    follower = ActionFollower(settings)

    async def send(command: DecisionCommand) -> None:
        outbox = pipeline.outbox()
        await outbox.send(commands_topic(settings.app_id), command.model_dump_json().encode())
        await outbox.confirm()

    @app.task
    async def follow_actions() -> None:
        await follower.start()

    console = build_console(
        settings,
        policy,
        sink=sink,
        publish=publish,
        store_status=pipeline.store_status,
        health=pipeline.status,
        desk=ActionDesk(follower, send),
    )
    pipeline.on_stored.append(console.service.after_store)

    async def close_streams(_: Any) -> None:  # else shutdown waits 60 s for each open stream
        console.service.hub.close()

    app.web.web_app.on_shutdown.append(close_streams)
    app.web.web_app.router.add_routes(console.routes())
