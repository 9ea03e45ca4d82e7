"""The console's pure parts: users file, triage transitions, masking, the stream's catch-up;
and its HTTP API over a stand-in store (who sees what, cookies, CSRF)."""

from __future__ import annotations

import asyncio
import stat
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from streams.console.api import ConsoleAPI, _cell
from streams.console.auth import Authenticator
from streams.console.hub import StreamHub
from streams.console.masking import mask_alert, mask_text
from streams.console.service import TriageService
from streams.console.triage import TransitionError, Triage, TriageRequest, apply
from streams.console.users import ROLES, Directory, User, UsersFileError, add_user, load_users, token_digest

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_users_file_keeps_hashes_only_and_is_private(tmp_path):
    path = tmp_path / "users.yaml"
    token = add_user(path, "li.wei", ["officer"], "李伟", "s3cret-pw", token=True)
    assert token and stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert token not in text and "s3cret-pw" not in text and token_digest(token) in text
    users = load_users(path)
    assert users.by_token(token).name == "li.wei" and users.by_token("wrong") is None
    assert users.by_password("li.wei", "s3cret-pw").display_name == "李伟"
    assert users.by_password("li.wei", "nope") is None and users.by_password("nobody", "x") is None
    with pytest.raises(UsersFileError, match="exists already"):
        add_user(path, "li.wei", ["hr"])


def test_a_bad_users_file_names_the_key(tmp_path):
    path = tmp_path / "users.yaml"
    path.write_text(yaml.safe_dump({"users": [{"name": "x", "roles": ["boss"]}]}), encoding="utf-8")
    with pytest.raises(UsersFileError, match=r"users\.0\.roles\.0"):
        load_users(path)
    path.write_text(yaml.safe_dump({"users": [{"name": "x", "roles": ["hr"], "password_hash": "plain"}]}))
    with pytest.raises(UsersFileError, match="password_hash"):
        load_users(path)


def test_the_worker_refuses_a_bad_users_file_before_it_connects(tmp_path):
    path = tmp_path / "users.yaml"
    path.write_text("users: [{name: x, roles: []}]\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "streams", "worker"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "CM_USERS": str(path),
            "CM_PSEUDONYM_KEY": "k" * 20,
            "CM_KAFKA_BROKER": "kafka://127.0.0.1:1",
            "PATH": "/usr/bin:/bin",
        },
        check=False,
    )
    assert result.returncode == 2 and "users.0.roles" in result.stderr


def test_users_add_refuses_an_unknown_role(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "users",
            "add",
            "x",
            "--role",
            "boss",
            "--users-file",
            str(tmp_path / "u.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "officer, hr, it, auditor, admin" in result.stderr


def test_the_console_refuses_to_start_without_a_usable_users_file(tmp_path):
    from typer.testing import CliRunner

    from streams.cli import app

    env = {"CM_USERS": None, "CM_KAFKA_BROKER": "kafka://127.0.0.1:1", "CM_CLICKHOUSE_URL": None}
    missing = CliRunner().invoke(app, ["console"], env=env)
    assert missing.exit_code == 2 and "needs a users file" in missing.stderr, missing.output
    bad = tmp_path / "users.yaml"
    bad.write_text("users: [{name: x, roles: [boss]}]\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["console", "--users", str(bad)], env=env)
    assert result.exit_code == 2 and "users.0.roles" in result.stderr, result.output


def test_users_add_prints_the_token_once_and_refuses_a_taken_name_or_no_file(tmp_path):
    from typer.testing import CliRunner

    from streams.cli import app

    path = tmp_path / "users.yaml"
    add = ["users", "add", "li.wei", "--role", "officer", "--token", "--users-file", str(path)]
    first = CliRunner().invoke(app, add, env={"CM_USERS": None})
    assert first.exit_code == 0, first.output
    token = first.stdout.rsplit(": ", 1)[1].strip()
    assert load_users(path).by_token(token).name == "li.wei" and token not in path.read_text(encoding="utf-8")
    again = CliRunner().invoke(app, add, env={"CM_USERS": None})
    assert again.exit_code == 2 and "exists already" in " ".join(again.stderr.split()) and again.stdout == ""
    unnamed = CliRunner().invoke(app, add[:-2], env={"CM_USERS": None})
    assert unnamed.exit_code == 2 and "--users-file or CM_USERS" in " ".join(unnamed.stderr.split())
    from_env = CliRunner().invoke(app, ["users", "add", "h", "--role", "hr"], env={"CM_USERS": str(path)})
    assert from_env.exit_code == 0 and tuple(load_users(path).by_name["h"].roles) == ("hr",), from_env.output


def test_users_add_asks_for_a_password_and_keeps_its_argon2id_hash(tmp_path):
    from typer.testing import CliRunner

    from streams.cli import app

    path = tmp_path / "users.yaml"
    add = ["users", "add", "zhang.min", "--role", "hr", "--password", "--users-file", str(path)]
    result = CliRunner().invoke(app, add, input="s3cret-pw\ns3cret-pw\n", env={"CM_USERS": None})
    assert result.exit_code == 0, result.output
    [user] = yaml.safe_load(path.read_text(encoding="utf-8"))["users"]
    assert user["password_hash"].startswith("$argon2id$") and "s3cret-pw" not in path.read_text(
        encoding="utf-8"
    )
    assert load_users(path).by_password("zhang.min", "s3cret-pw").name == "zhang.min"


def change(current: Triage, **body) -> Triage:
    return apply(current, TriageRequest(**body), alert_id="a", user="u", role="officer", at=AT)[0]


def test_triage_transitions():
    acknowledged = change(Triage(), action="acknowledge")
    assert acknowledged.status == "acknowledged"
    closed = change(acknowledged, action="close", reason="duplicate")
    assert (closed.status, closed.reason) == ("closed", "duplicate")
    assert change(closed, action="reopen") == Triage(status="open", updated_at=AT, updated_by="u")
    assert change(Triage(), action="close", reason="resolved").status == "closed"  # straight from open
    for current, body in (
        (acknowledged, {"action": "acknowledge"}),
        (Triage(), {"action": "reopen"}),
        (closed, {"action": "close", "reason": "resolved"}),
        (closed, {"action": "assign", "assignee": "x"}),
    ):
        with pytest.raises(TransitionError):
            change(current, **body)
    assert change(closed, action="comment", comment="note").status == "closed"
    with pytest.raises(ValueError, match="reason"):
        TriageRequest(action="close")


def test_masking_keeps_the_last_four_characters_and_pseudonyms():
    alert = {
        "subject": {"kind": "phone", "id": "+8613800138000"},
        "employee_ids": ["E1042", "p-0123456789abcdef0123"],
        "summary": "External number +8613800138000 reached E1042",
        "details": {"numbers": ["021-60000000"], "count": 3},
    }
    masked = mask_alert(alert)
    assert masked["subject"]["id"] == "•8000" and masked["employee_ids"] == [
        "•1042",
        "p-0123456789abcdef0123",
    ]
    assert "+8613800138000" not in masked["summary"] and masked["details"]["count"] == 3
    assert masked["details"]["numbers"] == ["•0000"] and mask_text("call 95588 now") == "call 95588 now"


def test_masking_finds_the_alerts_ids_inside_summaries_and_details_too():
    alert = {
        "subject": {"kind": "phone", "id": "+8613800138000"},
        "employee_ids": ["E-7-1042"],
        "summary": "Collection message from +8613800138000 to employee E-7-1042 (逾期, 还款)",
        "details": {"employee_id": "E-7-1042", "sentences": ["E-7-1042 的同事"]},
    }
    masked = mask_alert(alert)
    assert masked["summary"] == "Collection message from •8000 to employee •1042 (逾期, 还款)"
    assert masked["details"] == {"employee_id": "•1042", "sentences": ["•1042 的同事"]}


def test_the_stream_replays_what_a_reconnecting_client_missed():
    hub = StreamHub(keep=3)
    first = hub.publish("alert", {"n": 1})
    for n in range(2, 5):
        hub.publish("alert", {"n": n})
    assert [m.data["n"] for m in hub.missed(first.id)] == [2, 3, 4]
    assert [m.data["n"] for m in hub.missed("other-boot-9")] == [2, 3, 4]  # all that is kept
    assert hub.missed(None) == [] and first.encode().startswith(b"id: " + first.id.encode())


def test_csv_cells_never_start_a_formula():
    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("@cmd") == "'@cmd"
    assert _cell("+8613800138000") == "+8613800138000" and _cell("-1+2") == "'-1+2"


def test_the_console_bench_reports_every_figure_on_a_small_store():
    from bench.console import run_console_bench

    report = run_console_bench(500, lambda text: None)
    for key in ("list_p95_ms", "filter_p95_ms", "detail_p95_ms", "sse_delay_p95_ms"):
        assert report[key] > 0 and len(report[key.replace("_p95", "")]) >= 20, key


# The API over a stand-in store: one user per role (named after it, token ``t-<role>``,
# password ``pw``), a phone alert and an alert about a mail sender.

PHONE = "+8613800138000"
PHONE_ALERT = {
    "alert_id": "a-phone",
    "rule_id": "harassment.contact_blast",
    "category": "harassment",
    "severity": "high",
    "subject": {"kind": "phone", "id": PHONE},
    "employee_ids": ["E-7-1042", "E-7-2043"],
    "summary": f"External number {PHONE} reached 2 employees",
    "details": {},
    "event_ids": [],
    "revision": 1,
    "first_event_time": "2026-11-23T10:00:00Z",
    "last_event_time": "2026-11-23T10:05:00Z",
}
MAIL_ALERT = {
    **PHONE_ALERT,
    "alert_id": "a-mail",
    "rule_id": "harassment.collection_email",
    "subject": {"kind": "mail_sender", "id": "notice@agency.example"},
    "employee_ids": ["E-7-3044"],
    "summary": "A collection letter reached 1 employee",
}


class StandInStore:
    """The store's answers the API needs, from a dict; it keeps the published audit records
    (``takes_records=False``: a store that never writes them)."""

    def __init__(self, alerts: list[dict[str, Any]], takes_records: bool = True) -> None:
        self.alerts = {a["alert_id"]: a for a in alerts}
        self.takes_records = takes_records
        self.published: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.limits: list[int] = []

    def _row(self, alert: dict[str, Any]) -> dict[str, Any]:
        return {**alert, "triage": Triage().model_dump(mode="json")}

    def list_alerts(self, where, limit, cursor=None, ids=None, stored_after=None):
        self.limits.append(limit)
        rows = [self._row(a) for a in self.alerts.values() if ids is None or a["alert_id"] in ids]
        return rows[:limit], None

    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        return self._row(self.alerts[alert_id]) if alert_id in self.alerts else None

    def audit(self, alert_id=None, user=None, since=None, limit=100, oldest_first=False):
        found = [
            r
            for r in self.records
            if (alert_id is None or r["alert_id"] == alert_id) and (user is None or r["user"] == user)
        ]
        return sorted(found, key=lambda r: r["at"], reverse=not oldest_first)[:limit]

    def events(self, uids: list[str]) -> list[dict[str, Any]]:
        return []


def stand_in_console(
    store: StandInStore, proxies: list[str] | None = None, employee_for: Callable[[str], str | None] = str
) -> ConsoleAPI:
    async def publish(record) -> None:
        store.published.append(record.model_dump(mode="json", exclude={"triage"}))
        if store.takes_records:
            store.records.append(store.published[-1])

    password = PasswordHasher(time_cost=1, memory_cost=1024).hash("pw")
    users = Directory(
        [User(name=r, roles=(r,), token_sha256=token_digest(f"t-{r}"), password_hash=password) for r in ROLES]
    )
    auth = Authenticator(users, b"k" * 32, "X-Remote-User", proxies or [])
    service = TriageService(store, publish, StreamHub())  # type: ignore[arg-type]
    return ConsoleAPI(service, auth, lambda: [], employee_for)


def over_http(api: ConsoleAPI, scenario: Callable[[TestClient], Awaitable[Any]]) -> Any:
    """Run ``scenario`` with a client of ``api`` served on a loopback port."""

    async def run() -> Any:
        app = web.Application()
        app.router.add_routes(api.routes())
        async with TestClient(TestServer(app)) as client:
            return await scenario(client)

    return asyncio.run(run())


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer t-{role}"}


async def streamed(client: TestClient, role: str) -> list[tuple[str, dict[str, Any]]]:
    """Every kept message of the event stream that ``role`` receives: (event, data)."""
    headers = {**bearer(role), "Last-Event-ID": "earlier-run-0"}  # replays all that is kept
    out = []
    async with client.get("/api/v1/stream", headers=headers) as response:
        event = None
        while (line := await response.content.readline()) != b": connected\n":
            if line.startswith(b"event: "):
                event = line[7:].strip().decode()
            elif line.startswith(b"data: "):
                out.append((event, orjson.loads(line[6:])))
    return out


def test_the_stream_shows_a_triage_record_only_to_who_may_read_its_alert_and_masks_it():
    store = StandInStore([PHONE_ALERT, MAIL_ALERT])
    api = stand_in_console(store)

    async def scenario(client: TestClient) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        for alert_id, comment in (
            ("a-phone", f"called {PHONE} back; E-7-1042 knew it"),
            ("a-mail", "the sender wrote to E-7-3044, call 13912345678"),
        ):
            body = {"action": "comment", "comment": comment}
            path = f"/api/v1/alerts/{alert_id}/triage"
            assert (await client.post(path, json=body, headers=bearer("officer"))).status == 200
        assert (await client.get("/api/v1/export.csv", headers=bearer("officer"))).status == 200
        return {role: await streamed(client, role) for role in ROLES}

    seen = over_http(api, scenario)

    def records(role: str) -> dict[str | None, dict[str, Any]]:
        return {data["alert_id"]: data for event, data in seen[role] if event == "triage"}

    # it: only the record about the mail sender's alert, its ids and numbers masked
    assert set(records("it")) == {"a-mail"}
    assert records("it")["a-mail"]["comment"] == "the sender wrote to •3044, call •5678"
    assert {data["alert_id"] for event, data in seen["it"] if event == "alert"} == {"a-mail"}
    # auditor: every record (it reads the audit log), masked
    assert set(records("auditor")) == {"a-phone", "a-mail", None}
    assert records("auditor")["a-phone"]["comment"] == "called •8000 back; •1042 knew it"
    assert PHONE not in str(seen["auditor"]) and "E-7-" not in str(seen["auditor"])
    # officer and hr: records about the alerts they read, in clear; the export is the audit log's
    for role in ("officer", "hr"):
        assert set(records(role)) == {"a-phone", "a-mail"}, role
        assert records(role)["a-phone"]["comment"] == f"called {PHONE} back; E-7-1042 knew it"
    assert set(records("admin")) == {"a-phone", "a-mail", None}


def test_an_alerts_history_and_the_audit_log_show_it_and_auditors_ids_and_numbers_masked():
    store = StandInStore([PHONE_ALERT, MAIL_ALERT])
    api = stand_in_console(store)

    async def scenario(client: TestClient) -> list[dict[str, Any]]:
        for alert_id, comment in (
            ("a-mail", "E-7-3044 forwarded it from 13912345678"),
            ("a-phone", f"{PHONE} called E-7-2043"),
        ):
            body = {"action": "comment", "comment": comment}
            await client.post(f"/api/v1/alerts/{alert_id}/triage", json=body, headers=bearer("officer"))
        return [
            await (await client.get("/api/v1/alerts/a-mail", headers=bearer("it"))).json(),
            await (await client.get("/api/v1/alerts/a-phone", headers=bearer("officer"))).json(),
            await (await client.get("/api/v1/audit", headers=bearer("auditor"))).json(),
            await (await client.get("/api/v1/audit", headers=bearer("admin"))).json(),
        ]

    it_alert, officer_alert, auditor_log, admin_log = over_http(api, scenario)
    assert [h["comment"] for h in it_alert["history"]] == ["•3044 forwarded it from •5678"]
    assert [h["comment"] for h in officer_alert["history"]] == [f"{PHONE} called E-7-2043"]
    assert [r["comment"] for r in auditor_log["records"]] == [
        "•8000 called •2043",
        "•3044 forwarded it from •5678",
    ]
    assert [r["comment"] for r in admin_log["records"]] == [
        f"{PHONE} called E-7-2043",
        "E-7-3044 forwarded it from 13912345678",
    ]


def test_the_session_cookie_is_secure_when_a_trusted_proxy_says_the_browser_used_https():
    login = {"name": "officer", "password": "pw"}

    async def cookies(client: TestClient, headers: dict[str, str]) -> str:
        response = await client.post("/login", json=login, headers=headers)
        assert response.status == 200
        return response.headers["Set-Cookie"]

    async def scenario(client: TestClient) -> list[str]:
        return [
            await cookies(client, {"X-Forwarded-Proto": "https"}),
            await cookies(client, {"X-Forwarded-Proto": "https, http"}),  # the client's side first
            await cookies(client, {"X-Forwarded-Proto": "http"}),
            await cookies(client, {}),
        ]

    behind_proxy = over_http(stand_in_console(StandInStore([]), proxies=["127.0.0.0/8"]), scenario)
    assert ["Secure" in c for c in behind_proxy] == [True, True, False, False]
    assert all("HttpOnly" in c and "SameSite=Strict" in c for c in behind_proxy)
    # from an address that is no trusted proxy, the header says nothing
    elsewhere = over_http(stand_in_console(StandInStore([]), proxies=["10.0.0.0/8"]), scenario)
    assert not any("Secure" in c for c in elsewhere)


def test_a_user_named_by_a_trusted_proxy_needs_the_csrf_token_to_change_anything():
    named = {"X-Remote-User": "officer"}  # what the proxy adds to any request of the browser
    change = {"action": "comment", "comment": "from behind the proxy"}
    path = "/api/v1/alerts/a-phone/triage"

    async def scenario(client: TestClient) -> list[Any]:
        session = await (await client.get("/api/v1/session", headers=named)).json()
        hr = await (await client.get("/api/v1/session", headers={"X-Remote-User": "hr"})).json()
        without = await client.post(path, json=change, headers=named)
        wrong = await client.post(path, json=change, headers={**named, "X-CSRF-Token": hr["csrf"] or ""})
        right = await client.post(path, json=change, headers={**named, "X-CSRF-Token": session["csrf"] or ""})
        return [session["user"], without.status, await without.json(), wrong.status, right.status]

    api = stand_in_console(StandInStore([PHONE_ALERT]), proxies=["127.0.0.0/8"])
    user, without, error, wrong, right = over_http(api, scenario)
    assert user == "officer"
    assert (without, error) == (403, {"error": "missing or wrong X-CSRF-Token"})
    assert (wrong, right) == (403, 200)


def test_the_proxy_header_counts_only_from_a_trusted_proxy():
    async def scenario(client: TestClient) -> int:
        return (await client.get("/api/v1/alerts", headers={"X-Remote-User": "admin"})).status

    assert over_http(stand_in_console(StandInStore([]), proxies=["127.0.0.0/8"]), scenario) == 200
    assert over_http(stand_in_console(StandInStore([]), proxies=["10.0.0.0/8"]), scenario) == 401


def test_a_change_is_answered_only_once_the_broker_has_its_audit_record():
    """The console's ``publish`` returns when the broker confirmed the record (the worker's
    outbox, the console process' ``send_and_wait``); until then the change is not answered,
    and a record the broker refuses is no change."""
    api = stand_in_console(StandInStore([PHONE_ALERT]))
    path = "/api/v1/alerts/a-phone/triage"

    async def scenario(client: TestClient) -> tuple[bool, int, int, list[str]]:
        confirmed = asyncio.Event()

        async def publish(record) -> None:
            await confirmed.wait()

        async def refuse(record) -> None:
            raise ConnectionError("the broker did not take it")

        api.service.publish_record = publish
        answer = asyncio.ensure_future(
            client.post(path, json={"action": "acknowledge"}, headers=bearer("officer"))
        )
        await asyncio.sleep(0.3)
        waited = not answer.done()
        confirmed.set()
        acknowledged = (await answer).status
        api.service.publish_record = refuse
        body = {"action": "comment", "comment": "lost"}
        refused = (await client.post(path, json=body, headers=bearer("officer"))).status
        alert = await (await client.get("/api/v1/alerts/a-phone", headers=bearer("officer"))).json()
        return waited, acknowledged, refused, [h["action"] for h in alert["history"]]

    waited, acknowledged, refused, history = over_http(api, scenario)
    assert waited and acknowledged == 200
    assert refused == 500 and history == ["acknowledge"]


def test_a_reveal_the_store_does_not_record_in_time_answers_503_and_reveals_nothing(monkeypatch):
    monkeypatch.setattr("streams.console.service.STORE_WAIT_SECONDS", 0.3)
    distress = {
        **PHONE_ALERT,
        "alert_id": "a-distress",
        "subject": {"kind": "employee", "id": "p-0123456789abcdef0123"},
        "employee_ids": ["p-0123456789abcdef0123"],
    }
    store = StandInStore([distress], takes_records=False)
    looked_up: list[str] = []
    api = stand_in_console(store, employee_for=lambda p: looked_up.append(p) or "E-real")

    async def scenario(client: TestClient) -> tuple[int, dict[str, Any]]:
        body = {"reason": "employee assistance interview"}
        response = await client.post("/api/v1/alerts/a-distress/reveal", json=body, headers=bearer("hr"))
        return response.status, await response.json()

    status, body = over_http(api, scenario)
    assert status == 503 and "nothing revealed" in body["error"] and "employees" not in body
    assert looked_up == [] and "E-real" not in str(body)
    assert [r["action"] for r in store.published] == ["reveal"]  # the attempt is on the topic


def test_alerts_come_fifty_to_a_page_unless_asked_and_at_most_500():
    store = StandInStore([PHONE_ALERT])
    api = stand_in_console(store)

    async def scenario(client: TestClient) -> list[int]:
        return [
            (await client.get(f"/api/v1/alerts{query}", headers=bearer("officer"))).status
            for query in ("", "?limit=500", "?limit=501")
        ]

    assert over_http(api, scenario) == [200, 200, 400]
    assert store.limits == [50, 500]


def test_a_session_lasts_twelve_hours(monkeypatch):
    api = stand_in_console(StandInStore([]))
    cookie, _ = api.auth.issue(api.auth.users.by_name["officer"])
    request = type("Request", (), {"cookies": {"cm_session": cookie}, "headers": {}, "remote": "127.0.0.1"})()
    now = time.time()
    monkeypatch.setattr("streams.console.auth.time.time", lambda: now + 12 * 3600 - 60)
    assert api.auth.identify(request).user.name == "officer"
    monkeypatch.setattr("streams.console.auth.time.time", lambda: now + 12 * 3600 + 60)
    assert api.auth.identify(request) is None


def _request(remote: str, headers: dict[str, str] | None = None):
    from unittest import mock

    from aiohttp.test_utils import make_mocked_request

    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (remote, 40000) if name == "peername" else default
    )
    return make_mocked_request("GET", "/api/v1/alerts", headers=headers or {}, transport=transport)


def test_consoles_sharing_cm_console_secret_accept_each_others_sessions(tmp_path):
    from streams.console.app import _secret
    from streams.console.auth import SESSION_COOKIE, Authenticator
    from streams.settings import Settings

    add_user(tmp_path / "users.yaml", "li.wei", ["officer"], password="s3cret-pw")
    users = load_users(tmp_path / "users.yaml")
    shared = Settings(console_secret="one-secret-for-every-console")
    first, second = (Authenticator(users, _secret(shared)) for _ in range(2))
    cookie, _ = first.issue(users.by_name["li.wei"])
    signed_in = _request("10.0.0.5", {"Cookie": f"{SESSION_COOKIE}={cookie}"})
    assert second.identify(signed_in).user.name == "li.wei"
    unset = Settings(console_secret=None)
    assert _secret(unset) != _secret(unset)  # without it: random per process
    assert Authenticator(users, _secret(unset)).identify(signed_in) is None


def test_the_proxy_header_names_the_user_only_from_a_trusted_address(tmp_path):
    from streams.console.auth import Authenticator

    add_user(tmp_path / "users.yaml", "li.wei", ["officer"], password="s3cret-pw")
    users = load_users(tmp_path / "users.yaml")
    auth = Authenticator(users, b"k" * 32, "X-Remote-User", ["10.0.0.0/8"])
    assert auth.identify(_request("10.1.2.3", {"X-Remote-User": "li.wei"})).user.name == "li.wei"
    assert auth.identify(_request("192.168.1.9", {"X-Remote-User": "li.wei"})) is None
    assert auth.identify(_request("10.1.2.3", {"X-Remote-User": "nobody"})) is None


def test_only_hr_and_admin_may_reveal(tmp_path):
    from streams.console.auth import Principal

    path = tmp_path / "users.yaml"
    for role in ("officer", "hr", "it", "auditor", "admin"):
        add_user(path, f"u-{role}", [role], password="s3cret-pw")
    users = load_users(path)
    allowed = {
        role
        for role in ("officer", "hr", "it", "auditor", "admin")
        if Principal(users.by_name[f"u-{role}"], "token").may("reveal")
    }
    assert allowed == {"hr", "admin"}


def test_it_sees_an_action_s_target_in_full_and_numbers_in_its_texts_masked():
    from streams.console.masking import mask_action

    action = {
        "action_id": "a1",
        "target": "notice@agency.example",
        "reason": "collection e-mail naming +8613800138000",
        "comment": "called 13800138000 back",
        "alert": {
            "rule_id": "harassment.collection_email",
            "severity": "high",
            "summary": "催收 13800138000",
        },
    }
    shown = mask_action(action)
    assert shown["target"] == "notice@agency.example"
    assert "13800138000" not in orjson.dumps(shown).decode() and "•8000" in shown["alert"]["summary"]


def test_users_add_keeps_a_password_as_an_argon2id_hash(tmp_path):
    add_user(tmp_path / "users.yaml", "li.wei", ["officer"], password="s3cret-pw")
    stored = load_users(tmp_path / "users.yaml").by_name["li.wei"].password_hash
    assert stored is not None and stored.startswith("$argon2id$")  # not argon2i or argon2d


def test_the_audit_log_records_the_most_powerful_role_a_user_holds():
    from streams.console.auth import Principal

    def role(*roles: str) -> str:
        return Principal(User(name="u", roles=roles), "token").role  # type: ignore[arg-type]

    assert role("auditor", "officer", "it") == "officer"
    assert role("officer", "hr") == "hr"
    assert role("it", "auditor") == "it"
    assert role("it", "hr", "admin") == "admin"


def test_a_triage_record_says_where_the_alert_came_from_and_went_and_from_which_client():
    store = StandInStore([PHONE_ALERT])

    async def scenario(client: TestClient) -> None:
        for body in ({"action": "acknowledge"}, {"action": "close", "reason": "resolved"}):
            response = await client.post(
                "/api/v1/alerts/a-phone/triage", json=body, headers=bearer("officer")
            )
            assert response.status == 200

    over_http(stand_in_console(store), scenario)
    shown = [
        (r["action"], r["from_status"], r["to_status"], r["reason"], r["client"]) for r in store.published
    ]
    assert shown == [
        ("acknowledge", "open", "acknowledged", None, "127.0.0.1"),
        ("close", "acknowledged", "closed", "resolved", "127.0.0.1"),
    ]
    assert {(r["user"], r["role"]) for r in store.published} == {("officer", "officer")}


def test_a_change_is_answered_only_once_its_record_is_published():
    store = StandInStore([PHONE_ALERT])
    api = stand_in_console(store)
    published = api.service.publish_record

    async def scenario(client: TestClient) -> tuple[bool, int, int]:
        gate = asyncio.Event()

        async def slow_broker(record) -> None:
            await gate.wait()  # the broker has not confirmed yet
            await published(record)

        api.service.publish_record = slow_broker
        body = {"action": "acknowledge"}
        answer = asyncio.ensure_future(
            client.post("/api/v1/alerts/a-phone/triage", json=body, headers=bearer("officer"))
        )
        await asyncio.sleep(0.2)
        answered_early = answer.done()
        gate.set()
        return answered_early, (await answer).status, len(store.published)

    assert over_http(api, scenario) == (False, 200, 1)


def test_the_worker_waits_for_the_broker_before_it_returns_from_publishing_an_audit_record(
    tmp_path, monkeypatch
):
    from detectors import load_policy
    from streams.delivery import Outbox
    from streams.process import DEMO_POLICY
    from streams.settings import Settings
    from streams.worker import build_pipeline
    from tests.test_streams.test_route_order import SlowProducer

    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    producer = SlowProducer()  # the broker acknowledges each record 10 ms after it was sent
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))
    asyncio.run(pipeline.publish_audit(b'{"audit_id": "x"}', "a1"))
    assert [(topic, key) for topic, key, _ in producer.sent] == [("compliance.triage", b"a1")]
    assert all(f.done() for f in producer.futures)


def test_the_stream_keeps_the_last_10000_messages_for_clients_that_catch_up():
    hub = StreamHub()
    for n in range(10_001):
        hub.publish("alert", {"n": n})
    kept = hub.missed("earlier-run-0")
    assert len(kept) == 10_000 and kept[0].data["n"] == 1 and kept[-1].data["n"] == 10_000


class PagedStore(StandInStore):
    """A store of 125,000 alerts, handed out a page at a time."""

    def list_alerts(self, where, limit, cursor=None, ids=None, stored_after=None):
        row = self._row(PHONE_ALERT)
        page = int(cursor or 0)
        return [row] * limit, (str(page + 1) if (page + 1) * limit < 125_000 else None)


def test_an_export_holds_at_most_100000_alerts():
    store = PagedStore([])

    async def scenario(client: TestClient) -> bytes:
        response = await client.get("/api/v1/export.csv", headers=bearer("officer"))
        assert response.status == 200
        return await response.read()

    body = over_http(stand_in_console(store), scenario)
    assert body.count(b"\n") == 1 + 100_000  # the header and the first 100,000 alerts
    assert store.published[-1]["comment"].startswith("100000 alerts")


def test_a_worker_s_health_names_its_role_policy_and_families(tmp_path):
    from detectors import load_policy
    from streams.process import DEMO_POLICY
    from streams.settings import Settings
    from streams.worker import build_pipeline

    policy = load_policy(DEMO_POLICY)
    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), policy)
    health = pipeline.status()
    assert (health["role"], health["policy_version"]) == ("detect", policy.policy_version)
    assert health["families"] == sorted(pipeline.engine.families) and health["families"]
    assert (health["ready"], health["assigned"]) == (False, [])  # no partitions yet
    assert "store" not in health  # a detecting worker writes no alert store


def test_the_console_process_says_ready_without_asking_its_store_or_the_broker(monkeypatch):
    from aiohttp import web as aiohttp_web

    from detectors import load_policy
    from streams.console import standalone
    from streams.process import DEMO_POLICY
    from streams.settings import Settings

    built: dict[str, Any] = {}

    async def no_topics(settings) -> None:
        return None

    def build(settings, policy, **parts):
        built.update(parts)
        return type("Console", (), {"routes": lambda self: []})()

    monkeypatch.setattr("streams.topics.ensure_topics", no_topics)
    monkeypatch.setattr(standalone, "ClickHouseSink", lambda *args, **kwargs: object())
    monkeypatch.setattr(standalone, "build_console", build)
    monkeypatch.setattr(aiohttp_web, "run_app", lambda app, **kwargs: None)
    standalone.run_console(Settings(), load_policy(DEMO_POLICY))
    assert built["health"]() == {"ready": True, "role": "console"}


def test_the_page_keeps_nothing_in_the_browser_but_its_language():
    """A revealed identity stays on the page until it is reloaded: the script stores nothing
    else (no storage API, no cookie of its own)."""
    import re
    from pathlib import Path

    import streams.console

    script = (Path(streams.console.__file__).parent / "static" / "console.js").read_text(encoding="utf-8")
    uses = re.findall(r"\b(?:localStorage|sessionStorage|indexedDB|caches|document\.cookie)\b[^;\n]*", script)
    assert uses and all('"cm-lang"' in use for use in uses), uses


def test_closing_the_hub_ends_open_streams_so_a_stopping_worker_does_not_wait_for_them():
    """Without it a worker with a console open took 60 s to stop and was then killed."""
    api = stand_in_console(StandInStore([]))

    async def scenario(client: TestClient) -> bytes:
        response = await client.get("/api/v1/stream", headers=bearer("officer"))
        assert (await response.content.readline()) == b": connected\n"
        api.service.hub.close()
        return await asyncio.wait_for(response.content.read(), 5)  # the rest, up to the end

    assert over_http(api, scenario) == b"\n"
