"""What a sink is.

A sink buffers with :meth:`Sink.add` and writes with :meth:`Sink.flush`. The caller (the
worker's store agent, ``bench``) decides when to flush: after a batch taken from the
alerts topic, and before the batch's offsets are committed, so delivery is at least
once. A failed flush raises :class:`~sinks.exceptions.SinkError` and keeps the buffer:
the next flush writes it again. Sinks are idempotent where the target allows it
(ClickHouse deduplicates by ``alert_id`` and ``revision``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from events import Alert


class Sink(ABC):
    """A buffered destination for alerts."""

    name: str = "sink"

    @abstractmethod
    def add(self, alert: Alert) -> None:
        """Buffer one alert (cheap; no I/O)."""

    @abstractmethod
    def flush(self) -> int:
        """Write the buffer; return rows written. Raises SinkError and keeps the buffer on failure."""

    def add_pseudonym(self, pseudonym: str, employee_id: str) -> None:  # noqa: B027 - optional hook
        """Buffer a row of the restricted pseudonym mapping; sinks without one ignore it."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. The default does nothing."""

    @property
    @abstractmethod
    def pending(self) -> int:
        """Rows buffered and not yet written."""
