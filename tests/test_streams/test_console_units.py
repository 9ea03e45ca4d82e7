"""The console's pure parts: users file, triage transitions, masking, the stream's catch-up."""

from __future__ import annotations

import stat
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import yaml

from streams.console.api import _cell
from streams.console.hub import StreamHub
from streams.console.masking import mask_alert, mask_text
from streams.console.triage import TransitionError, Triage, TriageRequest, apply
from streams.console.users import UsersFileError, add_user, load_users, token_digest

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
    assert again.exit_code == 2 and "exists already" in again.stderr and again.stdout == ""
    unnamed = CliRunner().invoke(app, add[:-2], env={"CM_USERS": None})
    assert unnamed.exit_code == 2 and "--users-file or CM_USERS" in unnamed.stderr
    from_env = CliRunner().invoke(app, ["users", "add", "h", "--role", "hr"], env={"CM_USERS": str(path)})
    assert from_env.exit_code == 0 and tuple(load_users(path).by_name["h"].roles) == ("hr",), from_env.output


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
