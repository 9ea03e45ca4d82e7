"""The Faust floor of ``bench``: no-op agents on the input topics, with the worker's own settings.

Run as ``python -m bench.floor N OUT.json``; writes ``{"rate": events/s}`` to OUT.json
once N events were read, then exits.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import orjson
import uvloop
from faust import Worker

from streams.app import create_app
from streams.settings import Settings


def main(expected: int, out: Path) -> None:
    """Count events on every input topic; exit when ``expected`` were seen."""
    settings = Settings()
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
    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
