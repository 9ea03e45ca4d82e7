"""Faust's consumer hands each message to its streams without an ``asyncio.wait`` per message.

Faust's drain loop (``Consumer._drain_messages``) passes every fetched message to the
conductor with ``await self.wait_first(callback(message), self.suspend_flow.wait())``, so
that a hand-off blocked on a full stream buffer is abandoned when a rebalance suspends the
flow. That is four tasks, an ``asyncio.wait`` and three cancellations per message, although
the hand-off almost never blocks: it decodes the message and puts it on a queue with room.

:func:`install` replaces the loop with Faust 0.15.3's own, changed in one place: the hand-off
is run eagerly, up to its first suspension (:func:`run_eagerly`). When it finishes without
suspending (no task, no wait) the loop yields once, the turn the wait gave the streams, and
goes on; when it suspends, the rest of it goes through ``wait_first`` exactly as before, so a
suspended flow still abandons it. Nothing else in the loop changes: offsets, gaps and commits
are kept as Faust keeps them.

The loop is a copy, so :func:`install` first checks that the installed Faust's loop is the one
it was copied from (:data:`FAUST_DRAIN_SHA256`); if not, it leaves Faust alone and logs why.
The effect, measured, is in ``docs/performance.md`` (*The worker, round two*).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Coroutine
from typing import Any, cast

from faust.transport.consumer import CONSUMER_FETCHING, Consumer
from mode import Service, ServiceT

log = logging.getLogger(__name__)

FAUST_DRAIN_SHA256 = "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417"
"""SHA-256 of ``inspect.getsource(Consumer._drain_messages)`` in faust-streaming 0.15.3."""


def drain_source_digest() -> str:
    """The SHA-256 of the installed Faust's ``Consumer._drain_messages`` source."""
    original = getattr(Consumer._drain_messages, "_cm_original", Consumer._drain_messages)
    return hashlib.sha256(inspect.getsource(original).encode()).hexdigest()


def install() -> bool:
    """Replace Faust's drain loop with the eager one, once; False if Faust's loop is not 0.15.3's."""
    if getattr(Consumer._drain_messages, "_cm_original", None):
        return True
    if drain_source_digest() != FAUST_DRAIN_SHA256:
        log.warning("Faust's Consumer._drain_messages is not the one eager_drain copied; left as it is")
        return False
    _drain_messages._cm_original = Consumer._drain_messages  # type: ignore[attr-defined]
    Consumer._drain_messages = _drain_messages  # type: ignore[method-assign]
    return True


def run_eagerly(coro: Coroutine[Any, Any, Any]) -> Awaitable[Any] | None:
    """Run ``coro`` up to its first suspension: None if it finished, else an awaitable of the rest.

    An exception ``coro`` raises before suspending is raised here.
    """
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    return _resume(coro, waiting_on)


async def _resume(coro: Coroutine[Any, Any, Any], waiting_on: Any) -> Any:
    """Drive a started ``coro`` to its end as its task would: wait on what it yielded, resume it."""
    while True:
        try:
            if waiting_on is None:  # a bare yield (``asyncio.sleep(0)``)
                await asyncio.sleep(0)
            else:
                # taken from ``coro`` as a task takes it, so that it can be awaited again
                waiting_on._asyncio_future_blocking = False
                await waiting_on
        except BaseException as exc:
            # the future's own outcome ``coro`` reads on resuming; else this task was cancelled
            step = (coro.send, None) if waiting_on is not None and waiting_on.done() else (coro.throw, exc)
        else:
            step = coro.send, None
        try:
            waiting_on = step[0](step[1])
        except StopIteration as stop:
            return stop.value


async def _drain_messages(self: Consumer, fetcher: ServiceT) -> None:  # pragma: no cover
    # Faust 0.15.3's ``Consumer._drain_messages``; the one change is marked "eager".
    callback = self.callback
    getmany = self.getmany
    consumer_should_stop = cast(Service, self)._stopped.is_set
    fetcher_should_stop = cast(Service, fetcher)._stopped.is_set

    get_read_offset = self._read_offset.__getitem__
    set_read_offset = self._read_offset.__setitem__
    flag_consumer_fetching = CONSUMER_FETCHING
    set_flag = self.diag.set_flag
    unset_flag = self.diag.unset_flag
    commit_every = self._commit_every
    acks_enabled_for = self.app.topics.acks_enabled_for

    yield_every = 100
    num_since_yield = 0
    sleep = asyncio.sleep

    try:
        while not (consumer_should_stop() or fetcher_should_stop()):
            set_flag(flag_consumer_fetching)
            ait = cast(AsyncIterator, getmany(timeout=1.0))

            # Sleeping because sometimes getmany is called in a loop
            # never releasing to the event loop
            await self.sleep(0)
            if not self.should_stop:
                async for tp, message in ait:
                    num_since_yield += 1
                    if num_since_yield > yield_every:
                        await sleep(0)
                        num_since_yield = 0

                    offset = message.offset
                    r_offset = get_read_offset(tp)
                    if r_offset is None or offset >= r_offset:
                        gap = offset - (r_offset or 0)
                        # We have a gap in income messages
                        if gap > 1 and r_offset:
                            acks_enabled = acks_enabled_for(message.topic)
                            if acks_enabled:
                                await self._add_gap(tp, r_offset + 1, offset)
                        if commit_every is not None:  # noqa: SIM102 - Faust's own code
                            if self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                        # eager: only a hand-off that suspends waits against the flow
                        rest = run_eagerly(callback(message))
                        if rest is None:
                            await sleep(0)  # the streams' turn, which the wait gave them
                        else:
                            await self.wait_first(rest, self.suspend_flow.wait())
                        set_read_offset(tp, offset)
                    else:
                        self.log.dev(
                            "DROPPED MESSAGE ROFF %r: k=%r v=%r",
                            offset,
                            message.key,
                            message.value,
                        )
                unset_flag(flag_consumer_fetching)

    except self.consumer_stopped_errors:
        if self.transport.app.should_stop:
            # we're already stopping so ignore
            self.log.info("Broker stopped consumer, shutting down...")
            return
        raise
    except asyncio.CancelledError:
        if self.transport.app.should_stop:
            # we're already stopping so ignore
            self.log.info("Consumer shutting down for user cancel.")
            return
        raise
    except Exception as exc:
        self.log.exception("Drain messages raised: %r", exc)
        raise
    finally:
        unset_flag(flag_consumer_fetching)
