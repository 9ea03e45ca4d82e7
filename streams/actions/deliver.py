"""``compliance-monitor actions deliver``: every state change of every action to the webhooks
of the policy.

Each endpoint reads ``compliance.actions`` with a consumer group of its own
(``<app id>-webhook-<name>``), one record after the other, and commits a record once it is
delivered or dead-lettered. So an endpoint that is down holds up only itself; a restarted
deliverer resumes after the last record done, and sends the one that was in flight again,
with the same ``webhook-id`` for the receiver to drop. A failure that may pass (connection
error, timeout, 429, 5xx) is retried with exponential backoff and jitter for the hook's
``retry_for``; another 4xx (or a redirect) is final. What cannot be delivered goes to
``compliance.actions.deadletter`` with the endpoint, the last status and the tries.

A process of its own, not a worker agent: it talks to outside systems with long retries,
holds the webhook secrets the worker never needs, and is scaled and restarted on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import CommitFailedError
from aiokafka.structs import TopicPartition
from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError
from standardwebhooks import Webhook as Signer

from detectors.action_policy import Webhook
from events import Action
from events.exceptions import ComplianceMonitorError
from sinks import metrics
from streams.actions.http import serve_metrics
from streams.actions.webhooks import request_for, wanted, webhook_id
from streams.settings import Settings

log = logging.getLogger(__name__)

FIRST_DELAY = 0.5
MAX_DELAY = 300.0
OPEN_AFTER = 3
"""Failed tries in a row after which an endpoint's circuit counts as open."""

DELIVERIES = Counter(
    "cm_webhook_deliveries_total",
    "Webhook delivery attempts by endpoint and outcome (delivered, retried, failed)",
    ["endpoint", "outcome"],
    registry=metrics.REGISTRY,
)
DELIVERY_SECONDS = Histogram(
    "cm_webhook_delivery_seconds",
    "From an action's state on the topic to its delivery, by endpoint",
    ["endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
    registry=metrics.REGISTRY,
)
CIRCUIT_OPEN = Gauge(
    "cm_webhook_circuit_open",
    f"1 while an endpoint has failed {OPEN_AFTER} or more tries in a row (its deliveries wait)",
    ["endpoint"],
    registry=metrics.REGISTRY,
)


class WebhookSecretError(ComplianceMonitorError):
    """A webhook's secret variable is unset or unusable; names the variable and the hook."""


def read_secrets(hooks: list[Webhook], environ: dict[str, str] | None = None) -> dict[str, str]:
    """Each hook's secret from its ``secret_env``; :class:`WebhookSecretError` naming the first bad one."""
    environ = dict(os.environ) if environ is None else environ
    secrets = {}
    for hook in hooks:
        value = environ.get(hook.secret_env, "")
        if not value:
            raise WebhookSecretError(f"{hook.secret_env} is not set (secret of webhook {hook.name!r})")
        if hook.format == "standard":
            try:
                Signer(value)
            except Exception as error:
                raise WebhookSecretError(
                    f"{hook.secret_env}: not a Standard Webhooks secret (whsec_ and base64) "
                    f"for webhook {hook.name!r}"
                ) from error
        secrets[hook.name] = value
    return secrets


@dataclass
class Attempt:
    """What one POST came back with."""

    status: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def final(self) -> bool:
        """A failure that trying again will not mend: a 3xx or a 4xx other than 429."""
        return self.status is not None and 300 <= self.status < 500 and self.status != 429


def delivery_fields(endpoint: str, action: Action, attempt: Attempt) -> dict[str, object]:
    """The log fields of a delivery attempt (``extra=``): which hook, which action, what came back."""
    return {
        "endpoint": endpoint,
        "action_id": action.action_id,
        "alert_id": action.alert_id,
        "status": attempt.status,
        "error": attempt.error,
    }


@dataclass
class Endpoint:
    """Delivers the actions topic, in order, to one webhook."""

    hook: Webhook
    secret: str
    settings: Settings
    session: aiohttp.ClientSession
    dead_letter: Callable[[bytes, bytes], Awaitable[None]]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    failures_in_a_row: int = field(default=0, init=False)

    @property
    def group(self) -> str:
        return f"{self.settings.app_id}-webhook-{self.hook.name}"

    async def run(self) -> None:
        longest = self.hook.retry_for + self.hook.timeout + timedelta(seconds=MAX_DELAY + 60)
        consumer = AIOKafkaConsumer(
            self.settings.topics.actions,
            group_id=self.group,
            bootstrap_servers=self.settings.broker_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # one record may be retried for retry_for without a poll: stay in the group meanwhile
            max_poll_interval_ms=int(longest.total_seconds() * 1000),
            **self.settings.kafka.aiokafka_options(),
        )
        await consumer.start()
        try:
            async for record in consumer:
                await self.take(record.value, record.timestamp / 1000)
                tp = TopicPartition(record.topic, record.partition)
                try:
                    await consumer.commit({tp: record.offset + 1})
                except CommitFailedError:  # the partition moved on meanwhile: its new owner sends again
                    log.warning("webhook %s: %s[%d] moved to another deliverer", self.hook.name, *tp)
        finally:
            await consumer.stop()

    async def take(self, value: bytes | None, published: float) -> None:
        """Deliver one record of the actions topic, if it is an action this hook wants."""
        if value is None:
            return
        try:
            action = Action.model_validate_json(value)
        except ValidationError:
            log.error("webhook %s: skipping a record that is not an action", self.hook.name)
            return
        if wanted(self.hook, action):
            await self.deliver(action, published)

    async def deliver(self, action: Action, published: float) -> None:
        """POST until delivered, final, or ``retry_for`` has passed (then dead-lettered)."""
        name = self.hook.name
        started, tries, delay = time.monotonic(), 0, FIRST_DELAY
        retry_for = self.hook.retry_for.total_seconds()
        while True:
            tries += 1
            attempt = await self.post(action)
            if attempt.delivered:
                DELIVERIES.labels(name, "delivered").inc()
                DELIVERY_SECONDS.labels(name).observe(max(0.0, time.time() - published))
                self.failures_in_a_row = 0
                CIRCUIT_OPEN.labels(name).set(0)
                return
            self.failures_in_a_row += 1
            CIRCUIT_OPEN.labels(name).set(int(self.failures_in_a_row >= OPEN_AFTER))
            if attempt.final or time.monotonic() - started + delay > retry_for:
                DELIVERIES.labels(name, "failed").inc()
                await self._dead_letter(action, attempt, tries)
                return
            DELIVERIES.labels(name, "retried").inc()
            log.warning(
                "webhook %s: %s for %s (try %d), again in about %.1fs",
                name,
                attempt.status or attempt.error,
                webhook_id(action),
                tries,
                delay,
                extra=delivery_fields(name, action, attempt),
            )
            await self.sleep(delay / 2 + random.uniform(0, delay / 2))  # noqa: S311 - jitter, not secrecy
            delay = min(delay * 2, MAX_DELAY)

    async def post(self, action: Action) -> Attempt:
        body, headers = request_for(self.hook, action, self.secret, datetime.now(UTC))
        timeout = aiohttp.ClientTimeout(total=self.hook.timeout.total_seconds())
        try:
            async with self.session.post(
                str(self.hook.url), data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                await response.read()
                return Attempt(response.status)
        except (TimeoutError, aiohttp.ClientError) as error:
            return Attempt(None, type(error).__name__)

    async def _dead_letter(self, action: Action, attempt: Attempt, tries: int) -> None:
        log.error(
            "webhook %s: giving up on %s after %d tries (%s)",
            self.hook.name,
            webhook_id(action),
            tries,
            attempt.status or attempt.error,
            extra=delivery_fields(self.hook.name, action, attempt),
        )
        record = {
            "endpoint": self.hook.name,
            "webhook_id": webhook_id(action),
            "action_id": action.action_id,
            "state": action.state,
            "last_status": attempt.status,
            "error": attempt.error,
            "tries": tries,
            "failed_at": datetime.now(UTC).isoformat(),
            "action": action.model_dump(mode="json"),
        }
        await self.dead_letter(action.action_id.encode(), orjson.dumps(record))


async def deliver_actions(
    settings: Settings, hooks: list[Webhook], secrets: dict[str, str], metrics_at: tuple[str, int] | None
) -> None:
    """Run one :class:`Endpoint` per hook until cancelled."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.broker_servers, acks="all", **settings.kafka.aiokafka_options()
    )
    await producer.start()

    async def dead_letter(key: bytes, value: bytes) -> None:
        await producer.send_and_wait(settings.topics.actions_deadletter, value, key=key)

    runner = None
    if metrics_at is not None:
        runner = await serve_metrics(metrics_at, lambda: {"ready": True, "webhooks": [h.name for h in hooks]})
    async with aiohttp.ClientSession() as session:
        endpoints = [Endpoint(h, secrets[h.name], settings, session, dead_letter) for h in hooks]
        tasks = [asyncio.create_task(e.run(), name=f"webhook-{e.hook.name}") for e in endpoints]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # an endpoint that crashed stops the process (and is restarted)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if runner is not None:
                await runner.cleanup()
            await producer.stop()
