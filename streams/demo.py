"""``demo``: embedded broker (Tansu) + embedded ClickHouse (chDB) + a worker + the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import orjson
from rich.console import Console
from rich.panel import Panel

from infra.brokers import free_port, port_open, start_tansu
from simulator import produce
from streams.console.users import add_user
from streams.process import spawn_worker
from streams.settings import Settings

console = Console()


DEMO_USERS = (
    ("li.wei", "李伟", "officer"),
    ("zhang.min", "张敏", "hr"),
    ("wang.it", "王工", "it"),
    ("chen.audit", "陈审计", "auditor"),
    ("admin", "管理员", "admin"),
)


def write_demo_users(path: Path) -> tuple[list[tuple[str, str, str]], str]:
    """A fresh users file: one demo user per role with a new password, and a token for this
    terminal's alert printer. Returns ((name, role, password), …) and the token."""
    path.unlink(missing_ok=True)
    logins = []
    for name, display, role in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        add_user(path, name, [role], display, password)  # type: ignore[list-item]
        logins.append((name, role, password))
    token = add_user(path, "demo-terminal", ["auditor"], "demo terminal", token=True)
    assert token is not None  # noqa: S101 - asked for one
    return logins, token


def _fetch_alerts(port: int, token: str) -> list[dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/alerts?limit=50", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - http://127.0.0.1
        return orjson.loads(response.read())["alerts"]


async def _print_alerts(port: int, token: str) -> None:
    seen: dict[str, int] = {}
    colours = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "white"}
    while True:
        await asyncio.sleep(2)
        try:
            alerts = await asyncio.to_thread(_fetch_alerts, port, token)
        except OSError:
            continue
        for alert in reversed(alerts):
            if seen.get(alert["alert_id"], 0) >= alert["revision"]:
                continue
            verb = "new" if alert["alert_id"] not in seen else "updated"
            seen[alert["alert_id"]] = alert["revision"]
            colour = colours.get(alert["severity"], "white")
            console.print(
                f"[{colour}]{alert['severity']:>8}[/] {verb:7} {alert['rule_id']:28} {alert['summary']}",
                highlight=False,
            )


async def _run(settings: Settings, port: int, token: str, duration: float | None, rate: float) -> None:
    tasks = [
        asyncio.create_task(produce(settings, rate=rate, duration=duration)),
        asyncio.create_task(_print_alerts(port, token)),
    ]
    try:
        if duration is None:
            await asyncio.gather(*tasks)
        else:
            await asyncio.sleep(duration)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def run_demo(settings: Settings, duration: float | None = None, rate: float = 100.0) -> int:
    """Run everything until Ctrl-C or ``duration`` seconds; return the exit code."""
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(data_dir / "faust", ignore_errors=True)  # the embedded broker starts empty each time
    settings = settings.model_copy(update={"data_dir": data_dir})
    broker = start_tansu(data_dir / "tansu")
    port = settings.web_port if settings.web_port and not port_open(settings.web_port) else free_port()
    settings = settings.model_copy(update={"kafka_broker": broker.url, "web_port": port})
    users = data_dir / "users.yaml"
    logins, token = write_demo_users(users)
    worker = spawn_worker(
        data_dir,
        {"CM_KAFKA_BROKER": broker.url, "CM_WEB_PORT": str(port), "CM_USERS": str(users)},
        settings.policy,
    )
    accounts = "\n".join(f"  {name:<11} {role:<8} password {password}" for name, role, password in logins)
    console.print(
        Panel.fit(
            f"[b]console[/b]          http://127.0.0.1:{port}/  (sign in as one of these)\n{accounts}\n"
            f"[b]alerts API[/b]       http://127.0.0.1:{port}/api/v1/alerts (Authorization: Bearer <token>)\n"
            f"[b]metrics[/b]          http://127.0.0.1:{port}/metrics\n"
            f"[b]data directory[/b]   {data_dir} (ClickHouse: {data_dir / 'clickhouse'})\n"
            f"[b]broker[/b]           Tansu at {broker.bootstrap}; worker log {data_dir / 'worker.log'}\n"
            "The first alerts appear within a minute (a first group join can take ~30 s). Ctrl-C stops.",
            title="compliance-monitor demo",
        )
    )
    started = time.monotonic()
    try:
        asyncio.run(_run(settings, port, token, duration, rate))
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        with contextlib.suppress(ProcessLookupError):
            worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
        broker.stop()
    console.print(f"demo ran {time.monotonic() - started:.0f} s; alerts stay in {data_dir / 'clickhouse'}")
    return 0
