"""The Quix Streams floor of ``bench``: a no-op Quix Streams 3.x application on the input topics.

The peer of ``bench.floor`` (Faust): what another Python stream framework, built on
librdkafka (confluent-kafka) instead of aiokafka, pays per message on the same events.

Optional, and in an interpreter of its own: every quixstreams release caps pydantic below the
version this project needs, so it cannot live in the project's environment. ``make
quix-floor`` makes ``.venv-quix``; ``CM_BENCH_QUIX_PYTHON`` names another interpreter. Without
one, ``quix_floor_rate`` is None. The child (``bench/quix_child.py``) imports nothing of ours.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import orjson

from streams.settings import Settings

TIMEOUT_S = 900
"""Longest the child may take, as for the Faust floor."""
CHILD = Path(__file__).with_name("quix_child.py")
DEFAULT_PYTHON = Path(__file__).resolve().parents[1] / ".venv-quix" / "bin" / "python"


def quix_python() -> Path | None:
    """The interpreter with quixstreams: ``CM_BENCH_QUIX_PYTHON``, else ``.venv-quix``; None without."""
    configured = os.environ.get("CM_BENCH_QUIX_PYTHON")
    python = Path(configured) if configured else DEFAULT_PYTHON
    return python if python.exists() else None


def quix_floor_rate(settings: Settings, expected: int, data_dir: Path) -> float | None:
    """Events per second of a no-op Quix Streams app over the ``expected`` events already on
    the input topics of ``settings``, run in a child process; None without quixstreams."""
    python = quix_python()
    if python is None:
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    result = data_dir / "quix.json"
    job = {
        "expected": expected,
        "out": str(result),
        "connection": connection(settings),
        "topics": settings.topics.inputs(),
        "fetch_wait_ms": settings.fetch_max_wait_ms,
        "state_dir": str(data_dir / "quix-state"),
    }
    with (data_dir / "quix.log").open("wb") as log:
        subprocess.run(  # noqa: S603 - our own script
            [str(python), str(CHILD)],
            input=orjson.dumps(job),  # on stdin, not argv: it may hold the broker password
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=TIMEOUT_S,
            check=True,
        )
    return float(orjson.loads(result.read_bytes())["rate"])


def connection(settings: Settings) -> dict[str, Any]:
    """``quixstreams.kafka.ConnectionConfig`` fields for the broker and credentials of ``settings``."""
    kafka = settings.kafka
    fields: dict[str, Any] = {"bootstrap_servers": settings.broker_servers}
    fields["security_protocol"] = kafka.protocol
    if kafka.protocol.startswith("SASL"):
        fields |= {"sasl_mechanism": kafka.sasl_mechanism, "sasl_username": kafka.username}
        fields["sasl_password"] = kafka.password.get_secret_value() if kafka.password else None
    files = {"ssl_ca_location": kafka.ca_file, "ssl_certificate_location": kafka.cert_file}
    files["ssl_key_location"] = kafka.key_file
    fields |= {name: str(path) for name, path in files.items() if path is not None}
    return fields
