"""A real Prometheus (Debian's binary) scraping a real worker and action deliverer: every PromQL
expression of infra/prometheus/rules.yml and of the "Pipeline health" dashboard returns a series.

Prometheus runs on loopback with a temporary configuration: the session ``worker`` as job
``compliance-monitor`` and an action deliverer as ``compliance-monitor-deliver``, both
scraped every second, and rules.yml evaluated every second. The test makes the counters
exist first: HR records and calls that raise an alert (detectors, the store's flush), a
message that is not JSON (a dead letter), and IT actions the deliverer sends to receivers
that accept, fail now and then, or refuse (every delivery outcome).

What "returns a series" means for each kind of expression:

- a recording rule: its ``expr``, and the series it records under its own name;
- an alert rule: its ``expr`` with every comparison against a number removed (``x > 1000``
  becomes ``x``). The comparison is the alert's condition, false on a healthy worker, and
  filters by value only; what is left (selectors, rates, ``and``/``or``, time functions)
  needs the series the alert watches, which is what this test is about. The whole ``expr``
  is evaluated too and must be accepted (an empty answer is fine), and ``/api/v1/rules``
  must report every rule evaluated without error;
- a dashboard expression: as Grafana sends it, with its variables substituted
  (``tests.fixtures.grafana_promql.dashboard_expressions``).

Each expression is polled until it returns a series (rates need two scrapes, the lag a
refresh of the worker's timer); the ones still empty after the deadline are listed together.
Prometheus is stopped at the end and must have exited.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from infra.brokers import free_port
from tests.fixtures.brokers import produce
from tests.fixtures.workers import WorkerProcess
from tests.test_integration.test_webhooks import Deliverer, Receivers, action
from tests.test_integration.test_worker import alert_for, blast_scenario, send

pytestmark = pytest.mark.broker

RULES = Path(__file__).resolve().parents[2] / "infra" / "prometheus" / "rules.yml"
DEADLINE = 90.0
"""Seconds an expression may take to return a series (Tansu joins a group in up to ~30 s)."""
COMPARISON = re.compile(r"\s*(?:==|!=|>=|<=|>|<)\s*(?:bool\s+)?-?\d+(?:\.\d+)?(?:e[+-]?\d+)?", re.IGNORECASE)
"""A comparison against a number literal, as the alert conditions of rules.yml write them."""


def without_comparisons(expr: str) -> str:
    """``expr`` with its comparisons against numbers removed (``up == 0`` -> ``up``)."""
    return " ".join(COMPARISON.sub("", expr).split())


class PrometheusServer:
    """``prometheus`` on a free loopback port with its own configuration and storage."""

    def __init__(self, root: Path, jobs: dict[str, str]) -> None:
        """``jobs``: job name -> ``host:port`` of its one target."""
        assert shutil.which("prometheus"), (
            "prometheus missing: run `make metrics-tools` (apt-get install prometheus)"
        )
        self.root = root
        self.port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [target]}]} for job, target in jobs.items()
            ],
        }
        self.config = root / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log = root / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrometheusServer:
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait(lambda: self.ready(), 60, "Prometheus ready", self.log_tail)
        return self

    def ready(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log_tail()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def api(self, path: str, **params: str) -> Any:
        """The ``data`` of one HTTP API answer; asserts its status is ``success``."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}{query}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = orjson.loads(response.read())
        except urllib.error.HTTPError as error:  # a bad query: 400 with the reason
            body = orjson.loads(error.read())
        assert body["status"] == "success", f"{path} {params}: {body}"
        return body["data"]

    def series(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` evaluates to now (a scalar counts as one series)."""
        data = self.api("query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def wait(check: Callable[[], Any], timeout: float, what: str, details: Callable[[], str] = str) -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{details()}")


@pytest.fixture
def deliverer(worker: WorkerProcess, tmp_path: Path) -> Iterator[Deliverer]:
    """``actions deliver`` on the worker's broker, its webhooks on local receivers."""
    process = Deliverer(worker.broker, tmp_path, Receivers()).start()
    yield process
    process.stop()


@pytest.fixture
def prometheus(worker: WorkerProcess, deliverer: Deliverer, tmp_path: Path) -> Iterator[PrometheusServer]:
    server = PrometheusServer(
        tmp_path,
        {
            "compliance-monitor": f"127.0.0.1:{worker.port}",
            "compliance-monitor-deliver": f"127.0.0.1:{deliverer.metrics_port}",
        },
    )
    try:
        yield server.start()
    finally:
        server.stop()
        assert server.process is None or server.process.poll() is not None, "Prometheus still running"


def rule_expressions() -> list[tuple[str, str]]:
    """(what, PromQL) for each rule of rules.yml, alert conditions without their comparisons."""
    out: list[tuple[str, str]] = []
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                out += [
                    (f"record {rule['record']}", rule["expr"]),
                    (f"recorded {rule['record']}", rule["record"]),
                ]
            else:
                stripped = without_comparisons(rule["expr"])
                assert stripped != " ".join(rule["expr"].split()), f"{rule['alert']}: no threshold to remove"
                assert not COMPARISON.search(stripped)
                out.append((f"alert {rule['alert']} (without its comparisons)", stripped))
    return out


def make_series_exist(worker: WorkerProcess, deliverer: Deliverer) -> None:
    """Events that raise an alert, a dead letter and IT actions in every delivery outcome."""
    events, number, _ = blast_scenario(f"prom-{time.monotonic_ns()}")
    send(worker, events)
    produce(worker.broker.bootstrap, [(worker.topic("calls"), b"not json at all", None)])
    worker.wait_for(lambda: alert_for(worker, "harassment.contact_blast", number), what="blast alert")
    worker.wait_for(
        lambda: "cm_consumer_lag{" in worker.get("/metrics").decode(), what="consumer lag refreshed"
    )
    deliverer.publish(action("active"), action("pending_approval"))
    wait(
        lambda: deliverer.metric("cm_webhook_deliveries_total", endpoint="ok", outcome="delivered") >= 2,
        60,
        "webhook deliveries",
        lambda: deliverer.log.read_text(errors="replace")[-3000:],
    )


def test_every_rule_and_dashboard_expression_returns_a_series(worker, deliverer, prometheus):
    from tests.fixtures.grafana_promql import dashboard_expressions  # the grafana helper's

    make_series_exist(worker, deliverer)
    expressions = rule_expressions() + [(f"panel {title}", expr) for title, expr in dashboard_expressions()]
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            prometheus.series(rule["expr"])  # accepted as written (empty is fine for an alert)

    deadline = time.monotonic() + DEADLINE
    empty = expressions
    while empty and time.monotonic() < deadline:
        empty = [(what, expr) for what, expr in empty if not prometheus.series(expr)]
        time.sleep(1)
    assert not empty, "no series for:\n" + "\n".join(f"  {what}: {expr}" for what, expr in empty)

    def evaluated() -> list[dict[str, Any]] | None:
        rules = [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]
        return rules if all(rule["health"] != "unknown" for rule in rules) else None

    rules = wait(evaluated, 30, "every rule evaluated", prometheus.log_tail)
    assert len(rules) == 8
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []
