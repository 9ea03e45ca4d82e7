"""IT actions without a broker: the console's /actions endpoints over a stand-in desk, the
CLI's early exits, and the deliverer's retry, backoff and circuit logic."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from typer.testing import CliRunner

from detectors.action_book import DecisionError, UnknownActionError
from detectors.action_policy import Webhook
from events import Action
from streams.actions.deliver import (
    CIRCUIT_OPEN,
    DELIVERIES,
    Attempt,
    Endpoint,
    WebhookSecretError,
    read_secrets,
)
from streams.actions.desk import ActionDesk, DecisionNotApplied
from streams.actions.webhooks import alertmanager_payload, webhook_id
from streams.cli import app
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


def test_a_dead_letter_is_keyed_by_its_action_id():
    """docs/events.md: ``compliance.actions.deadletter`` is keyed by ``action_id``."""
    endpoint, _, _ = scripted([Attempt(410)])
    keys: list[bytes] = []

    async def dead_letter(key: bytes, value: bytes) -> None:
        keys.append(key)

    endpoint.dead_letter = dead_letter
    asyncio.run(endpoint.deliver(action("a7"), published=0.0))
    assert keys == [b"a7"]
