"""Records a batch publishes, confirmed by the broker before the batch is acknowledged.

At-least-once delivery rests on one order in every hop: what a batch produces (keyed
copies, alerts, actions, dead letters, pseudonym rows) is acknowledged by the broker
first, then the batch's detector state is written (``StateTable.flush``), and only then
is the input acknowledged, so its offset can be committed. Faust's own commit only waits
for the producer to *finish* sending; a send that failed (a record too large, a partition
without a leader for too long) would still be committed past. :class:`Outbox` awaits every
send and retries the retriable failures.

When a record that must not be lost still cannot be delivered, the batch cannot be
acknowledged, and Faust acknowledges a batch whose agent raised. So the worker stops at
once (:func:`fail_stop`): nothing of the batch is committed, and the restarted worker
reads it again. Dead letters are different: if even the dead-letter topic refuses a
record, it is counted and logged with its topic, partition and offset, and the stream
goes on (``on_failure``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError, KafkaTimeoutError

from events.exceptions import ComplianceMonitorError

log = logging.getLogger(__name__)

FAIL_STOP_EXIT = 70
"""Exit status of a worker that stopped because a batch could not be delivered (EX_SOFTWARE)."""


class DeliveryError(ComplianceMonitorError):
    """A record could not be delivered after every retry; its batch must not be acknowledged."""


@dataclass(slots=True)
class _Pending:
    topic: str
    value: bytes | None
    key: bytes | None
    partition: int | None
    on_failure: Callable[[BaseException], None] | None
    on_delivered: Callable[[], None] | None
    future: asyncio.Future[Any] | None = None


async def finish_before_ack(batch: Coroutine[Any, Any, None]) -> None:
    """Run ``batch`` to its end even if a stop cancels its caller meanwhile, then re-raise.

    Faust's ``take_events`` acknowledges a batch when the loop body ends, even when a stop
    cancels it half-way: so a stop first lets the keyed hop's batch be sent, confirmed and
    flushed. The input reader uses it to finish routing and sending what a fetch brought; its
    ``on_shutdown`` then waits for those batches' confirmation and commit.
    """
    task = asyncio.ensure_future(batch)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


def retriable(error: BaseException) -> bool:
    """Whether sending again may succeed (a timeout, no leader, a lost connection)."""
    return isinstance(error, KafkaTimeoutError) or (isinstance(error, KafkaError) and error.retriable)


class Outbox:
    """The records of one batch: sent at once, then confirmed together with :meth:`confirm`."""

    def __init__(self, producer: Any, attempts: int = 6, backoff: float = 0.5) -> None:
        self.producer = producer
        """The aiokafka producer (Faust's own, so its flush before a commit covers these too)."""
        self.attempts = attempts
        self.backoff = backoff
        self._pending: list[_Pending] = []

    async def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        partition: int | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        on_delivered: Callable[[], None] | None = None,
    ) -> None:
        """Hand one record to the producer. ``on_failure`` makes it best effort (dead letters);
        ``on_delivered`` runs once the broker has it."""
        record = _Pending(topic, value, key, partition, on_failure, on_delivered)
        self._pending.append(record)
        await self._start(record)

    async def _start(self, record: _Pending) -> None:
        try:
            record.future = await self.producer.send(
                record.topic, record.value, key=record.key, partition=record.partition
            )
        except Exception as error:  # refused before sending (too large, unknown topic, closed)
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(error)
            record.future = failed

    async def confirm(self) -> None:
        """Wait until the broker has every record; retry retriable failures with backoff.

        Raises :class:`DeliveryError` for the first record that must not be lost and still
        failed; best-effort records that failed go to their ``on_failure`` instead.
        """
        pending, self._pending = self._pending, []
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            futures = [record.future for record in pending]
            results = await asyncio.gather(*futures, return_exceptions=True)
            failed = []
            for record, result in zip(pending, results, strict=True):
                if isinstance(result, BaseException):
                    failed.append((record, result))
                elif record.on_delivered is not None:
                    record.on_delivered()
            if not failed:
                return
            again = []
            for record, error in failed:
                if retriable(error) and attempt < self.attempts:
                    again.append(record)
                elif record.on_failure is None:
                    raise DeliveryError(
                        f"record for {record.topic} not delivered after {attempt} tries: {error!r}"
                    ) from error
                else:
                    record.on_failure(error)
            if not again:
                return
            log.warning("%d records not delivered yet (try %d), sending again", len(again), attempt)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            for record in again:
                await self._start(record)
            pending = again


def fail_stop(error: BaseException) -> None:
    """Stop the process now, without acknowledging the batch in hand (it is read again at start).

    A supervisor (systemd, Kubernetes) restarts the worker; see docs/architecture.md.
    """
    log.critical("stopping: a batch could not be delivered and is left unacknowledged: %s", error)
    logging.shutdown()
    os._exit(FAIL_STOP_EXIT)
