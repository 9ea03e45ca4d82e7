"""Faust tables: detector state (per key, RocksDB) and the company directory (global)."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.settings import Settings

JSON_SCHEMA = faust.Schema(key_serializer="json", value_serializer="json")
"""Table keys are strings and values JSON documents (detector state is plain dicts and lists)."""


@dataclass(frozen=True)
class PipelineTables:
    """The worker's durable state."""

    state: faust.Table
    directory: faust.GlobalTable


def declare_tables(app: faust.App, settings: Settings) -> PipelineTables:
    """Declare the tables on ``app``."""
    state = app.Table(
        "detector_state",
        partitions=settings.partitions,
        schema=JSON_SCHEMA,
        help="Per-key detector state: event logs, dedup ids and open alerts, keyed like the keyed topic.",
    )
    directory = app.GlobalTable(
        "directory",
        partitions=1,
        use_partitioner=True,
        recovery_buffer_size=1,
        store="memory://directory",  # small; rebuilt from its changelog at start
        schema=JSON_SCHEMA,
        help="Company directory (phone/e-mail -> employee); every worker holds all of it.",
    )
    return PipelineTables(state=state, directory=directory)
