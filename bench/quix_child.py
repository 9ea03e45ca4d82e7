"""The child of ``bench.quix``, run by the interpreter that has quixstreams: nothing of ours here.

``python quix_child.py`` with the JSON job of ``bench.quix`` on stdin; counts events on the
job's topics with a no-op dataframe and writes ``{"rate", "seconds"}`` once all were read.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any


def main(job: dict[str, Any]) -> None:
    """Count events on every topic of ``job``; exit when ``job["expected"]`` were seen."""
    from quixstreams import Application
    from quixstreams.kafka import ConnectionConfig

    expected, out = job["expected"], Path(job["out"])
    app = Application(
        broker_address=ConnectionConfig(**job["connection"]),
        consumer_group=f"bench-quix-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        # the worker's fetch wait: Tansu answers a waiting fetch only when the wait ends
        consumer_extra_config={"fetch.wait.max.ms": job["fetch_wait_ms"]},
        state_dir=job["state_dir"],
        use_changelog_topics=False,
        auto_create_topics=False,
        loglevel="WARNING",
    )
    seen = {"count": 0, "first": 0.0}

    def count(_value: Any) -> None:
        if not seen["count"]:
            seen["first"] = time.perf_counter()
        seen["count"] += 1
        if seen["count"] == expected:
            elapsed = time.perf_counter() - seen["first"]
            out.write_text(json.dumps({"rate": expected / elapsed, "seconds": elapsed}))
            os._exit(0)

    for name in job["topics"]:
        app.dataframe(app.topic(name, value_deserializer="json")).update(count)
    app.run()


if __name__ == "__main__":
    main(json.load(sys.stdin))
