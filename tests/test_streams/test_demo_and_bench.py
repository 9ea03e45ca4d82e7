"""``demo`` and ``bench`` without a broker: fresh demo logins, and the pseudonym key their workers get."""

from __future__ import annotations

import re

import pytest

import streams.process
from bench.pipeline import _Worker
from streams.demo import write_demo_users
from streams.process import spawn_worker
from streams.settings import Settings


@pytest.fixture
def launched(monkeypatch):
    """Stands in for ``subprocess.Popen``: the environments workers would have started with."""
    envs: list[dict[str, str]] = []
    monkeypatch.setattr(streams.process.subprocess, "Popen", lambda args, env, **kwargs: envs.append(env))
    return envs


def test_demo_passwords_are_new_every_run(tmp_path):
    first, _ = write_demo_users(tmp_path / "users.yaml")
    second, _ = write_demo_users(tmp_path / "users.yaml")
    assert [role for _, role, _ in first] == ["officer", "hr", "it", "auditor", "admin"]
    assert all(a != b for (_, _, a), (_, _, b) in zip(first, second, strict=True))


def test_demo_and_bench_workers_keep_a_key_the_user_set(tmp_path, monkeypatch, launched):
    monkeypatch.setenv("CM_PSEUDONYM_KEY", "the-users-own-key-0123")
    spawn_worker(tmp_path / "demo", {"CM_WEB_PORT": "0"})
    _Worker(Settings(), tmp_path)
    assert [env["CM_PSEUDONYM_KEY"] for env in launched] == ["the-users-own-key-0123"] * 2


def test_demo_and_bench_workers_get_a_fresh_key_when_none_is_set(tmp_path, monkeypatch, launched):
    monkeypatch.delenv("CM_PSEUDONYM_KEY", raising=False)
    spawn_worker(tmp_path / "demo", {"CM_WEB_PORT": "0"})
    _Worker(Settings(), tmp_path)
    _Worker(Settings(), tmp_path)
    keys = [env["CM_PSEUDONYM_KEY"] for env in launched]
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys) and len(set(keys)) == 3
