"""The input hop: directory changes confirmed before the keyed copies that need them, and its counts.

Real Faust app and tables; the producer is faked (a unit edge) so the test can see which
records were confirmed when each keyed copy was sent.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from detectors import load_policy
from streams import frames
from streams.delivery import Outbox
from streams.process import DEMO_POLICY
from streams.settings import Settings
from streams.worker import build_pipeline
from tests.factories import at, contact, employee, mobile


class SlowProducer:
    """Acknowledges each record a moment after it is sent, and notes what was confirmed when."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bool]] = []
        """(topic, key, whether every record sent before it was acknowledged by then)."""
        self.futures: list[asyncio.Future[object]] = []

    async def send(self, topic, value, key=None, partition=None):
        self.sent.append((topic, key, all(f.done() for f in self.futures)))
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, future.set_result, object())
        self.futures.append(future)
        return future


def as_record(topic: str, offset: int, event: dict | bytes, partition: int = 0) -> ConsumerRecord:
    """An input record as the input reader hands it over (aiokafka's own record type)."""
    value = event if isinstance(event, bytes) else orjson.dumps(event)
    return ConsumerRecord(topic, partition, offset, 0, 0, None, value, None, 0, len(value), ())


def route_and_confirm(pipeline, records) -> None:
    """Route ``records`` as the input reader does: send what they publish, then wait for the broker."""

    async def run() -> None:
        await (await pipeline.route_batch(records))

    asyncio.run(run())


def keyed_message(copies: list[dict]) -> bytes:
    """Keyed copies (heads with their event under ``event``, bytes as received or an object) framed
    as the input hop sends them."""
    return frames.batch(
        [
            frames.frame(
                orjson.dumps({k: v for k, v in copy.items() if k != "event"}), _received(copy["event"])
            )
            for copy in copies
        ]
    )


def _received(event: dict | bytes) -> bytes:
    return event if isinstance(event, bytes) else orjson.dumps(event)


def earlier_keyed_message(copies: list[dict]) -> bytes:
    """Keyed copies as versions before 2026-12 sent them: one JSON array, the events inside."""
    return orjson.dumps(copies)


def copies_in(value: bytes) -> list[dict]:
    """The copies of one keyed message the input hop sent, each event decoded under ``event``."""
    return [{**orjson.loads(head), "event": orjson.loads(raw)} for head, raw in frames.split(value)]


def test_directory_changes_are_confirmed_before_the_copies_routed_with_them(tmp_path, monkeypatch):
    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    producer = SlowProducer()
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))
    hr = Settings().topics.hr
    events = [
        employee("E1", mobile=mobile(1)),
        contact("E2", mobile(1), when=at()),  # lists colleague E1: needs E1 in the directory
    ]

    route_and_confirm(pipeline, [as_record(hr, i, e) for i, e in enumerate(events)])

    changelog = pipeline.tables.directory.table.changelog_topic.get_topic_name()
    keyed = pipeline.topics.keyed.get_topic_name()
    directory_keys = [key for topic, key, _ in producer.sent if topic == changelog]
    assert b'"phone:' + mobile(1).encode() + b'"' in directory_keys
    copies = [confirmed_before for topic, _, confirmed_before in producer.sent if topic == keyed]
    assert copies and all(copies), producer.sent
    assert pipeline.tables.directory.pending == 0


def test_claims_in_another_currency_are_counted(tmp_path, monkeypatch):
    from sinks import metrics
    from tests.factories import claim

    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(SlowProducer()))
    counted = metrics.child(metrics.OTHER_CURRENCY_CLAIMS, "USD")
    before = counted._value.get()
    topic = Settings().topics.reimbursements
    claims = [claim("E1", "120", at(), currency="USD"), claim("E1", "80", at(), currency="CNY")]

    route_and_confirm(pipeline, [as_record(topic, i, c) for i, c in enumerate(claims)])

    assert counted._value.get() == before + 1


class RecordingProducer(SlowProducer):
    """Acknowledges at once and keeps every record (topic, key, value)."""

    def __init__(self, refuse: str | None = None) -> None:
        super().__init__()
        self.records: list[tuple[str, bytes | None, bytes | None]] = []
        self.refuse = refuse

    async def send(self, topic, value, key=None, partition=None):
        from aiokafka.errors import MessageSizeTooLargeError

        future = asyncio.get_running_loop().create_future()
        if topic == self.refuse:
            future.set_exception(MessageSizeTooLargeError())
        else:
            self.records.append((topic, key, value))
            future.set_result(object())
        return future


def test_a_rule_that_raises_dead_letters_its_copy_and_the_batch_goes_on(tmp_path, monkeypatch):
    from detectors.harassment.repeated_calls import RepeatedCalls
    from tests.factories import call, office
    from tests.test_detectors.helpers import break_rule_on_key

    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    producer = RecordingProducer()
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))
    break_rule_on_key(monkeypatch, RepeatedCalls, "+8615000000001")

    class State(dict):
        def advance(self, partition, event_time):
            pass

    received = orjson.dumps(call("+8615000000001", office(1), at())).replace(b",", b", ")
    copies = [
        {"family": "harassment", "key": number, "facts": {"channel": "call", "line": office(1)}, "event": raw}
        for number, raw in (
            ("+8615000000001", received),
            ("+8615000000002", call("+8615000000002", office(1), at())),
        )
    ]
    batch = SimpleNamespace(
        value=keyed_message(copies),
        message=SimpleNamespace(topic="keyed", partition=0, offset=7, value=b"", generation_id=1),
    )
    state = State()

    async def detect():
        outbox = Outbox(producer)
        await pipeline._detect_batch(batch, state, outbox)
        await outbox.confirm()

    asyncio.run(detect())

    deadletter = pipeline.topics.deadletter.get_topic_name()
    [letter] = [orjson.loads(v) for t, _, v in producer.records if t == deadletter]
    assert letter["reason"] == "detector_error" and "harassment.repeated_calls" in letter["message"]
    assert letter["original"] == received.decode()  # the event as the input hop got it
    assert "harassment|+8615000000002" in state and "harassment|+8615000000001" not in state


def test_a_keyed_copy_the_broker_refuses_stops_the_worker_without_acknowledging(tmp_path, monkeypatch):
    import streams.agents
    from tests.factories import claim

    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    keyed = pipeline.topics.keyed.get_topic_name()
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(RecordingProducer(refuse=keyed), backoff=0.001))

    class Stopped(Exception):
        pass

    def fail_stop(error):
        raise Stopped(error)

    monkeypatch.setattr(streams.agents, "fail_stop", fail_stop)
    topic = Settings().topics.reimbursements
    with pytest.raises(Stopped, match="not delivered"):
        route_and_confirm(pipeline, [as_record(topic, 0, claim("E1", "12", at()))])


def test_a_message_that_fails_unexpectedly_is_dead_lettered_as_internal_error(tmp_path, monkeypatch):
    from tests.factories import claim

    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    producer = RecordingProducer()
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))
    route = pipeline.engine.route

    def broken(event):
        if event.data.employee_id == "E1":
            raise KeyError("a bug")
        return route(event)

    monkeypatch.setattr(pipeline.engine, "route", broken)
    topic = Settings().topics.reimbursements
    claims = [claim("E1", "12", at()), claim("E2", "12", at())]

    route_and_confirm(pipeline, [as_record(topic, i, c) for i, c in enumerate(claims)])

    deadletter = pipeline.topics.deadletter.get_topic_name()
    [letter] = [orjson.loads(v) for t, _, v in producer.records if t == deadletter]
    assert letter["reason"] == "internal_error" and "KeyError" in letter["message"]
    assert (letter["topic"], letter["offset"]) == (topic, 0)
    keyed = pipeline.topics.keyed.get_topic_name()
    copies = [c for t, _, v in producer.records if t == keyed for c in copies_in(v)]
    assert copies and {c["event"]["data"]["employee_id"] for c in copies} == {"E2"}  # the batch went on


@pytest.mark.parametrize("encode", [keyed_message, earlier_keyed_message])
def test_every_revision_of_an_alert_is_published_under_its_id(tmp_path, monkeypatch, encode):
    from tests.factories import call, office

    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    producer = RecordingProducer()
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))

    class State(dict):
        def advance(self, partition, event_time):
            pass

    stranger = "+8615000000009"
    copies = [
        {
            "family": "harassment",
            "key": stranger,
            "facts": {"channel": "call", "line": office(1)},
            "event": raw,
        }
        for raw in (call(stranger, office(1), at(i)) for i in range(7))
    ]
    batch = SimpleNamespace(
        value=encode(copies),
        message=SimpleNamespace(topic="keyed", partition=0, offset=1, value=b"", generation_id=1),
    )

    async def detect():
        outbox = Outbox(producer)
        await pipeline._detect_batch(batch, State(), outbox)
        await outbox.confirm()

    asyncio.run(detect())

    alerts = pipeline.topics.alerts.get_topic_name()
    published = [(key, orjson.loads(value)) for topic, key, value in producer.records if topic == alerts]
    assert [a["revision"] for _, a in published] == [1, 2, 3]  # calls 5, 6 and 7
    assert {key for key, _ in published} == {published[0][1]["alert_id"].encode()}
    assert [len(a["event_ids"]) for _, a in published] == [5, 6, 7]


def test_with_distress_off_a_leave_record_is_neither_forwarded_nor_kept_as_evidence(tmp_path, monkeypatch):
    from sinks import metrics
    from tests.factories import claim, leave
    from tests.test_detectors.helpers import policy

    off = policy(privacy={"distress": False})
    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), off)
    producer = RecordingProducer()
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))
    topics = Settings().topics
    record, expense = leave("E1", "2026-07-10", 6, at()), claim("E1", "120", at())
    processed = metrics.child(metrics.EVENTS_PROCESSED, topics.hr, "hr.leave.recorded")
    before = processed._value.get()

    route_and_confirm(
        pipeline, [as_record(topics.hr, 0, record), as_record(topics.reimbursements, 0, expense)]
    )

    def sent(topic):
        return b"".join(value for name, _, value in producer.records if name == topic.get_topic_name())

    keyed, evidence = sent(pipeline.topics.keyed), sent(pipeline.topics.evidence)
    assert expense["id"].encode() in keyed and expense["id"].encode() in evidence  # the expense rules
    assert record["id"].encode() not in keyed + evidence  # the events table never sees it
    assert processed._value.get() == before + 1  # valid, and counted as processed


class PartitionedProducer(SlowProducer):
    """Acknowledges a moment after each send, and notes every record's topic and partition."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, int | None, bytes]] = []

    async def send(self, topic, value, key=None, partition=None):
        self.records.append((topic, partition, value))
        return await super().send(topic, value, key=key, partition=partition)


def test_a_batch_sends_one_message_per_keyed_partition_and_one_of_evidence_all_confirmed(
    tmp_path, monkeypatch
):
    from tests.factories import call, office

    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    producer = PartitionedProducer()
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))
    calls = [call(f"+86150000{i:05d}", office(1), at(i / 60)) for i in range(40)]
    topic = Settings().topics.calls

    route_and_confirm(pipeline, [as_record(topic, i, c) for i, c in enumerate(calls)])

    keyed = [(p, copies_in(v)) for t, p, v in producer.records if t == pipeline.topics.keyed.get_topic_name()]
    partitions = [p for p, _ in keyed]
    assert len(partitions) == len(set(partitions)) > 1  # one message per destination partition
    assert sum(len(copies) for _, copies in keyed) == 40
    assert all(pipeline._partition(copy["key"]) == p for p, copies in keyed for copy in copies)
    [evidence] = [v for t, _, v in producer.records if t == pipeline.topics.evidence.get_topic_name()]
    assert len(list(frames.split(evidence))) == 40
    assert all(f.done() for f in producer.futures)  # confirmed before the batch can be acknowledged


def test_the_evidence_keeps_each_event_as_received_and_reads_records_of_the_earlier_format(
    tmp_path, monkeypatch
):
    """privacy.md: the ``events`` table keeps every input event a rule took in, as received."""
    from tests.factories import call, office

    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    producer = PartitionedProducer()
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))
    event = call("+8615000000001", office(1), at())
    received = b'  {"data": %s,\n "id": "%s" , %s}' % (
        orjson.dumps(event["data"]),
        event["id"].encode(),
        orjson.dumps({k: v for k, v in event.items() if k not in ("data", "id")})[1:-1],
    )
    stored: list[tuple[str, str, object, bytes | str]] = []
    pipeline.sink = SimpleNamespace(add_event=lambda *row: stored.append(row))

    route_and_confirm(pipeline, [as_record(Settings().topics.calls, 0, received)])
    [evidence] = [v for t, _, v in producer.records if t == pipeline.topics.evidence.get_topic_name()]
    pipeline._add_evidence(evidence)
    earlier = orjson.dumps([["src/old", "telephony.call.completed", 1.0, {"id": "old", "b": 1}]])
    pipeline._add_evidence(earlier)

    older = orjson.dumps([["src/older", "telephony.call.completed", 1.0, '{"id": "older"}']])
    pipeline._add_evidence(older)

    assert [row[3] for row in stored] == [received, b'{"id":"old","b":1}', '{"id": "older"}']
    assert stored[0][:2] == (f"{event['source']}/{event['id']}", event["type"])


@pytest.mark.parametrize(
    "value",
    [
        orjson.dumps([["src/x", "telephony.call.completed", 1.0]]),  # earlier format, no event
        frames.batch([frames.frame(b"1", b"{}")]),  # a head that is not [uid, type, time]
        frames.batch([frames.frame(b'["u", "t", 1.0]', b"{}"), frames.frame(b'["v", "t", "noon"]', b"{}")]),
    ],
)
def test_an_evidence_batch_that_is_not_one_is_a_value_error_and_adds_no_row(tmp_path, value):
    """The store skips, counts and logs a record that raises ``ValueError``; none of its rows is kept."""
    pipeline = build_pipeline(Settings(role="store", data_dir=tmp_path), load_policy(DEMO_POLICY))
    stored: list[tuple] = []
    pipeline.sink = SimpleNamespace(add_event=lambda *row: stored.append(row))

    with pytest.raises(ValueError):
        pipeline._add_evidence(value)
    assert stored == []


def test_a_dead_letter_the_broker_refuses_is_counted_and_logged_without_its_content(
    tmp_path, monkeypatch, caplog
):
    from sinks import metrics
    from tests.factories import claim

    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    deadletter = pipeline.topics.deadletter.get_topic_name()
    producer = RecordingProducer(refuse=deadletter)
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer, backoff=0.001))
    topic = Settings().topics.reimbursements
    lost = metrics.child(metrics.DEADLETTER_FAILURES, topic)
    before = lost._value.get()
    secret = as_record(topic, 41, b"{secret-salary", partition=2)
    good = claim("E1", "120", at())

    route_and_confirm(pipeline, [secret, as_record(topic, 42, good)])

    assert lost._value.get() == before + 1
    [line] = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert f"{topic}[2]@41" in line and "secret" not in line
    forwarded = b"".join(v for t, _, v in producer.records if t == pipeline.topics.keyed.get_topic_name())
    assert good["id"].encode() in forwarded  # the stream goes on


class Steps:
    """One ordered log of what the keyed hop did: records confirmed, state flushed or taken back, acks."""

    def __init__(self) -> None:
        self.log: list[str] = []


class LoggingProducer(SlowProducer):
    def __init__(self, steps: Steps) -> None:
        super().__init__()
        self.steps = steps

    async def send(self, topic, value, key=None, partition=None):
        future = await super().send(topic, value, key=key, partition=partition)
        future.add_done_callback(lambda _: self.steps.log.append(f"confirmed {topic}"))
        return future


class LoggingState(dict):
    """The keyed hop's view of ``StateTable``: the bundles, and when they are flushed or taken back."""

    def __init__(self, steps: Steps) -> None:
        super().__init__()
        self.steps = steps
        self._saved: dict = {}

    def advance(self, partition, event_time):
        pass

    async def flush(self):
        self.steps.log.append("state flushed")

    def begin(self, partition):
        self._saved = dict(self)

    def rollback(self):
        self.clear()
        self.update(self._saved)
        self.steps.log.append("rolled back")


class KeyedStream:
    """Faust's keyed stream as the hop uses it: ``take_events`` hands ``messages`` as one
    batch and acknowledges each when the loop body is done with it."""

    def __init__(self, steps: Steps, *values: bytes) -> None:
        self.steps = steps
        self.values = values
        self.asked: list[tuple[int, float]] = []

    async def take_events(self, max_, within):
        self.asked.append((max_, within))
        events = [
            SimpleNamespace(
                value=value,
                message=SimpleNamespace(topic="keyed", partition=0, offset=i, value=value, generation_id=1),
            )
            for i, value in enumerate(self.values)
        ]
        try:
            yield events
        finally:
            self.steps.log.extend(f"ack {event.message.offset}" for event in events)


def test_the_keyed_hop_confirms_then_writes_state_then_acknowledges(tmp_path, monkeypatch):
    """Steps 1-3 of *Delivery* in docs/architecture.md, for a batch of keyed messages: alerts
    and the restricted pseudonym rows (docs/privacy.md) are confirmed before the state is
    written and the messages acknowledged. A message that raises half-way is dead-lettered and
    its state writes taken back, while the writes of the message before it stay."""
    from events import parse_event_dict
    from tests.factories import call, claim, office

    settings = Settings(role="detect", data_dir=tmp_path, pseudonym_key="keyed-hop-test-key-0123")
    pipeline = build_pipeline(settings, load_policy(DEMO_POLICY))
    steps = Steps()
    producer = LoggingProducer(steps)
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))
    state = LoggingState(steps)
    monkeypatch.setattr(pipeline, "tables", SimpleNamespace(state=state))
    pipeline.engine.observe_reference(parse_event_dict(employee("E1", office(1))))
    known_collector = call("+8657188886666", office(1), at())  # the demo policy's: one alert
    small_claims = [claim("E1", f"{100 + i}.50", at(i / 10), expense_date="2026-07-05") for i in range(12)]

    def copies(*raws):
        return [
            {"family": copy.family, "key": copy.key, "facts": dict(copy.facts), "event": raw}
            for raw in raws
            for copy in pipeline.engine.route(parse_event_dict(raw))
        ]

    other_caller = copies(call("+8613900001111", office(1), at()))
    half_read = keyed_message(other_caller) + frames.frame(b"[]", b"{}")  # its second copy cannot be read
    stream = KeyedStream(
        steps, keyed_message(copies(known_collector, *small_claims)), half_read, b"not keyed"
    )

    asyncio.run(pipeline.detect_by_key(stream))

    assert stream.asked == [(64, 0.02)]
    topics = pipeline.topics
    flushed = steps.log.index("state flushed")
    before = steps.log[:flushed]
    assert before.count("rolled back") == 2
    confirmed = {step for step in before if step != "rolled back"}
    assert {f"confirmed {t.get_topic_name()}" for t in (topics.alerts, topics.pseudonyms)} <= confirmed
    assert f"confirmed {topics.deadletter.get_topic_name()}" in confirmed
    assert all(step.startswith("confirmed ") for step in confirmed)
    assert steps.log[flushed:] == ["state flushed", "ack 0", "ack 1", "ack 2"]
    assert any(key.startswith("harassment|+8657188886666") for key in state)
    assert not any(key.startswith(f"{other_caller[0]['family']}|{other_caller[0]['key']}") for key in state)


def test_a_block_request_goes_to_the_keeper_s_topic_confirmed_with_the_batch_s_alerts(tmp_path, monkeypatch):
    """A collection letter's request to block its sender leaves the keyed hop on the internal
    ``<app id>-action-commands`` topic, confirmed with the alerts before state and ack."""
    from events import parse_event_dict
    from streams.actions.commands import RequestCommand
    from tests.factories import mail

    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    steps = Steps()
    producer = LoggingProducer(steps)
    records: list[tuple[str, bytes]] = []
    send = producer.send

    async def keep(topic, value, key=None, partition=None):
        records.append((topic, value))
        return await send(topic, value, key=key, partition=partition)

    monkeypatch.setattr(producer, "send", keep)
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))
    monkeypatch.setattr(pipeline, "tables", SimpleNamespace(state=LoggingState(steps)))
    letter = mail("notice@agency.example", at(), "催收函", "您的同事网贷逾期未还，请转告其尽快还款。")
    copies = [
        {"family": copy.family, "key": copy.key, "facts": dict(copy.facts), "event": letter}
        for copy in pipeline.engine.route(parse_event_dict(letter))
    ]
    value = keyed_message(copies)

    asyncio.run(pipeline.detect_by_key(KeyedStream(steps, value)))

    commands = pipeline.topics.action_commands.get_topic_name()
    assert commands == f"{Settings().app_id}-action-commands"
    [request] = [RequestCommand.model_validate_json(v) for t, v in records if t == commands]
    assert (request.action.kind, request.action.target) == ("block_sender", "notice@agency.example")
    flushed = steps.log.index("state flushed")
    alerts = f"confirmed {pipeline.topics.alerts.get_topic_name()}"
    assert {f"confirmed {commands}", alerts} <= set(steps.log[:flushed])
    assert steps.log[flushed:] == ["state flushed", "ack 0"]


def test_a_partition_s_copies_go_in_messages_of_at_most_256_kib(tmp_path, monkeypatch):
    from streams.agents import MAX_BATCH_BYTES
    from tests.factories import call, office

    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    producer = PartitionedProducer()
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))
    said = [{"speaker": "caller", "text": "你好" * 5000, "start_s": 0.0}]  # about 30 KB a copy
    calls = [call("+8615000000001", office(1), at(i / 60), transcript=said) for i in range(20)]
    topic = Settings().topics.calls

    route_and_confirm(pipeline, [as_record(topic, i, c) for i, c in enumerate(calls)])

    keyed = [(p, v) for t, p, v in producer.records if t == pipeline.topics.keyed.get_topic_name()]
    assert len({p for p, _ in keyed}) == 1 and len(keyed) > 1  # one key, one partition, split
    assert all(len(v) <= MAX_BATCH_BYTES == 256 * 1024 for _, v in keyed)
    assert sum(len(copies_in(v)) for _, v in keyed) == 20


def test_every_event_type_is_read_on_any_input_topic(tmp_path, monkeypatch):
    """Producers may put any type on any input topic: the worker keys events itself."""
    from tests.factories import call, claim, mail, office

    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    producer = RecordingProducer()
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))
    topics = Settings().topics
    crossed = [
        (topics.calls, employee("E1", office(1))),
        (topics.mail, call("+8615000000001", office(1), at())),
        (topics.hr, claim("E1", "12", at())),
        (topics.reimbursements, mail("notice@agency.example", at(), "催收函", "请转告其尽快还款")),
    ]

    route_and_confirm(pipeline, [as_record(t, i, e) for i, (t, e) in enumerate(crossed)])

    assert not [v for t, _, v in producer.records if t == pipeline.topics.deadletter.get_topic_name()]
    evidence = b"".join(v for t, _, v in producer.records if t == pipeline.topics.evidence.get_topic_name())
    assert all(e["id"].encode() in evidence for _, e in crossed[1:])  # forwarded to their rules
    assert pipeline.engine.directory.store.get(f"phone:{office(1)}")  # the HR record was applied


def test_the_worker_s_console_publishes_an_audit_record_and_waits_for_the_broker(tmp_path, monkeypatch):
    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    producer = SlowProducer()
    monkeypatch.setattr(pipeline, "outbox", lambda: Outbox(producer))

    asyncio.run(pipeline.publish_audit(b'{"audit_id": "x"}', "a-1"))

    assert [(topic, key) for topic, key, _ in producer.sent] == [(Settings().topics.triage, b"a-1")]
    assert all(f.done() for f in producer.futures)  # confirmed before publish_audit returned


def test_the_store_writes_once_cm_flush_rows_rows_are_read_without_waiting_for_its_timer(
    tmp_path, monkeypatch
):
    import streams.worker
    from tests.test_sinks.test_clickhouse import alert

    class Store:
        name = "stand-in"

        def __init__(self, url, **retention) -> None:
            self.rows: list[str] = []
            self.written: list[list[str]] = []

        def add(self, row) -> None:
            self.rows.append(row.alert_id)

        @property
        def pending(self) -> int:
            return len(self.rows)

        def flush(self) -> int:
            self.written.append(self.rows)
            self.rows = []
            return len(self.written[-1])

    monkeypatch.setattr(streams.worker, "ClickHouseSink", Store)
    monkeypatch.setenv("CM_FLUSH_ROWS", "3")
    pipeline = build_pipeline(Settings(role="store", data_dir=tmp_path), load_policy(DEMO_POLICY))
    acked: list[int] = []

    class Alerts:
        async def events(self):
            for n in range(7):
                value = alert(f"a{n}").model_dump_json().encode()
                message = SimpleNamespace(topic="compliance.alerts", partition=0, offset=n, generation_id=1)
                yield SimpleNamespace(value=value, message=message)

        async def ack(self, event):
            acked.append(event.message.offset)

    asyncio.run(pipeline.store_alerts(SimpleNamespace(noack=Alerts)))

    assert pipeline.sink.written == [["a0", "a1", "a2"], ["a3", "a4", "a5"]]
    assert acked == [0, 1, 2, 3, 4, 5]  # the seventh waits for the timer (CM_FLUSH_INTERVAL)
    asyncio.run(pipeline.flush_store())
    assert pipeline.sink.written[-1] == ["a6"] and acked[-1] == 6
