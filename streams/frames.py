"""Framed batches of the worker's internal topics: a JSON head and the input event's bytes.

A keyed copy, and an evidence row, is a small JSON head (family, key, facts; or uid,
type, time) and the input event as received. Framed, the event's bytes are kept as they
are: the second hop does not decode an event it already has parsed (``streams.handoff``),
and the store keeps the text without decoding or escaping it. A batch is ``MAGIC`` and
then, per item, the head's and the body's lengths (two big-endian 32-bit integers), the
head and the body.

Batches of earlier versions were JSON arrays; they start with ``[``, which ``MAGIC``
never does, so a reader tells both apart (:func:`is_framed`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import orjson

MAGIC = b"\x00cm1"
_LENGTHS = struct.Struct(">II")


def frame(head: bytes, body: bytes) -> bytes:
    """One item of a batch: ``head`` (JSON) and ``body`` (bytes kept as they are)."""
    return _LENGTHS.pack(len(head), len(body)) + head + body


def batch(frames: list[bytes]) -> bytes:
    """One message of ``frames`` (each from :func:`frame`)."""
    return MAGIC + b"".join(frames)


def is_framed(value: bytes) -> bool:
    """Whether ``value`` is a framed batch (not a JSON array of an earlier version)."""
    return value[: len(MAGIC)] == MAGIC


def split(value: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Each (head, body) of a framed batch; ``ValueError`` where the batch is cut short."""
    position, end = len(MAGIC), len(value)
    while position < end:
        if position + _LENGTHS.size > end:
            raise ValueError(f"framed batch cut short at byte {position} of {end}")
        head_size, body_size = _LENGTHS.unpack_from(value, position)
        head_start = position + _LENGTHS.size
        body_start = head_start + head_size
        position = body_start + body_size
        if position > end:
            raise ValueError(f"framed batch cut short: an item ends at byte {position} of {end}")
        yield value[head_start:body_start], value[body_start:position]


def decoded(value: bytes) -> list[tuple[Any, bytes]]:
    """Each (head decoded from JSON, body) of a framed batch, all read before any is returned;
    ``ValueError`` for a batch cut short or a head that is not JSON."""
    return [(orjson.loads(head), body) for head, body in split(value)]
