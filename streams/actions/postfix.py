"""``compliance-monitor postfix-policy``: Postfix's SMTP access policy delegation, answered from
the block list of ``compliance.actions``.

Postfix sends ``name=value`` lines ending with an empty line and reuses the connection; the
service answers ``action=REJECT <text>`` for a blocked sender, else ``action=DUNNO``. Until
the actions topic has been read to its end it answers ``DUNNO`` (fail open) or
``DEFER_IF_PERMIT`` (fail closed). See docs/actions.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from prometheus_client import Counter, Gauge

from events import Action
from sinks import metrics
from streams.actions.blocklist import BlockList
from streams.actions.follower import ActionFollower
from streams.actions.http import serve_metrics
from streams.settings import Settings

log = logging.getLogger(__name__)

FailMode = Literal["open", "closed"]
NOT_READY = {"open": b"DUNNO", "closed": b"DEFER_IF_PERMIT Compliance policy not ready"}
MAX_LINES = 200
"""Lines in one request; Postfix sends about 30 attributes."""
BACKLOG = 1024
"""Connections waiting to be accepted: a mail burst opens hundreds at once (asyncio's default
of 100 made the 1,001st client wait for a SYN retry, 1 to 3 s, in ``bench postfix``)."""
IDLE_SECONDS = 600.0
"""A connection silent this long is closed (Postfix drops idle ones after 300 s)."""

REQUESTS = Counter(
    "cm_postfix_requests_total",
    "Policy requests answered, by answer (reject, dunno, not_ready)",
    ["answer"],
    registry=metrics.REGISTRY,
)
NOT_READY_MODE = Gauge(
    "cm_postfix_not_ready",
    "1 while the block list is not loaded yet; the label says how such requests are answered",
    ["fail"],
    registry=metrics.REGISTRY,
)
BLOCKS = Gauge("cm_postfix_blocks", "Active blocks held (senders and domains)", registry=metrics.REGISTRY)


class PolicyService:
    """Answers policy requests from a :class:`BlockList` kept by an :class:`ActionFollower`."""

    def __init__(
        self,
        follower: ActionFollower,
        blocks: BlockList,
        reject_text: str,
        fail: FailMode = "open",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.follower = follower
        self.blocks = blocks
        self.reject = b"REJECT " + reject_text.encode("ascii")
        self.fail = fail
        self.clock = clock
        self._answers = {name: REQUESTS.labels(name) for name in ("reject", "dunno", "not_ready")}
        NOT_READY_MODE.labels(fail).set(1)

    def answer(self, attributes: dict[bytes, bytes]) -> bytes:
        """The ``action=`` value for one request."""
        if not self.follower.loaded.is_set():
            self._answers["not_ready"].inc()
            return NOT_READY[self.fail]
        sender = attributes.get(b"sender", b"").decode("utf-8", "replace")
        if sender and self.blocks.blocked(sender, self.clock()):
            self._answers["reject"].inc()
            return self.reject
        self._answers["dunno"].inc()
        return b"DUNNO"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One Postfix connection: requests until it closes."""
        try:
            while True:
                attributes: dict[bytes, bytes] = {}
                for _ in range(MAX_LINES + 1):
                    line = await asyncio.wait_for(reader.readline(), IDLE_SECONDS)
                    if not line:
                        return
                    line = line.rstrip(b"\r\n")
                    if not line:
                        break
                    name, _, value = line.partition(b"=")
                    attributes[name] = value
                else:
                    log.warning("closing a policy connection: more than %d lines in a request", MAX_LINES)
                    return
                writer.write(b"action=" + self.answer(attributes) + b"\n\n")
                await writer.drain()
        except (ConnectionError, TimeoutError, asyncio.LimitOverrunError, ValueError) as error:
            log.warning("policy connection ended: %s", type(error).__name__)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def split_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); ``ValueError`` naming what is wrong."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: expected HOST:PORT, e.g. 127.0.0.1:10040")
    return host.strip("[]"), int(port)


async def serve_policy(
    settings: Settings,
    listen: tuple[str, int],
    reject_text: str,
    fail: FailMode,
    metrics_at: tuple[str, int] | None,
) -> None:
    """Run the service (and its ``/metrics`` and ``/healthz``) until cancelled."""
    blocks = BlockList()

    def take(action: Action) -> None:
        blocks.update(action)
        BLOCKS.set(len(blocks))

    follower = ActionFollower(settings, on_action=take)
    service = PolicyService(follower, blocks, reject_text, fail)
    await follower.start()

    async def say_when_loaded() -> None:
        await follower.loaded.wait()
        NOT_READY_MODE.labels(fail).set(0)

    loaded = asyncio.create_task(say_when_loaded())
    server = await asyncio.start_server(service.serve, *listen, backlog=BACKLOG)
    runner = None
    if metrics_at is not None:
        runner = await serve_metrics(
            metrics_at, lambda: {"ready": follower.loaded.is_set(), "blocks": len(blocks)}
        )
    log.info("postfix policy service on %s:%d (fail %s)", *listen, fail)
    try:
        async with server:
            await server.serve_forever()
    finally:
        loaded.cancel()
        if runner is not None:
            await runner.cleanup()
        await follower.stop()
