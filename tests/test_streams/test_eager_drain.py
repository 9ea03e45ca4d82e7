"""``streams.eager_drain``: Faust's drain loop without a wait per message, and its guard."""

from __future__ import annotations

import asyncio

import pytest
from faust.transport.consumer import Consumer

from streams import eager_drain
from streams.eager_drain import FAUST_DRAIN_SHA256, drain_source_digest, run_eagerly


def test_the_installed_faust_has_the_drain_loop_the_patch_was_copied_from():
    """Fails when Faust changes under the patch: compare the new loop with ours, then re-copy."""
    assert drain_source_digest() == FAUST_DRAIN_SHA256, (
        "faust's Consumer._drain_messages changed: streams/eager_drain.py holds a copy of the "
        "0.15.3 loop; port its one change to the new loop and update FAUST_DRAIN_SHA256"
    )


def test_install_replaces_the_loop_once(monkeypatch):
    monkeypatch.setattr(Consumer, "_drain_messages", Consumer._drain_messages)
    assert eager_drain.install() and eager_drain.install()
    assert Consumer._drain_messages is eager_drain._drain_messages


def test_install_leaves_a_different_faust_alone(monkeypatch, caplog):
    original = getattr(Consumer._drain_messages, "_cm_original", Consumer._drain_messages)
    monkeypatch.setattr(Consumer, "_drain_messages", original)
    monkeypatch.setattr(eager_drain, "FAUST_DRAIN_SHA256", "0" * 64)
    assert not eager_drain.install()
    assert Consumer._drain_messages is original
    assert "left as it is" in caplog.text


def test_a_coroutine_that_does_not_suspend_runs_at_once_without_a_task():
    done: list[str] = []

    async def hand_off() -> None:
        done.append("put")

    async def main() -> None:
        tasks = len(asyncio.all_tasks())
        assert run_eagerly(hand_off()) is None
        assert done == ["put"] and len(asyncio.all_tasks()) == tasks

    asyncio.run(main())


def test_an_exception_before_suspending_is_raised_by_run_eagerly():
    async def broken() -> None:
        raise ValueError("undecodable")

    with pytest.raises(ValueError, match="undecodable"):
        run_eagerly(broken())


@pytest.mark.parametrize("in_a_task", [False, True])
def test_a_coroutine_that_suspends_is_finished_by_the_awaitable(in_a_task):
    """Bare yields and futures (the C future kind, awaited once already) alike."""

    async def hand_off(future: asyncio.Future[int]) -> int:
        await asyncio.sleep(0)
        value = await future
        await asyncio.sleep(0)
        return value + 1

    async def main() -> int:
        future = asyncio.get_running_loop().create_future()
        rest = run_eagerly(hand_off(future))
        assert rest is not None
        asyncio.get_running_loop().call_later(0.01, future.set_result, 41)
        return await (asyncio.ensure_future(rest) if in_a_task else rest)

    assert asyncio.run(main()) == 42


def test_the_failure_of_an_awaited_future_reaches_the_coroutine():
    async def hand_off(future: asyncio.Future[int]) -> str:
        try:
            await future
        except KeyError:
            return "handled"
        return "not reached"

    async def main() -> str:
        future = asyncio.get_running_loop().create_future()
        rest = run_eagerly(hand_off(future))
        asyncio.get_running_loop().call_soon(future.set_exception, KeyError("x"))
        return await asyncio.ensure_future(rest)

    assert asyncio.run(main()) == "handled"


def test_a_hand_off_blocked_on_a_full_buffer_is_abandoned_when_the_flow_is_suspended():
    """What ``wait_first(rest, suspend_flow.wait())`` relies on: cancelling the rest cancels the put."""
    events: list[str] = []

    async def hand_off(buffer: asyncio.Queue[str]) -> None:
        try:
            await buffer.put("event")
            events.append("delivered")
        except asyncio.CancelledError:
            events.append("abandoned")
            raise

    async def main() -> None:
        buffer: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        buffer.put_nowait("earlier")
        suspend_flow = asyncio.Event()
        rest = run_eagerly(hand_off(buffer))
        assert rest is not None
        asyncio.get_running_loop().call_later(0.01, suspend_flow.set)
        handing, suspended = asyncio.ensure_future(rest), asyncio.ensure_future(suspend_flow.wait())
        done, _ = await asyncio.wait({handing, suspended}, return_when=asyncio.FIRST_COMPLETED)
        assert done == {suspended}
        handing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await handing
        assert buffer.qsize() == 1

    asyncio.run(main())
    assert events == ["abandoned"]


def test_a_hand_off_blocked_on_a_full_buffer_goes_on_when_there_is_room():
    async def hand_off(buffer: asyncio.Queue[str]) -> str:
        await buffer.put("event")
        return "delivered"

    async def main() -> tuple[str, list[str]]:
        buffer: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        buffer.put_nowait("earlier")
        rest = run_eagerly(hand_off(buffer))
        asyncio.get_running_loop().call_later(0.01, buffer.get_nowait)
        outcome = await asyncio.ensure_future(rest)
        return outcome, [buffer.get_nowait()]

    assert asyncio.run(main()) == ("delivered", ["event"])
