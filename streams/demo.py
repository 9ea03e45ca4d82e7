"""``demo``: embedded broker (Tansu) + embedded ClickHouse (chDB) + a worker + the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import time
import urllib.request

import orjson
from rich.console import Console
from rich.panel import Panel

from infra.brokers import free_port, port_open, start_tansu
from simulator import produce
from streams.process import spawn_worker
from streams.settings import Settings

console = Console()


def _fetch_alerts(port: int) -> list[dict]:
    url = f"http://127.0.0.1:{port}/alerts?limit=50"
    with urllib.request.urlopen(url, timeout=5) as response:
        return orjson.loads(response.read())


async def _print_alerts(port: int) -> None:
    seen: dict[str, int] = {}
    colours = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "white"}
    while True:
        await asyncio.sleep(2)
        try:
            alerts = await asyncio.to_thread(_fetch_alerts, port)
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


async def _run(settings: Settings, port: int, duration: float | None, rate: float) -> None:
    tasks = [
        asyncio.create_task(produce(settings, rate=rate, duration=duration)),
        asyncio.create_task(_print_alerts(port)),
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
    worker = spawn_worker(
        data_dir, {"CM_KAFKA_BROKER": broker.url, "CM_WEB_PORT": str(port)}, settings.policy
    )
    console.print(
        Panel.fit(
            f"[b]live alert feed[/b]  http://127.0.0.1:{port}/\n"
            f"[b]alerts API[/b]       http://127.0.0.1:{port}/alerts\n"
            f"[b]metrics[/b]          http://127.0.0.1:{port}/metrics\n"
            f"[b]data directory[/b]   {data_dir} (ClickHouse: {data_dir / 'clickhouse'})\n"
            f"[b]broker[/b]           Tansu at {broker.bootstrap}; worker log {data_dir / 'worker.log'}\n"
            "The first alerts appear within a minute (a first group join can take ~30 s). Ctrl-C stops.",
            title="compliance-monitor demo",
        )
    )
    started = time.monotonic()
    try:
        asyncio.run(_run(settings, port, duration, rate))
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
