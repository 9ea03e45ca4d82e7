"""The Faust floors of ``bench``: no-op agents on the input topics.

Run as ``python -m bench.floor N OUT.json [--stock]``; writes ``{"rate": events/s}`` to
OUT.json once N events were read, then exits.

- By default the app is the worker's own (:func:`streams.app.create_app`): its settings and
  its patches to Faust (``faust_floor_rate``).
- ``--stock`` builds a plain ``faust.App`` instead: Faust's defaults, none of the project's
  patches, only the broker, a fresh group reading from the earliest offset, raw bytes and
  uvloop (``stock_floor_rate``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import faust
import orjson
import uvloop
from faust import Worker

from streams.settings import Settings


def stock_app(settings: Settings) -> faust.App:
    """A Faust app with Faust's defaults: nothing of the project's changes to Faust is applied."""
    return faust.App(
        settings.group_id,
        broker=settings.kafka_broker,
        broker_credentials=settings.kafka.faust_credentials(),
        datadir=str(settings.data_dir / "faust"),
        web_port=settings.web_port,
        consumer_auto_offset_reset="earliest",
    )


def main(expected: int, out: Path, stock: bool) -> None:
    """Count events on every input topic; exit when ``expected`` were seen."""
    settings = Settings()
    if stock:
        app = stock_app(settings)
    else:
        from streams.app import create_app

        app = create_app(settings)
    seen = {"count": 0, "first": 0.0}

    async def count(stream) -> None:
        async for _ in stream:
            if not seen["count"]:
                seen["first"] = time.perf_counter()
            seen["count"] += 1
            if seen["count"] == expected:
                elapsed = time.perf_counter() - seen["first"]
                out.write_bytes(orjson.dumps({"rate": expected / elapsed, "seconds": elapsed}))
                os._exit(0)

    for name in settings.topics.inputs():
        topic = app.topic(name, key_type=bytes, value_type=bytes, value_serializer="raw")
        app.agent(topic, name=f"noop.{name}")(count)
    uvloop.install()
    if stock:
        Worker(app, loglevel="warning", quiet=True).execute_from_commandline()
    else:
        from streams.worker import faust_worker

        faust_worker(app, "warning").execute_from_commandline()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]), stock="--stock" in sys.argv[3:])
