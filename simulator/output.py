"""The simulator's outputs: a JSON-lines file (with realistic noise) or a Kafka producer."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from simulator.company import TZ


def noisy(lines: list[bytes], rng: random.Random, rate: float) -> list[bytes]:
    """What real exports look like: some lines repeated, some moved by minutes, some broken."""
    out: list[bytes] = []
    for line in lines:
        out.append(line)
        roll = rng.random()
        if roll < rate:
            out.append(line)  # an exact duplicate (same source and id)
        elif roll < 2 * rate:
            out.append(line[: len(line) // 2])  # a truncated, malformed line
        elif roll < 2.5 * rate:
            out.append(b'{"specversion": "1.0", "id": "x", "type": "telephony.fax.sent"}')
    for _ in range(int(len(out) * rate)):  # local shuffles: out-of-order arrival
        i = rng.randrange(len(out))
        j = min(len(out) - 1, i + rng.randrange(1, 40))
        out[i], out[j] = out[j], out[i]
    return out


def write_file(
    path: Path, seed: int = 7, limit: int | None = 20_000, noise: float = 0.0, days: int | None = None
) -> int:
    """Write ``limit`` events, or ``days`` whole simulated days, as JSON lines (plus ``noise``
    duplicate, broken and out-of-order lines); return the lines written."""
    from simulator import Simulator

    events = Simulator(seed).events(days)
    lines = [orjson.dumps(event) for event in (events if days else itertools.islice(events, limit))]
    if noise:
        lines = noisy(lines, random.Random(seed + 1), noise)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return len(lines)


async def produce(
    settings: Any,
    rate: float = 200.0,
    duration: float | None = None,
    seed: int = 7,
    limit: int | None = None,
    start: date | None = None,
) -> int:
    """Send simulated events to the input topics at ``rate`` events/s; return how many were sent."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.broker_servers, linger_ms=20, **settings.kafka.aiokafka_options()
    )
    await producer.start()
    sent, began = 0, time.monotonic()
    from simulator import Simulator

    sim = Simulator(seed, start or datetime.now(UTC).astimezone(TZ).date())
    try:
        for event in sim.events():
            if limit is not None and sent >= limit:
                break
            elapsed = time.monotonic() - began
            if duration is not None and elapsed >= duration:
                break
            key = event.get("subject") or event["data"].get("employee_id") or event["id"]
            await producer.send(
                settings.topics.for_event(event["type"]), orjson.dumps(event), key=str(key).encode()
            )
            sent += 1
            if rate > 0 and sent / rate > elapsed:
                await asyncio.sleep(sent / rate - elapsed)
        await producer.flush()
    finally:
        await producer.stop()
    return sent
