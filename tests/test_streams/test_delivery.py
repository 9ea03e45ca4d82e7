"""The outbox confirms, retries and gives up as promised (the producer is faked: a unit edge)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from aiokafka.errors import MessageSizeTooLargeError, NotLeaderForPartitionError

from streams.delivery import FAIL_STOP_EXIT, DeliveryError, Outbox


class FlakyProducer:
    """Fails the first ``failures`` sends of each value with ``error``, then delivers."""

    def __init__(self, error: Exception, failures: int) -> None:
        self.error = error
        self.failures = failures
        self.sent: list[bytes] = []
        self.tries: dict[bytes, int] = {}

    async def send(self, topic, value, key=None, partition=None):
        future = asyncio.get_running_loop().create_future()
        self.tries[value] = self.tries.get(value, 0) + 1
        if self.tries[value] <= self.failures:
            future.set_exception(self.error)
        else:
            self.sent.append(value)
            future.set_result(object())
        return future


def run(coro):
    return asyncio.run(coro)


def test_retriable_failures_are_sent_again_until_delivered():
    producer = FlakyProducer(NotLeaderForPartitionError(), failures=2)

    async def go():
        outbox = Outbox(producer, backoff=0.001)
        await outbox.send("t", b"a")
        await outbox.send("t", b"b")
        await outbox.confirm()

    run(go())
    assert sorted(producer.sent) == [b"a", b"b"] and producer.tries == {b"a": 3, b"b": 3}


def test_a_record_that_never_arrives_fails_the_batch():
    producer = FlakyProducer(MessageSizeTooLargeError(), failures=1)

    async def go():
        outbox = Outbox(producer, backoff=0.001)
        await outbox.send("t", b"a")
        await outbox.confirm()

    with pytest.raises(DeliveryError, match="not delivered"):
        run(go())
    assert producer.tries == {b"a": 1}  # not retriable: not sent again


def test_a_best_effort_record_that_fails_is_reported_and_the_batch_goes_on():
    producer = FlakyProducer(MessageSizeTooLargeError(), failures=1)
    lost, delivered = [], []

    async def go():
        outbox = Outbox(producer, backoff=0.001)
        await outbox.send("dlq", b"a", on_failure=lost.append, on_delivered=lambda: delivered.append(1))
        await outbox.confirm()

    run(go())
    assert len(lost) == 1 and not delivered


def test_fail_stop_exits_at_once_with_its_own_status():
    code = "from streams.delivery import fail_stop; fail_stop(RuntimeError('x')); print('went on')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == FAIL_STOP_EXIT == 70 and "went on" not in done.stdout  # README: exit 70
