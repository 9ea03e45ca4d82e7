"""``compliance-monitor console``: the console as a process of its own, against a ClickHouse
server that the workers write to (several may run behind a load balancer).

It reads the store like the worker's console, publishes audit records to the triage topic
with its own producer (the storing workers write them to ClickHouse), and feeds its event
stream by asking the store every second for what was stored since.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiohttp import web

from detectors import Policy
from sinks import metrics
from sinks.alert_queries import AlertFilter
from sinks.clickhouse import ClickHouseSink
from streams.actions.commands import DecisionCommand, commands_topic
from streams.actions.desk import ActionDesk
from streams.actions.follower import ActionFollower
from streams.console.app import Console, build_console
from streams.settings import Settings

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
OVERLAP = timedelta(seconds=5)
"""How far each poll reaches back: rows stored just before the last poll's clock reading."""


class StoreFollower:
    """Pushes alerts and audit records stored by other processes to the console's stream."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.queries = console.service.queries
        self.since: datetime | None = None
        self._seen: OrderedDict[tuple[str, Any], None] = OrderedDict()

    def _new(self, key: tuple[str, Any]) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > 50_000:
            self._seen.popitem(last=False)
        return True

    async def poll(self) -> None:
        """One round: what was stored since the last round (a little before, deduplicated)."""
        now = await asyncio.to_thread(self.queries.store_time)
        if self.since is None:  # start from now: the queue page loads what is older
            self.since = now
            return
        since, self.since = self.since - OVERLAP, now
        alerts, _ = await asyncio.to_thread(self.queries.list_alerts, AlertFilter(), 500, None, None, since)
        hub = self.console.service.hub
        for alert in reversed(alerts):
            if self._new(("alert", (alert["alert_id"], alert["revision"]))):
                hub.publish("alert", self.console.service.with_overlay(alert))
        records = await asyncio.to_thread(self.queries.audit, None, None, since, 500, True)
        fresh = [r for r in records if self._new(("triage", r["audit_id"]))]
        scopes = await self.console.service.scopes([r["alert_id"] for r in fresh if r["alert_id"]])
        for record in fresh:  # with its alert: the stream shows it to those who may read that
            hub.publish("triage", record, scopes.get(record["alert_id"] or ""))

    async def run(self) -> None:
        while True:
            try:
                await self.poll()
            except Exception:  # a store that does not answer now may answer at the next round
                log.exception("polling the alert store failed")
            await asyncio.sleep(POLL_SECONDS)


def run_console(settings: Settings, policy: Policy) -> None:
    """Serve the console on ``settings.web_host:web_port`` until stopped."""
    from aiokafka import AIOKafkaProducer

    from streams.topics import ensure_topics

    asyncio.run(ensure_topics(settings))  # raises BrokerUnreachableError before anything starts
    sink = ClickHouseSink(  # opens the store and makes sure its tables exist
        settings.clickhouse_dsn,
        alert_ttl_days=settings.alert_ttl_days,
        distress_ttl_days=max(1, policy.privacy.distress_retention.days),
        event_ttl_days=settings.event_ttl_days,
    )
    state: dict[str, Any] = {}

    async def publish(record: Any) -> None:
        await state["producer"].send_and_wait(
            settings.topics.triage,
            orjson.dumps(record.model_dump(mode="json")),
            key=(record.alert_id or "").encode() or None,
        )

    follower = ActionFollower(settings)

    async def send(command: DecisionCommand) -> None:
        await state["producer"].send_and_wait(
            commands_topic(settings.app_id), command.model_dump_json().encode()
        )

    console = build_console(
        settings,
        policy,
        sink=sink,
        publish=publish,
        health=lambda: {"ready": True, "role": "console"},
        desk=ActionDesk(follower, send),
    )

    async def start(app: web.Application) -> None:
        producer = AIOKafkaProducer(  # a record sent twice has one audit_id: the store keeps one
            bootstrap_servers=settings.broker_servers,
            acks="all",
            **settings.kafka.aiokafka_options(),
        )
        await producer.start()
        state["producer"] = producer
        state["follower"] = asyncio.create_task(StoreFollower(console).run())
        await follower.start()

    async def close_streams(app: web.Application) -> None:
        console.service.hub.close()

    async def stop(app: web.Application) -> None:
        state["follower"].cancel()
        await follower.stop()
        await state["producer"].stop()
        sink.close()

    async def metrics_view(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain")

    app = web.Application()
    app.router.add_routes([*console.routes(), web.get("/metrics", metrics_view)])
    app.on_startup.append(start)
    app.on_shutdown.append(close_streams)
    app.on_cleanup.append(stop)
    web.run_app(app, host=settings.web_host, port=settings.web_port, print=None, access_log=None)
