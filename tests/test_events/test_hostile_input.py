"""Hostile input: any bytes give an event or a rejection naming a field and a reason, never an exception."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from decimal import Decimal

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import Event, ParseContext, Rejection, parse_event
from sinks.kafka import MAX_ORIGINAL_BYTES, deadletter_record
from tests.test_events.test_parse import GOOD, _event

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
FIELDS = ["specversion", "id", "source", "type", "time", "subject", "data"]
HOSTILE_VALUES = st.one_of(
    JSON,
    st.sampled_from(
        [
            "1e308",
            "9" * 400,
            "-0",
            "NaN",
            "Infinity",
            1e308,
            "1970-01-01T00:00:00Z",
            "2300-01-01T00:00:00Z",
            "a\x00b",
            "\x1b[31m",
            "\u202e",
            "",
        ]
    ),
)


def _checked(result: Event | Rejection) -> None:
    if isinstance(result, Rejection):
        assert result.reason and result.message
        if result.reason in ("missing_field", "invalid_field"):
            assert result.field, result


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_any_bytes_give_an_event_or_a_rejection(raw):
    _checked(parse_event(raw))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_any_json_value_gives_an_event_or_a_rejection(value):
    _checked(parse_event(json.dumps(value)))  # stdlib: integers beyond 64 bits, NaN


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(GOOD)),
    st.sampled_from(FIELDS) | st.text(min_size=1, max_size=12),
    HOSTILE_VALUES,
    st.booleans(),
)
def test_a_good_event_with_one_hostile_field_gives_an_event_or_a_rejection(kind, name, value, in_data):
    event = orjson.loads(_event(kind, GOOD[kind]))
    if in_data:
        keys = sorted(event["data"]) or [name]
        event["data"][keys[hash(name) % len(keys)]] = value
    else:
        event[name] = value
    _checked(parse_event(json.dumps(event)))


def _claim(**data) -> bytes:
    return _event("finance.reimbursement.submitted", {"claim_id": "C1", "employee_id": "E1", **data})


@pytest.mark.parametrize("amount", ["1e308", "9" * 400, 1e308, "10000000.01", 0, "-1", "NaN"])
def test_impossible_amounts_are_rejected_with_the_field(amount):
    result = parse_event(_claim(amount=amount))
    assert isinstance(result, Rejection) and result.field == "data.amount", result


def test_the_amount_bound_comes_from_the_context():
    assert isinstance(parse_event(_claim(amount="20000")), Event)
    small = ParseContext(max_amount=Decimal(10_000))
    rejected = parse_event(_claim(amount="20000"), small)
    assert isinstance(rejected, Rejection) and "10000" in rejected.message


@pytest.mark.parametrize("when", ["1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2300-01-01T00:00:00Z"])
def test_impossible_event_times_are_rejected(when):
    raw = orjson.loads(_claim(amount=1))
    raw["time"] = when
    result = parse_event(orjson.dumps(raw))
    assert isinstance(result, Rejection) and result.field == "time", result


def test_an_event_time_ahead_of_the_clock_is_allowed_within_the_skew():
    raw = orjson.loads(_claim(amount=1))
    at = datetime.fromisoformat(raw["time"]).timestamp()
    assert isinstance(parse_event(orjson.dumps(raw), ParseContext(now=lambda: at - 600)), Event)
    late_clock = ParseContext(now=lambda: at - 1000, max_skew=900)
    assert isinstance(parse_event(orjson.dumps(raw), late_clock), Rejection)


@pytest.mark.parametrize("bad", ["a\x00b", "line\nbreak", "esc\x1b[0m", "del\x7f", "c1\x85"])
def test_control_characters_in_ids_are_rejected(bad):
    raw = orjson.loads(_claim(amount=1))
    raw["id"] = bad
    result = parse_event(orjson.dumps(raw))
    assert isinstance(result, Rejection) and result.field == "id"
    assert "control characters" in result.message
    assert isinstance(parse_event(_claim(amount=1, claim_id=bad)), Rejection)


def test_ids_in_other_scripts_are_fine():
    assert isinstance(parse_event(_claim(amount=1, claim_id="报销-2026/07·甲")), Event)


def test_a_dead_letter_keeps_a_large_original_once_cut_with_its_size_and_hash():
    raw = b"x" * (5 * 1024 * 1024)
    value = deadletter_record(Rejection("not_json", "not valid JSON"), raw, "telephony.calls", 0, 7)
    assert len(value) < MAX_ORIGINAL_BYTES + 2048
    record = orjson.loads(value)
    assert record["original"] == "x" * MAX_ORIGINAL_BYTES and record["original_base64"] is None
    assert record["original_truncated"] is True
    assert record["original_size"] == len(raw)
    assert record["original_sha256"] == hashlib.sha256(raw).hexdigest()


def test_the_original_is_cut_at_64_kib():
    for size, truncated in ((65_536, False), (65_537, True)):
        record = orjson.loads(deadletter_record(Rejection("not_json", "x"), b"y" * size, "t", 0, 1))
        assert len(record["original"]) == 65_536 and record["original_truncated"] is truncated


def test_a_dead_letter_of_binary_input_is_base64_only():
    raw = b"\xff\xfe\x00binary"
    record = orjson.loads(deadletter_record(Rejection("not_json", "x"), raw, "t", 1, 2))
    assert record["original"] is None and base64.b64decode(record["original_base64"]) == raw
    assert record["original_truncated"] is False


def test_a_cut_inside_a_character_keeps_the_text():
    raw = "催收".encode() * 10
    record = orjson.loads(deadletter_record(Rejection("not_json", "x"), raw, "t", 1, 2, keep_bytes=8))
    assert record["original"] == "催收" and record["original_truncated"] is True


def test_dates_may_lie_400_days_past_the_allowed_clock_skew():
    raw = orjson.loads(_claim(amount=1, expense_date="2027-12-01"))
    at = datetime.fromisoformat(raw["time"]).timestamp()  # 2026-07-01: the date is 518 days ahead
    close = ParseContext(now=lambda: at)
    assert isinstance(parse_event(orjson.dumps(raw), close), Rejection)
    simulated = ParseContext(now=lambda: at, max_skew=365 * 86_400.0)  # a clock running ahead
    assert isinstance(parse_event(orjson.dumps(raw), simulated), Event)


@pytest.mark.parametrize(
    ("event_type", "changes", "field"),
    [
        ("finance.reimbursement.submitted", {"claim_id": "C" * 513}, "data.claim_id"),
        ("finance.reimbursement.submitted", {"expense_date": "1999-12-31"}, "data.expense_date"),
        ("hr.leave.recorded", {"days": "367"}, "data.days"),
        ("telephony.call.completed", {"duration_s": 7 * 86_400 + 1}, "data.duration_s"),
        ("telephony.call.completed", {"started_at": "1970-01-01T00:00:00Z"}, "data.started_at"),
        (
            "telephony.call.completed",
            {"transcript": [{"speaker": "caller", "text": "hi", "start_s": 7 * 86_400 + 1}]},
            "data.transcript.0.start_s",
        ),
    ],
)
def test_every_other_bound_rejects_with_its_field(event_type, changes, field):
    assert isinstance(parse_event(_event(event_type, GOOD[event_type])), Event)  # the good one parses
    result = parse_event(_event(event_type, {**GOOD[event_type], **changes}))
    assert isinstance(result, Rejection) and result.field == field, result
