"""``backtest --jobs N``: the keyed detectors split over N processes, merged in event-time order.

The file is parsed, sorted and routed once, in the parent; then it forks. Each job
replays the reference data (the directory) over every event, as every worker sees the
global table, but runs the keyed detectors only for the copies whose key hashes to it,
as the worker's keyed topic splits them (Kafka's murmur2 of the key, modulo the jobs).
The parent runs job 0 itself, then merges what the jobs yielded in the order one
process would have produced it (event, copy, output) and finishes what the worker does
after the keyed hop: risk-score signals (a second keyed hop by employee) and the action
book (one action keeper), in event-time order. The result equals ``--jobs 1`` apart
from ``detected_at`` (``tests/test_streams/test_backtest_jobs.py``).

Forking after the parse lets the jobs share the parsed events: sending them to spawned
processes (pickling 108k events) took longer than parsing them.
"""

from __future__ import annotations

import gc
import heapq
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from detectors import Engine, Policy
from detectors.action_book import ActionBook
from detectors.base import Routed
from detectors.distress.risk_score import Signal
from detectors.engine import Output
from detectors.exceptions import DetectorError
from detectors.privacy import Pseudonymizer
from events import Event

if TYPE_CHECKING:
    from streams.backtest import BacktestReport

Sorted = list[tuple[float, int, Event]]
"""Valid events as ``(timestamp, line, event)``, in event-time order."""


def cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system has one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def owner(key: str, jobs: int) -> int:
    """The job of a keyed copy: its key's keyed-topic partition, with ``jobs`` partitions."""
    from aiokafka.partitioner import murmur2  # the worker's partitioner (streams.agents)

    return (murmur2(key.encode()) & 0x7FFFFFFF) % jobs


@dataclass
class Share:
    """What one job's keyed detectors yielded, tagged with (event index, copy index), in order."""

    outputs: list[tuple[int, int, Output]] = field(default_factory=list)
    errors: list[tuple[int, int, tuple[str, str, str]]] = field(default_factory=list)
    """(rule id, event uid, message) of each copy a rule raised on (exceptions do not pickle)."""
    expired: int = 0
    live: int = 0


def route_all(events: Sorted, policy: Policy, jobs: int) -> list[list[tuple[int, Routed]]]:
    """Every event's keyed copies as (job, copy), routed as the worker's input hop does: against
    the directory as it was before the event."""
    router = Engine(policy)
    jobs_of: dict[str, int] = {}  # keys repeat across events: hashed once each
    routed = []
    for _, _, event in events:
        copies = router.route(event)
        router.observe_reference(event)
        for copy in copies:
            if copy.key not in jobs_of:
                jobs_of[copy.key] = owner(copy.key, jobs)
        routed.append([(jobs_of[copy.key], copy) for copy in copies])
    return routed


def detect_share(
    job: int,
    events: Sorted,
    routed: list[list[tuple[int, Routed]]],
    policy: Policy,
    pseudonymizer: Pseudonymizer | None,
    expire_every: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> Share:
    """Job ``job``'s keyed copies against its own state, the directory replayed over every
    event; idle keys swept at the same events, with the same watermark, as one process does."""
    engine = Engine(policy, pseudonymizer=pseudonymizer)
    state: dict[str, Any] = {}
    share = Share()
    for index, ((timestamp, _, event), copies) in enumerate(zip(events, routed, strict=True), start=1):
        engine.observe_reference(event)
        for copy, (owner_job, item) in enumerate(copies):
            if owner_job != job:
                continue
            try:
                found = engine.process(item, state)
            except DetectorError as error:
                share.errors.append((index, copy, (error.rule_id, error.event_uid, str(error))))
                continue
            share.outputs.extend((index, copy, output) for output in found)
        if index % expire_every == 0:
            share.expired += engine.expire(state, watermark=timestamp)
        if on_progress and index % 1000 == 0:
            on_progress(index, len(events))
    share.live = len(state)
    return share


def in_jobs(jobs: int, work: Callable[[int], Share]) -> list[Share]:
    """``work(job)`` for every job: job 0 here, the others in forked processes sharing memory."""
    context = multiprocessing.get_context("fork")
    gc.freeze()  # the parsed events: the children's collectors then leave their pages shared
    started = []
    try:
        for job in range(1, jobs):
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(work, job, send), daemon=True)
            process.start()
            send.close()
            started.append((job, process, receive))
        shares = [work(0)]
        for job, process, receive in started:
            try:
                status, payload = receive.recv()
            except EOFError:  # it died without a word
                process.join()
                status, payload = "error", f"exit code {process.exitcode}"
            if status != "ok":
                raise RuntimeError(f"backtest job {job} failed: {payload}")
            shares.append(payload)
        return shares
    finally:
        for _, process, receive in started:
            receive.close()
            if process.is_alive():
                process.terminate()
            process.join()


def _child(work: Callable[[int], Share], job: int, send: Any) -> None:
    try:
        result = ("ok", work(job))
    except BaseException:  # reported to the parent, which raises it
        result = ("error", traceback.format_exc())
    send.send(result)
    send.close()


def merged(shares: list[Share]) -> tuple[Iterator[tuple[int, list]], Iterator[tuple[int, list]]]:
    """The jobs' outputs and errors, each grouped by event index, in one process' order."""
    by_copy = itemgetter(0, 1)
    outputs = heapq.merge(*(s.outputs for s in shares), key=by_copy)
    errors = heapq.merge(*(s.errors for s in shares), key=by_copy)
    grouped = (
        ((index, [item[2] for item in group]) for index, group in groupby(stream, key=itemgetter(0)))
        for stream in (outputs, errors)
    )
    return next(grouped), next(grouped)


def revived(rule_id: str, event_uid: str, message: str) -> DetectorError:
    """A job's detector error as the one it was (its message names rule, event and cause)."""
    error = DetectorError.__new__(DetectorError)
    Exception.__init__(error, message)
    error.rule_id, error.event_uid = rule_id, event_uid
    return error


class Finisher:
    """The parent's part after the keyed hop: risk signals by employee, and the action book."""

    def __init__(self, policy: Policy, pseudonymizer: Pseudonymizer | None) -> None:
        self.engine = Engine(policy, pseudonymizer=pseudonymizer)
        self.book = ActionBook(policy.actions.require_approval)
        self.state: dict[str, Any] = {}

    def signals(self, out: list[Output], on_error: Callable[[DetectorError], None]) -> list[Output]:
        """``out`` and, after it, what its risk signals bring (as ``Engine.run`` orders them)."""
        out = list(out)
        for signal in [o for o in out if isinstance(o, Signal)]:
            try:
                out.extend(self.engine.process_signal(signal, self.state))
            except DetectorError as error:
                on_error(error)
        return out


def split_run(
    events: Sorted,
    policy: Policy,
    pseudonymizer: Pseudonymizer | None,
    jobs: int,
    expire_every: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[Share]:
    """Route once, then run the keyed detectors in ``jobs`` processes; their shares."""
    routed = route_all(events, policy, jobs)

    def work(job: int) -> Share:
        progress = on_progress if job == 0 else None
        return detect_share(job, events, routed, policy, pseudonymizer, expire_every, progress)

    return in_jobs(jobs, work)


def run_jobs(
    events: Sorted,
    policy: Policy,
    report: BacktestReport,
    on_progress: Callable[[int, int], None] | None,
    pseudonymizer: Pseudonymizer | None,
    jobs: int,
) -> None:
    """``backtest``'s detection over sorted ``events`` in ``jobs`` processes, into ``report``."""
    from streams.backtest import EXPIRE_EVERY, finish, take

    shares = split_run(events, policy, pseudonymizer, jobs, EXPIRE_EVERY, on_progress)
    finisher = Finisher(policy, pseudonymizer)
    outputs, errors = merged(shares)
    next_out, next_error = next(outputs, None), next(errors, None)
    for index, (timestamp, line, event) in enumerate(events, start=1):
        if currency := finisher.engine.other_currency(event):
            report.other_currency[currency] += 1
        finisher.engine.observe_reference(event)

        def on_error(error: DetectorError, line: int = line) -> None:
            report.detector_errors.append((line, error))

        if next_error is not None and next_error[0] == index:
            for found in next_error[1]:
                on_error(revived(*found))
            next_error = next(errors, None)
        out: list[Output] = []
        if next_out is not None and next_out[0] == index:
            out, next_out = next_out[1], next(outputs, None)
        take(report, finisher.book, finisher.signals(out, on_error), timestamp)
        if index % EXPIRE_EVERY == 0:
            report.expired_keys += finisher.engine.expire(finisher.state, watermark=timestamp)
    finish(report, finisher.book, events)
    report.expired_keys += sum(share.expired for share in shares)
    report.live_keys = len(finisher.state) + sum(share.live for share in shares)
