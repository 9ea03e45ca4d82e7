"""Event-time sliding windows over small per-key logs, tolerant of late events.

A log is a list of entries ``[ts, uid, value]`` kept sorted by event time ``ts``.
A late event is inserted in place, and every window that contains it is considered,
not only the one ending at the newest event.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import MutableMapping
from operator import itemgetter
from typing import Any

Entry = list[Any]
_time = itemgetter(0)

ALLOWED_LATENESS = 3600.0
"""Seconds an event may arrive behind the newest one of its key and still count in full."""


def insert(log: list[Entry], entry: Entry) -> None:
    """Insert ``entry`` keeping the log sorted by time (after entries of the same time)."""
    if not log or log[-1][0] <= entry[0]:  # in time order, the common case: no search
        log.append(entry)
    else:
        insort(log, entry, key=_time)


def prune(log: list[Entry], horizon: float) -> list[Entry]:
    """Drop entries older than ``horizon``."""
    if not log or log[0][0] >= horizon:  # nothing to drop, the common case: no search
        return log
    start = bisect_left(log, horizon, key=_time)
    return log[start:] if start else log


def record(state: MutableMapping[str, Any], key: str, entry: Entry, keep: float) -> list[Entry]:
    """Insert ``entry`` into the log at ``state[key]``, keep ``keep`` seconds (plus the allowed
    lateness) behind its newest entry, store the log back and return it."""
    log: list[Entry] = state.get(key) or []
    insert(log, entry)
    log = prune(log, log[-1][0] - keep - ALLOWED_LATENESS)
    state[key] = log
    return log


def find_window(
    log: list[Entry], around: float, width: float, threshold: int, value_index: int = 2
) -> list[Entry] | None:
    """The first window ``[t, t + width]`` (ends included) that contains ``around`` and holds
    ``threshold`` or more distinct values at ``value_index``; its entries, or None.
    """
    if len(log) < threshold:  # fewer entries than distinct values needed: no window can hold them
        return None
    lo = bisect_left(log, around - width, key=_time)
    counts: dict[Any, int] = {}
    j = lo
    for i in range(lo, len(log)):
        start = log[i][0]
        if start > around:
            break
        while j < len(log) and log[j][0] <= start + width:
            value = log[j][value_index]
            counts[value] = counts.get(value, 0) + 1
            j += 1
        if len(counts) >= threshold:
            return log[i:j]
        value = log[i][value_index]
        counts[value] -= 1
        if not counts[value]:
            del counts[value]
    return None
