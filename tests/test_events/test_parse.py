import json
from pathlib import Path

import orjson
import pytest

from detectors import policy_from_mapping
from events import EVENT_TYPES, ParseContext, Rejection, parse_event
from events.models import CallCompletedEvent, ReimbursementSubmittedEvent

EXAMPLES = Path(__file__).resolve().parents[1] / "files" / "contract_examples.jsonl"
GOOD = {
    "hr.employee.upserted": {"employee_id": "E1", "office_phone": "021-60001001", "mobile_phone": None},
    "hr.emergency_contact.changed": {
        "employee_id": "E1",
        "contact_phone": "13900000001",
        "relation": "parent",
        "action": "added",
    },
    "hr.leave.recorded": {
        "employee_id": "E1",
        "leave_id": "L1",
        "leave_type": "sick",
        "start_date": "2026-07-01",
        "end_date": "2026-07-02",
        "days": "1.5",
    },
    "finance.reimbursement.submitted": {"claim_id": "C1", "employee_id": "E1", "amount": 12.5},
    "telephony.call.completed": {
        "call_id": "c1",
        "caller": "13800138000",
        "callee": "+862160000000",
        "direction": "inbound",
        "answered": True,
        "duration_s": 3,
    },
    "telephony.sms.delivered": {
        "sms_id": "s1",
        "sender": "95588",
        "recipient": "13800138000",
        "direction": "inbound",
        "text": "hi",
    },
    "mail.message.received": {
        "message_id": "<m1@x>",
        "from_address": "A@Example.com",
        "to": ["b@acme.example.cn"],
    },
}
BAD = {  # one required field missing or of a wrong type, per type
    "hr.employee.upserted": ({"name": "x"}, "data.employee_id"),
    "hr.emergency_contact.changed": ({"employee_id": "E1"}, "data.contact_phone"),
    "hr.leave.recorded": (
        {"employee_id": "E1", "leave_id": "L1", "start_date": "2026-07-01", "days": 0},
        "data.days",
    ),
    "finance.reimbursement.submitted": (
        {"claim_id": "C1", "employee_id": "E1", "amount": "-3"},
        "data.amount",
    ),
    "telephony.call.completed": ({"call_id": "c1", "caller": "1380", "direction": "inbound"}, "data.callee"),
    "telephony.sms.delivered": (
        {"sms_id": "s1", "sender": "1", "recipient": "2", "direction": "sideways"},
        "data.direction",
    ),
    "mail.message.received": ({"message_id": "<m1@x>", "to": "not-a-list"}, "data.from_address"),
}


def _event(event_type, data, **overrides):
    event = {
        "specversion": "1.0",
        "id": "x-1",
        "source": "test",
        "type": event_type,
        "time": "2026-07-01T10:00:00+08:00",
        "data": data,
    }
    event.update(overrides)
    return json.dumps(event)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_type_parses_a_good_event(event_type):
    event = parse_event(
        _event(event_type, {**GOOD[event_type], "unknown_data_field": 1}, extra_field="ignored")
    )
    assert not isinstance(event, Rejection), event
    assert event.type == event_type
    assert event.uid == "test/x-1"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_type_rejects_a_bad_event_naming_the_field(event_type):
    data, field = BAD[event_type]
    rejection = parse_event(_event(event_type, data))
    assert isinstance(rejection, Rejection)
    assert rejection.field == field
    assert field in rejection.message


def test_contract_examples_all_parse():
    lines = EXAMPLES.read_bytes().splitlines()
    assert len(lines) >= 7
    for line in lines:
        assert not isinstance(parse_event(line), Rejection), line


def test_normalises_phones_amounts_and_times():
    call = parse_event(_event("telephony.call.completed", GOOD["telephony.call.completed"]))
    assert isinstance(call, CallCompletedEvent)
    assert (call.data.caller, call.data.callee) == ("+8613800138000", "+862160000000")
    assert call.time.utcoffset() is not None
    claim = parse_event(
        _event(
            "finance.reimbursement.submitted", {**GOOD["finance.reimbursement.submitted"], "amount": "0.10"}
        )
    )
    assert isinstance(claim, ReimbursementSubmittedEvent)
    assert str(claim.data.amount) == "0.10" and claim.data.currency == "CNY"


def test_a_claim_without_currency_is_in_the_company_currency():
    unnamed = _event("finance.reimbursement.submitted", GOOD["finance.reimbursement.submitted"])
    assert parse_event(unnamed, ParseContext(currency="USD")).data.currency == "USD"
    assert parse_event(unnamed).data.currency == "CNY"  # the default context: a cn company
    named = _event(
        "finance.reimbursement.submitted", {**GOOD["finance.reimbursement.submitted"], "currency": "CNY"}
    )
    assert parse_event(named, ParseContext(currency="USD")).data.currency == "CNY"
    assert policy_from_mapping({"jurisdiction": "us"}).parse_context().currency == "USD"
    assert policy_from_mapping({"company": {"currency": "HKD"}}).parse_context().currency == "HKD"
    schema = ReimbursementSubmittedEvent.model_json_schema()["$defs"]["ReimbursementSubmitted"]
    assert "currency" not in schema["required"] and "default" not in schema["properties"]["currency"]


def test_region_comes_from_the_context():
    data = {**GOOD["telephony.call.completed"], "caller": "(415) 555-2671"}
    call = parse_event(_event("telephony.call.completed", data), ParseContext(region="US"))
    assert call.data.caller == "+14155552671"


@pytest.mark.parametrize(
    "raw, reason, field",
    [
        (b"\xff\xfenot json", "not_json", None),
        (b"[1, 2]", "not_an_object", None),
        (_event("hr.unknown", {}), "unknown_type", "type"),
        (
            _event("hr.leave.recorded", GOOD["hr.leave.recorded"], specversion="0.3"),
            "invalid_field",
            "specversion",
        ),
        (_event("hr.leave.recorded", GOOD["hr.leave.recorded"], time="yesterday"), "invalid_field", "time"),
        (
            _event("hr.leave.recorded", GOOD["hr.leave.recorded"], time="2026-07-01T10:00:00"),
            "invalid_field",
            "time",
        ),
        (
            orjson.dumps(
                {
                    "specversion": "1.0",
                    "source": "s",
                    "type": "hr.leave.recorded",
                    "time": "2026-07-01T10:00:00Z",
                    "data": GOOD["hr.leave.recorded"],
                }
            ),
            "missing_field",
            "id",
        ),
    ],
)
def test_rejections_say_what_is_wrong(raw, reason, field):
    rejection = parse_event(raw)
    assert isinstance(rejection, Rejection)
    assert (rejection.reason, rejection.field) == (reason, field)
    assert rejection.message


def test_utc_z_is_accepted():
    event = parse_event(_event("hr.leave.recorded", GOOD["hr.leave.recorded"], time="2026-07-01T02:00:00Z"))
    assert event.timestamp == 1782871200.0


@pytest.mark.parametrize("field", ["specversion", "id", "source", "type", "time"])
def test_a_missing_envelope_field_is_named(field):
    event = json.loads(_event("hr.leave.recorded", GOOD["hr.leave.recorded"]))
    del event[field]
    rejection = parse_event(json.dumps(event))
    assert isinstance(rejection, Rejection)
    assert (rejection.reason, rejection.field) == ("missing_field", field)
    assert field in rejection.message


@pytest.mark.parametrize(
    "event_type, field, value",
    [
        ("hr.emergency_contact.changed", "relation", "neighbour"),
        ("hr.emergency_contact.changed", "action", "deleted"),
        ("hr.leave.recorded", "leave_type", "sabbatical"),
        ("telephony.call.completed", "direction", "sideways"),
    ],
)
def test_a_value_outside_its_list_is_rejected_naming_the_field(event_type, field, value):
    rejection = parse_event(_event(event_type, {**GOOD[event_type], field: value}))
    assert isinstance(rejection, Rejection)
    assert (rejection.reason, rejection.field) == ("invalid_field", f"data.{field}")


def test_a_contact_change_without_action_is_an_addition():
    data = {k: v for k, v in GOOD["hr.emergency_contact.changed"].items() if k != "action"}
    event = parse_event(_event("hr.emergency_contact.changed", data))
    assert not isinstance(event, Rejection), event
    assert event.data.action == "added"


@pytest.mark.parametrize(
    ("time", "ok"),
    [
        ("1999-12-31T23:59:59.999999Z", False),
        ("2000-01-01T00:00:00Z", True),
        ("2000-01-01T07:59:59.999999+08:00", False),
        ("2000-01-01T08:00:00+08:00", True),
    ],
)
def test_the_earliest_event_time_is_exact_to_the_microsecond_in_any_offset(time, ok):
    """The bound is checked on the POSIX timestamp the validator computes once: it must agree
    with comparing the datetimes, down to the microsecond, whatever the offset."""
    parsed = parse_event(_event("hr.leave.recorded", GOOD["hr.leave.recorded"], time=time))
    assert isinstance(parsed, Rejection) is not ok
    if not ok:
        assert parsed.field == "time" and "is before 2000-01-01" in parsed.message


def test_derived_times_and_uid_are_those_of_the_fields():
    """``timestamp``, a call's ``started`` and ``uid`` are computed once per event and cached:
    they equal what the fields say."""
    data = {**GOOD["telephony.call.completed"], "started_at": "2026-07-01T01:59:30Z"}
    call = parse_event(_event("telephony.call.completed", data))
    assert isinstance(call, CallCompletedEvent)
    assert call.timestamp == call.time.timestamp()
    assert call.uid == f"{call.source}/{call.id}" == "test/x-1"
    assert call.started == call.data.started_at.timestamp() == call.timestamp - 30
    unstarted = parse_event(_event("telephony.call.completed", GOOD["telephony.call.completed"]))
    assert isinstance(unstarted, CallCompletedEvent) and unstarted.started == unstarted.timestamp
