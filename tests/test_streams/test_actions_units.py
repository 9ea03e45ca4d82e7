"""IT actions without a broker: the console's /actions endpoints over a stand-in desk, the
CLI's early exits, and the deliverer's retry, backoff and circuit logic."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from faust.types import TP
from typer.testing import CliRunner

from detectors.action_book import ActionBook, DecisionError, UnknownActionError
from detectors.action_policy import Webhook
from events import Action
from streams.actions.commands import DecisionCommand
from streams.actions.deliver import (
    CIRCUIT_OPEN,
    DELIVERIES,
    Attempt,
    Endpoint,
    WebhookSecretError,
    read_secrets,
)
from streams.actions.desk import ActionDesk, DecisionNotApplied
from streams.actions.keeper import ActionKeeper, apply_command
from streams.actions.webhooks import alertmanager_payload, webhook_id
from streams.cli import app
from streams.console.users import add_user
from streams.settings import Settings
from tests.test_streams.test_console_units import StandInStore, bearer, over_http, stand_in_console

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def action(action_id: str, state: str = "active", at: datetime = T0, **more: Any) -> Action:
    return Action(
        action_id=action_id,
        kind="block_sender",
        target=f"{action_id}@agency.example",
        alert_id="al",
        requested_at=at,
        expires_at=at + timedelta(days=90),
        reason="collection e-mail naming 13800138000",
        state=state,
        **more,
    )


class StandInDesk(ActionDesk):
    """The desk over a fixed set of actions; decisions answer as the test says."""

    def __init__(self, actions: list[Action], outcome: Exception | None = None) -> None:
        super().__init__(SimpleNamespace(actions={a.action_id: a for a in actions}), send=None)  # type: ignore[arg-type]
        self.outcome = outcome
        self.decided: list[tuple[str, str, str, str]] = []

    async def decide(self, action_id, decision, by, role, comment=None, client=None, timeout=15.0):  # type: ignore[override]
        self.decided.append((action_id, decision, by, role))
        if self.outcome is not None:
            raise self.outcome
        return self.follower.actions[action_id].model_copy(update={"state": "revoked", "decided_by": by})


def console_with(desk: ActionDesk):
    api = stand_in_console(StandInStore([]))
    api.desk = desk
    return api


def test_actions_are_listed_newest_first_of_one_state_and_masked_for_it():
    desk = StandInDesk(
        [action("old", at=T0), action("new", at=T0 + timedelta(days=1)), action("p", "pending_approval")]
    )

    async def scenario(client: TestClient) -> list[Any]:
        out = []
        for role, query in (
            ("officer", ""),
            ("officer", "?state=pending_approval"),
            ("it", ""),
            ("hr", ""),
            ("officer", "?state=maybe"),
        ):
            response = await client.get(f"/api/v1/actions{query}", headers=bearer(role))
            out.append((response.status, await response.json()))
        return out

    everyone, pending, it, hr, bad = over_http(console_with(desk), scenario)
    assert [a["action_id"] for a in everyone[1]["actions"]] == ["new", "p", "old"]
    assert [a["action_id"] for a in pending[1]["actions"]] == ["p"]
    assert "13800138000" in str(everyone[1]) and "13800138000" not in str(it[1]) and "•8000" in str(it[1])
    assert hr[0] == 403 and bad[0] == 400


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (None, 200),
        (UnknownActionError("no"), 404),
        (DecisionError("cannot"), 409),
        (DecisionNotApplied("late"), 503),
    ],
)
def test_a_decision_answers_with_the_action_or_says_why_not(outcome, status):
    desk = StandInDesk([action("a1")], outcome)

    async def scenario(client: TestClient) -> list[int]:
        codes = []
        for role, body in (
            ("officer", {"decision": "revoke"}),
            ("it", {"decision": "maybe"}),
            ("it", {"decision": "revoke"}),
        ):
            response = await client.post("/api/v1/actions/a1/decision", json=body, headers=bearer(role))
            codes.append(response.status)
        return codes

    assert over_http(console_with(desk), scenario) == [403, 400, status]
    assert desk.decided == [("a1", "revoke", "it", "it")]  # recorded with the role that may decide


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["actions", "list", "--state", "maybe"], "--state maybe"),
        (["actions", "decide", "a1", "maybe", "--by", "it"], "approve, reject or revoke"),
        (["actions", "deliver"], "no actions.webhooks"),
        (["postfix-policy", "--listen", "10040"], "HOST:PORT"),
        (["postfix-policy", "--fail", "sometimes"], "open or closed"),
    ],
)
def test_the_action_commands_refuse_bad_arguments_before_connecting(args, message):
    result = CliRunner().invoke(app, args, env={"CM_KAFKA_BROKER": "kafka://127.0.0.1:1", "CM_POLICY": None})
    assert result.exit_code == 2 and message in " ".join(result.stderr.split()), result.output


def test_webhook_secrets_must_be_set_and_standard_ones_well_formed():
    hooks = [Webhook(name="gw", url="https://gw.example/h", secret_env="CM_GW")]
    with pytest.raises(WebhookSecretError, match="CM_GW is not set"):
        read_secrets(hooks, {})
    with pytest.raises(WebhookSecretError, match="CM_GW: not a Standard Webhooks secret"):
        read_secrets(hooks, {"CM_GW": "whsec_!!!"})
    am = [Webhook(name="am", url="https://am.example/h", secret_env="CM_AM", format="alertmanager")]
    assert read_secrets(am, {"CM_AM": "Bearer x"}) == {"am": "Bearer x"}


def test_what_is_retried_and_what_is_final():
    assert Attempt(204).delivered and not Attempt(204).final
    assert [Attempt(s).final for s in (301, 400, 404, 429, 500, 503)] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert not Attempt(None, "TimeoutError").final


def test_an_extension_comes_under_the_same_webhook_id_and_an_expiry_resolves():
    first = action("a1")
    extended = first.model_copy(update={"expires_at": first.expires_at + timedelta(days=5)})
    assert webhook_id(first) == webhook_id(extended) == "a1.active"
    ended = first.model_copy(update={"state": "expired", "decided_at": first.expires_at})
    payload = alertmanager_payload("am", ended)
    assert payload["status"] == "resolved" and payload["alerts"][0]["endsAt"].startswith("2026-05-31")


class Scripted(Endpoint):
    """An endpoint whose POSTs answer from a script and whose sleeps are recorded."""

    def post(self, action: Action):  # type: ignore[override]
        async def answer() -> Attempt:
            return self.script.pop(0)

        return answer()


def scripted(script: list[Attempt], retry_for: str = "1h") -> tuple[Scripted, list[float], list[bytes]]:
    slept: list[float] = []
    letters: list[bytes] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def dead_letter(key: bytes, value: bytes) -> None:
        letters.append(value)

    hook = Webhook.model_validate(
        {"name": f"s{id(script)}", "url": "https://gw.example/h", "secret_env": "X", "retry_for": retry_for}
    )
    endpoint = Scripted(hook, "whsec_eA==", Settings(), None, dead_letter, sleep)  # type: ignore[arg-type]
    endpoint.script = script  # type: ignore[attr-defined]
    return endpoint, slept, letters


def value(metric, *labels: str) -> float:
    return metric.labels(*labels)._value.get()


def test_backoff_doubles_with_jitter_the_circuit_opens_after_three_and_closes_on_success():
    endpoint, slept, letters = scripted(
        [Attempt(503), Attempt(429), Attempt(None, "ClientError"), Attempt(500), Attempt(204)]
    )
    name = endpoint.hook.name
    asyncio.run(endpoint.deliver(action("a1"), published=0.0))
    assert len(slept) == 4 and letters == []
    for delay, limit in zip(slept, (0.5, 1.0, 2.0, 4.0), strict=True):
        assert limit / 2 <= delay <= limit  # half the step, plus up to half again at random
    assert value(DELIVERIES, name, "retried") == 4 and value(DELIVERIES, name, "delivered") == 1
    assert value(CIRCUIT_OPEN, name) == 0  # open after the third failure, closed by the success


def test_a_final_answer_or_the_end_of_retry_for_dead_letters_with_what_happened():
    endpoint, _, letters = scripted([Attempt(400)])
    asyncio.run(endpoint.deliver(action("a1"), published=0.0))
    assert b'"last_status":400' in letters[0] and b'"tries":1' in letters[0]
    assert value(DELIVERIES, endpoint.hook.name, "failed") == 1
    endpoint, slept, letters = scripted([Attempt(503)] * 10, retry_for="2s")
    asyncio.run(endpoint.deliver(action("a1"), published=0.0))
    assert (
        len(letters) == 1 and b'"last_status":503' in letters[0] and len(slept) == 2
    )  # 0.5 + 1, then 2 > 2s left


class ActionsTopic:
    """The actions topic as a desk follows it, with a keeper applying each command sent, if
    one runs; ``wait_for`` notes how long the desk would wait and answers at once."""

    def __init__(self, actions: list[Action], keeper: bool = True) -> None:
        self.actions = {a.action_id: a for a in actions}
        self.book = ActionBook(require_approval=True)
        self.book.load_all(actions)
        self.keeper = keeper
        self.commands: list[DecisionCommand] = []
        self.audits: list[Any] = []
        self.waited: list[float] = []

    async def send(self, command: DecisionCommand) -> None:
        self.commands.append(command)
        if self.keeper:
            changed, audits = apply_command(self.book, command, command.at)
            self.actions.update((a.action_id, a) for a in changed)
            self.audits.extend(audits)

    async def wait_for(self, done, timeout: float) -> bool:
        self.waited.append(timeout)
        return done()


def decided(topic: ActionsTopic, action_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    desk = ActionDesk(topic, topic.send, clock=lambda: T0 + timedelta(hours=1))  # type: ignore[arg-type]

    async def scenario(client: TestClient) -> tuple[int, dict[str, Any]]:
        path = f"/api/v1/actions/{action_id}/decision"
        response = await client.post(path, json=body, headers=bearer("it"))
        return response.status, await response.json()

    return over_http(console_with(desk), scenario)


def test_it_rejects_a_pending_action_in_the_console_and_the_keeper_audits_it():
    topic = ActionsTopic([action("p1", "pending_approval")])
    status, body = decided(topic, "p1", {"decision": "reject", "comment": "a customer, not an agency"})
    assert status == 200 and (body["action"]["state"], body["action"]["decided_by"]) == ("rejected", "it")
    [audit] = topic.audits
    assert (audit.action, audit.from_status, audit.to_status, audit.role, audit.client) == (
        "reject_action",
        "pending_approval",
        "rejected",
        "it",
        "127.0.0.1",
    )


def test_without_a_keeper_a_decision_is_answered_503_after_15_seconds_and_never_applied():
    topic = ActionsTopic([action("a1")], keeper=False)
    status, body = decided(topic, "a1", {"decision": "revoke"})
    assert status == 503 and "is a worker running?" in body["error"]
    assert topic.waited == [15.0] and topic.actions["a1"].state == "active"
    [command] = topic.commands  # sent, with the deadline after which a keeper refuses it
    assert command.deadline - command.at == timedelta(seconds=15)


def test_actions_decide_records_the_role_cli_without_a_users_file_and_exits_1_when_not_applied(
    tmp_path, monkeypatch
):
    asked: list[tuple[str, str, str, str]] = []

    async def no_worker(settings, action_id, decision, by, role, comment):
        asked.append((action_id, decision, by, role))
        raise DecisionNotApplied("the decision was not applied within 15s; is a worker running?")

    monkeypatch.setattr("streams.actions.run.decide_action", no_worker)
    command = ["actions", "decide", "a1", "revoke", "--by", "wang.min"]
    env = {"CM_KAFKA_BROKER": "kafka://127.0.0.1:1", "CM_USERS": None}
    result = CliRunner().invoke(app, command, env=env)
    assert result.exit_code == 1 and "not decided" in result.stderr and "worker running" in result.stderr
    users = tmp_path / "users.yaml"
    add_user(users, "wang.min", ["officer", "it"])
    assert CliRunner().invoke(app, command, env={**env, "CM_USERS": str(users)}).exit_code == 1
    assert asked == [("a1", "revoke", "wang.min", "cli"), ("a1", "revoke", "wang.min", "it")]


class KeeperBroker:
    """The keeper's side of the broker: the actions topic it reads at (re)load, the records it
    sends and confirms, and the commands it acknowledges, in the order they happen."""

    def __init__(self, actions: list[Action]) -> None:
        self.topic = {a.action_id: a for a in actions}
        self.log: list[str] = []
        self.sent: list[dict[str, Any]] = []

    async def read_actions(self, settings: Settings) -> dict[str, Action]:
        self.log.append("read compliance.actions")
        return dict(self.topic)

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self.log.append(f"send {topic}")
        self.sent.append(orjson.loads(value))

    async def confirm(self) -> None:
        self.log.append("confirm")

    def commands(self, *decisions: DecisionCommand) -> Any:
        log = self.log

        class Commands:
            def noack(self) -> Commands:
                return self

            async def events(self):
                for command in decisions:
                    message = SimpleNamespace(generation_id=1, topic="compliance-monitor-action-commands")
                    yield SimpleNamespace(value=command.model_dump_json().encode(), message=message)

            async def ack(self, event: Any) -> None:
                log.append("ack")

        return Commands()


NOW = T0 + timedelta(hours=1)


def revoke(action_id: str) -> DecisionCommand:
    return DecisionCommand(
        audit_id=f"revoke-{action_id}",
        action_id=action_id,
        decision="revoke",
        by="wang.min",
        role="it",
        at=NOW,
        deadline=NOW + timedelta(seconds=15),
    )


def keeper_on(broker: KeeperBroker, tmp_path, monkeypatch) -> ActionKeeper:
    from detectors import load_policy
    from streams.app import create_app
    from streams.process import DEMO_POLICY
    from streams.topics import declare_topics

    monkeypatch.setattr("streams.actions.keeper.read_actions", broker.read_actions)
    settings = Settings(data_dir=tmp_path)
    app_ = create_app(settings)
    commands = declare_topics(app_, settings).action_commands
    return ActionKeeper(app_, settings, load_policy(DEMO_POLICY), commands, lambda: broker, clock=lambda: NOW)


def test_the_keeper_acknowledges_a_command_only_once_the_broker_has_the_action_and_its_audit_record(
    tmp_path, monkeypatch
):
    broker = KeeperBroker([action("a1")])
    keeper = keeper_on(broker, tmp_path, monkeypatch)
    asyncio.run(keeper.keep(broker.commands(revoke("a1"))))
    assert broker.log == [
        "read compliance.actions",
        "send compliance.actions",
        "send compliance.triage",
        "confirm",
        "ack",
    ]
    assert broker.sent[0]["state"] == "revoked" and broker.sent[1]["action"] == "revoke_action"


def test_a_keeper_given_the_command_partition_reads_the_actions_topic_again_before_applying(
    tmp_path, monkeypatch
):
    broker = KeeperBroker([])
    keeper = keeper_on(broker, tmp_path, monkeypatch)

    async def scenario() -> None:
        await keeper.keep(broker.commands(revoke("a1")))  # a1 is unknown to this keeper
        broker.topic["a1"] = action("a1")  # written by the keeper that held the partition meanwhile
        await keeper._assigned(None, set())  # the partition comes back to this worker
        await keeper.keep(broker.commands(revoke("a1")))

    asyncio.run(scenario())
    assert broker.log == [
        "read compliance.actions",
        "ack",  # refused: no such action in the book
        "read compliance.actions",
        "send compliance.actions",
        "send compliance.triage",
        "confirm",
        "ack",
    ]


def test_the_command_topic_has_one_partition_and_only_its_holder_expires_actions(tmp_path, monkeypatch):
    broker = KeeperBroker([action("a1", at=T0 - timedelta(days=91))])  # past its expires_at
    keeper = keeper_on(broker, tmp_path, monkeypatch)
    topic = keeper.commands.get_topic_name()
    assert (topic, keeper.commands.partitions) == ("compliance-monitor-action-commands", 1)
    held: set[TP] = set()
    keeper.app = SimpleNamespace(consumer=SimpleNamespace(assignment=lambda: held))  # type: ignore[assignment]
    asyncio.run(keeper.expire_due())
    assert broker.log == []  # another worker holds the commands: it keeps the actions
    held.add(TP(topic, 0))
    asyncio.run(keeper.expire_due())
    assert broker.log == ["read compliance.actions", "send compliance.actions", "confirm"]
    assert broker.sent[0]["state"] == "expired"


def test_the_backoff_stops_doubling_at_five_minutes():
    endpoint, slept, _ = scripted([Attempt(503)] * 12 + [Attempt(204)], retry_for="10h")
    asyncio.run(endpoint.deliver(action("a1"), published=0.0))
    steps = [min(0.5 * 2**n, 300.0) for n in range(12)]  # 0.5 s, 1 s, ... 256 s, then 5 min
    assert len(slept) == 12 and steps[-3:] == [256.0, 300.0, 300.0]
    for delay, limit in zip(slept, steps, strict=True):
        assert limit / 2 <= delay <= limit


def test_the_delivery_time_counts_from_the_state_on_the_topic():
    from streams.actions.deliver import DELIVERY_SECONDS

    endpoint, _, _ = scripted([Attempt(204)])
    histogram = DELIVERY_SECONDS.labels(endpoint.hook.name)
    before = histogram._sum.get()
    asyncio.run(endpoint.deliver(action("a1"), published=time.time() - 5.0))  # on the topic 5 s ago
    assert 5.0 <= histogram._sum.get() - before < 60.0


def test_each_webhook_reads_in_a_group_of_its_own_that_outlasts_its_retries(monkeypatch):
    made: list[dict[str, Any]] = []

    class Consumer:
        def __init__(self, *topics: str, **options: Any) -> None:
            made.append({"topics": topics, **options})

        async def start(self) -> None:
            raise ConnectionError("no broker in this test")

    monkeypatch.setattr("streams.actions.deliver.AIOKafkaConsumer", Consumer)
    endpoint, _, _ = scripted([], retry_for="1h")
    with pytest.raises(ConnectionError):
        asyncio.run(endpoint.run())
    [options] = made
    assert options["topics"] == ("compliance.actions",)
    assert options["group_id"] == f"compliance-monitor-webhook-{endpoint.hook.name}"
    assert options["max_poll_interval_ms"] > 3600 * 1000  # a record retried for an hour stays in the group


@pytest.mark.parametrize(
    ("secret", "problem"), [(None, "CM_HOOK_GW is not set"), ("whsec_!!!", "CM_HOOK_GW:")]
)
def test_actions_deliver_stops_at_start_on_a_missing_or_malformed_secret(tmp_path, secret, problem):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "actions:\n  webhooks:\n    - {name: gw, url: 'https://gw.example/h', secret_env: CM_HOOK_GW}\n",
        encoding="utf-8",
    )
    env = {"CM_KAFKA_BROKER": "kafka://127.0.0.1:1", "CM_POLICY": str(policy), "CM_HOOK_GW": secret}
    result = CliRunner().invoke(app, ["actions", "deliver"], env=env)
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2 and problem in said and "webhook 'gw'" in said, result.output


def test_a_redirect_is_never_followed():
    from aiohttp import ClientSession, web
    from aiohttp.test_utils import TestServer

    hits: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        hits.append("moved")
        raise web.HTTPFound("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        hits.append("elsewhere")
        return web.Response(status=204)

    async def scenario() -> Attempt:
        receiver = web.Application()
        receiver.router.add_routes([web.post("/h", moved), web.post("/elsewhere", elsewhere)])
        async with TestServer(receiver) as server, ClientSession() as session:
            hook = Webhook(name="gw", url=str(server.make_url("/h")), secret_env="X")
            endpoint = Endpoint(hook, "whsec_eA==", Settings(), session, None)  # type: ignore[arg-type]
            return await endpoint.post(action("a1"))

    attempt = asyncio.run(scenario())
    assert attempt.status == 302 and attempt.final and hits == ["moved"]


def test_a_dead_letter_is_keyed_by_its_action_id():
    """docs/events.md: ``compliance.actions.deadletter`` is keyed by ``action_id``."""
    endpoint, _, _ = scripted([Attempt(410)])
    keys: list[bytes] = []

    async def dead_letter(key: bytes, value: bytes) -> None:
        keys.append(key)

    endpoint.dead_letter = dead_letter
    asyncio.run(endpoint.deliver(action("a7"), published=0.0))
    assert keys == [b"a7"]


def test_actions_list_on_the_command_line_shows_the_newest_request_first(monkeypatch):
    from streams.actions import run

    actions = {a.action_id: a for a in (action("old", at=T0), action("new", at=T0 + timedelta(days=1)))}

    async def read(settings):
        return actions

    monkeypatch.setattr(run, "read_actions", read)
    result = CliRunner().invoke(app, ["actions", "list", "--format", "json"], env={"CM_POLICY": None})
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["action_id"] for line in result.stdout.splitlines()] == ["new", "old"]
