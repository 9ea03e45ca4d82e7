"""Server-Sent Events of the console: new or updated alerts and audit records, with catch-up.

Each message gets an id ``<boot>-<n>``; the last messages are kept, so a client that
reconnects with ``Last-Event-ID`` receives what it missed (everything kept, if its id
is from an earlier run of the process or too old).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    event: str
    data: Any
    about: dict[str, Any] | None = None
    """For a ``triage`` record: the subject and employees of its alert, which decide who may
    see the record and what is masked in it (never sent; ``None`` when not known)."""

    def encode(self) -> bytes:
        return f"id: {self.id}\nevent: {self.event}\ndata: ".encode() + orjson.dumps(self.data) + b"\n\n"


class StreamHub:
    """Fans messages out to subscribers and keeps the last ``keep`` of them."""

    def __init__(self, keep: int = 10_000) -> None:
        self.boot = secrets.token_hex(4)
        self._count = 0
        self.kept: deque[Message] = deque(maxlen=keep)
        self.subscribers: set[asyncio.Queue[Message]] = set()

    def publish(self, event: str, data: Any, about: dict[str, Any] | None = None) -> Message:
        self._count += 1
        message = Message(f"{self.boot}-{self._count}", event, data, about)
        self.kept.append(message)
        for queue in list(self.subscribers):
            if queue.full():  # a client that does not read: it reconnects and catches up
                self.subscribers.discard(queue)
            else:
                queue.put_nowait(message)
        return message

    def missed(self, last_event_id: str | None) -> list[Message]:
        """What a client that last saw ``last_event_id`` has not seen."""
        if not last_event_id:
            return []
        boot, _, number = last_event_id.partition("-")
        if boot != self.boot or not number.isdigit():
            return list(self.kept)
        return [m for m in self.kept if int(m.id.rsplit("-", 1)[1]) > int(number)]

    def close(self) -> None:
        """End every open stream (the process is shutting down: the web server waits for them)."""
        for queue in list(self.subscribers):
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)  # type: ignore[arg-type]
        self.subscribers.clear()

    def subscribe(self) -> asyncio.Queue[Message]:
        queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=1000)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Message]) -> None:
        self.subscribers.discard(queue)
