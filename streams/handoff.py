"""Hand parsed events from the first hop to the second within one worker process."""

from __future__ import annotations

import uuid
from collections import OrderedDict

from events import Event

KEEP = 20_000
"""Parsed events kept for the second hop (it runs a few batches behind the first)."""


class Handoff:
    """Events parsed by ``validate_and_route``, for ``detect_by_key`` in the same process.

    A keyed copy carries the whole event, so whichever worker owns its partition can parse
    it again; but with one worker, or when the copy's partition is local, that second
    pydantic validation (about 7 µs an event, measured) is waste. A copy also carries a
    reference, unique to this process, to the event parsed here; the second hop takes it
    from here when it can and parses the copy otherwise. Events whose copies went to other
    workers are forgotten, oldest first, beyond ``KEEP``.
    """

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._prefix = uuid.uuid4().hex[:12] + ":"
        self._count = 0
        self._events: OrderedDict[str, tuple[Event, int]] = OrderedDict()  # ref -> (event, takes left)

    def put(self, event: Event, copies: int) -> str:
        """Keep ``event`` for ``copies`` takes; the reference to put in the copies."""
        self._count += 1
        ref = f"{self._prefix}{self._count}"
        self._events[ref] = (event, copies)
        if len(self._events) > self.keep:
            self._events.popitem(last=False)
        return ref

    def take(self, ref: str | None) -> Event | None:
        """The event behind ``ref`` if this process parsed it and still has it, else None."""
        entry = self._events.pop(ref, None) if ref else None
        if entry is None:
            return None
        event, left = entry
        if left > 1:
            self._events[ref] = (event, left - 1)
        return event
