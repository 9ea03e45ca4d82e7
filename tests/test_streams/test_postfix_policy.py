"""The Postfix policy service's block list and answers, without a broker."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import TopicPartition
from typer.testing import CliRunner

from events import Action
from streams.actions.blocklist import BlockList
from streams.actions.follower import ActionFollower
from streams.actions.postfix import PolicyService, serve_policy, split_listen
from streams.cli import app
from streams.settings import Settings

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def action(
    target: str, kind: str = "block_sender", state: str = "active", action_id: str = "a1", **more
) -> Action:
    return Action(
        action_id=action_id,
        kind=kind,
        target=target,
        alert_id="al",
        requested_at=NOW,
        expires_at=more.pop("expires_at", NOW + timedelta(days=1)),
        reason="r",
        state=state,
        **more,
    )


def test_a_sender_is_blocked_whatever_its_case_and_a_domain_with_its_subdomains() -> None:
    blocks = BlockList()
    blocks.update(action("Notice@Agency.example"))
    blocks.update(action("collect.example", kind="block_domain", action_id="a2"))
    assert blocks.blocked("notice@agency.EXAMPLE", NOW) == "a1"
    assert blocks.blocked("other@agency.example", NOW) is None
    assert blocks.blocked("x@collect.example", NOW) == "a2"
    assert blocks.blocked("x@mail.collect.example", NOW) == "a2"
    assert blocks.blocked("x@notcollect.example", NOW) is None
    assert len(blocks) == 2


def test_a_block_ends_at_expires_at_to_the_second_and_when_its_action_ends() -> None:
    blocks = BlockList()
    blocks.update(action("a@b.example", expires_at=NOW + timedelta(seconds=10)))
    assert blocks.blocked("a@b.example", NOW + timedelta(seconds=9.999))
    assert not blocks.blocked("a@b.example", NOW + timedelta(seconds=10))
    blocks.update(action("c@d.example", action_id="c1"))
    blocks.update(action("c@d.example", action_id="c1", state="revoked"))
    assert not blocks.blocked("c@d.example", NOW)


def test_pending_actions_block_nothing_and_an_old_action_ending_leaves_a_new_block() -> None:
    blocks = BlockList()
    blocks.update(action("a@b.example", state="pending_approval"))
    assert not blocks.blocked("a@b.example", NOW)
    blocks.update(action("a@b.example", action_id="new"))
    blocks.update(action("a@b.example", action_id="old", state="expired"))
    assert blocks.blocked("a@b.example", NOW) == "new"


def test_an_old_action_read_after_its_successor_does_not_lift_the_block() -> None:
    """Actions are keyed by id, so after a restart partitions can be read in any order."""
    blocks = BlockList()
    blocks.update(action("a@b.example", action_id="new"))
    blocks.update(action("a@b.example", action_id="old"))
    blocks.update(action("a@b.example", action_id="old", state="expired"))
    assert blocks.blocked("a@b.example", NOW) == "new" and len(blocks) == 1


def service(loaded: bool, fail: str = "open") -> PolicyService:
    follower = SimpleNamespace(loaded=asyncio.Event())
    if loaded:
        follower.loaded.set()
    blocks = BlockList()
    blocks.update(action("a@b.example"))
    return PolicyService(follower, blocks, "5.7.1 Sender blocked", fail, clock=lambda: NOW)  # type: ignore[arg-type]


def test_answers_before_and_after_the_block_list_is_loaded() -> None:
    assert service(False).answer({b"sender": b"a@b.example"}) == b"DUNNO"
    assert (
        service(False, "closed").answer({b"sender": b"a@b.example"})
        == b"DEFER_IF_PERMIT Compliance policy not ready"
    )
    ready = service(True)
    assert ready.answer({b"sender": b"a@b.example"}) == b"REJECT 5.7.1 Sender blocked"
    assert ready.answer({b"sender": b"c@b.example"}) == b"DUNNO"
    assert ready.answer({b"sender": b""}) == b"DUNNO"  # bounces have no sender


def test_one_connection_carries_several_requests() -> None:
    async def talk() -> list[bytes]:
        policy = service(True)
        server = await asyncio.start_server(policy.serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answers = []
        for sender in (b"a@b.example", b"x@y.example"):
            writer.write(
                b"request=smtpd_access_policy\r\nsender=" + sender + b"\r\nrecipient=z@corp.example\n\n"
            )
            answers.append(await reader.readuntil(b"\n\n"))
        writer.close()
        server.close()
        return answers

    assert asyncio.run(talk()) == [b"action=REJECT 5.7.1 Sender blocked\n\n", b"action=DUNNO\n\n"]


@pytest.mark.parametrize("bad", ["10040", "host:", ":10040", "h:0", "h:99999", "h:port"])
def test_listen_addresses_are_checked(bad: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        split_listen(bad)
    assert split_listen("[::1]:10040") == ("::1", 10040)


def test_a_request_of_endless_lines_is_cut_off() -> None:
    async def talk() -> bytes:
        policy = service(True)
        server = await asyncio.start_server(policy.serve, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        writer.write(b"sender=a@b.example\n" * 201)
        answer = await reader.read()  # the service closes the connection without an answer
        writer.close()
        server.close()
        return answer

    assert asyncio.run(talk()) == b""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_starting_service_says_not_ready_in_its_metrics_and_health_until_loaded(monkeypatch) -> None:
    followers: list[Any] = []

    class Follower:
        """The actions topic, read to its end when the test says so."""

        def __init__(self, settings: Settings, on_action: Any = None) -> None:
            self.loaded = asyncio.Event()
            followers.append(self)

        async def start(self) -> None: ...

        async def stop(self) -> None: ...

    monkeypatch.setattr("streams.actions.postfix.ActionFollower", Follower)
    port = free_port()

    async def look(http: aiohttp.ClientSession) -> tuple[int, bool]:
        async with (
            http.get(f"http://127.0.0.1:{port}/healthz") as health,
            http.get(f"http://127.0.0.1:{port}/metrics") as page,
        ):
            return health.status, 'cm_postfix_not_ready{fail="closed"} 1.0' in await page.text()

    async def scenario() -> list[tuple[int, bool]]:
        listen = ("127.0.0.1", free_port())
        served = asyncio.create_task(
            serve_policy(Settings(), listen, "5.7.1 x", "closed", ("127.0.0.1", port))
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    starting = await look(http)
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.02)
            followers[0].loaded.set()
            await asyncio.sleep(0.05)
            loaded = await look(http)
        served.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await served
        return [starting, loaded]

    assert asyncio.run(scenario()) == [(503, True), (200, False)]


def test_postfix_policy_listens_on_127_0_0_1_10040_and_fails_open_by_default(monkeypatch) -> None:
    started: list[tuple[Any, ...]] = []

    async def serve(settings, listen, reject_text, fail, metrics_at) -> None:
        started.append((listen, fail, metrics_at))

    monkeypatch.setattr("streams.actions.postfix.serve_policy", serve)
    monkeypatch.setattr("uvloop.install", lambda: None)
    env = {"CM_KAFKA_BROKER": "kafka://127.0.0.1:1", "CM_POLICY": None}
    result = CliRunner().invoke(app, ["postfix-policy"], env=env)
    assert result.exit_code == 0, result.output
    assert started == [(("127.0.0.1", 10040), "open", None)]


class Kafka:
    """One partition of the actions topic; ``down`` makes every read fail, as a lost broker does."""

    def __init__(self, records: list[Action]) -> None:
        self.records = [a.model_dump_json().encode() for a in records]
        self.down = False
        self.at = 0
        self.seeks: list[int] = []

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0}

    def assign(self, partitions: list[TopicPartition]) -> None: ...

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.at = offset
        self.seeks.append(offset)

    async def seek_to_beginning(self, tp: TopicPartition) -> None:
        self.seek(tp, 0)

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: len(self.records) for tp in partitions}

    async def position(self, tp: TopicPartition) -> int:
        return self.at

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[Any]]:
        await asyncio.sleep(0.01)
        if self.down:
            raise KafkaConnectionError("the broker went away")
        start, self.at = self.at, len(self.records)
        batch = [SimpleNamespace(value=v, offset=start + i) for i, v in enumerate(self.records[start:])]
        return {TopicPartition("compliance.actions", 0): batch} if batch else {}


def test_while_kafka_is_down_the_blocks_held_still_answer_and_new_ones_come_once_it_is_back() -> None:
    kafka = Kafka([action("a@b.example")])
    blocks = BlockList()
    follower = ActionFollower(Settings(), on_action=blocks.update)
    follower._consumer = kafka  # type: ignore[assignment]
    policy = PolicyService(follower, blocks, "5.7.1 Sender blocked", clock=lambda: NOW)

    def answers() -> list[bytes]:
        return [policy.answer({b"sender": s}) for s in (b"a@b.example", b"c@d.example")]

    async def until(done: Any) -> None:
        for _ in range(300):
            if done():
                return
            await asyncio.sleep(0.01)

    async def scenario() -> list[list[bytes]]:
        following = asyncio.create_task(follower._follow())
        await until(follower.loaded.is_set)
        seen = [answers()]
        kafka.down = True
        await asyncio.sleep(0.1)
        seen.append(answers())  # from the blocks held
        kafka.records.append(action("c@d.example", action_id="a2").model_dump_json().encode())
        kafka.down = False
        await until(lambda: blocks.blocked("c@d.example", NOW))  # after the follower's 1 s pause
        seen.append(answers())
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
        return seen

    reject, dunno = b"REJECT 5.7.1 Sender blocked", b"DUNNO"
    assert asyncio.run(scenario()) == [[reject, dunno], [reject, dunno], [reject, reject]]
    assert kafka.seeks == [0, 1]  # read again from where it stopped, not from the start


def test_bench_postfix_loads_the_service_from_many_connections_and_counts_its_answers() -> None:
    """``bench postfix``'s load: each connection reused for its share of the requests, one in
    ten from a blocked sender (here against the service in process, not a broker-fed one)."""
    from bench.postfix import _load

    async def load() -> tuple[float, list[float], dict[str, int]]:
        server = await asyncio.start_server(service(True).serve, "127.0.0.1", 0)
        try:
            return await _load(server.sockets[0].getsockname()[1], 5, 50, ["a@b.example"])
        finally:
            server.close()

    elapsed, latencies, answers = asyncio.run(load())
    assert len(latencies) == 50 and 0 < max(latencies) <= elapsed
    assert answers == {"reject": 5, "dunno": 45}
