"""The first hop's parsed events, handed to the second hop of the same process."""

from __future__ import annotations

from events import ParseContext, parse_event_dict
from streams.handoff import Handoff
from tests.factories import at, call


def parsed(n: int):
    return parse_event_dict(call(f"+86139000000{n:02d}", "+862160001234", at(n)), ParseContext(region="CN"))


def test_an_event_is_handed_over_once_per_copy():
    handoff = Handoff()
    event = parsed(1)
    ref = handoff.put(event, copies=2)
    assert handoff.take(ref) is event
    assert handoff.take(ref) is event
    assert handoff.take(ref) is None


def test_references_of_another_process_or_none_find_nothing():
    ours, theirs = Handoff(), Handoff()
    ref = theirs.put(parsed(1), copies=1)
    ours.put(parsed(1), copies=1)
    assert ours.take(ref) is None
    assert ours.take(None) is None


def test_the_oldest_events_are_forgotten_beyond_the_limit():
    handoff = Handoff(keep=2)
    refs = [handoff.put(parsed(n), copies=1) for n in range(3)]
    assert handoff.take(refs[0]) is None
    assert handoff.take(refs[1]) is not None
    assert handoff.take(refs[2]) is not None
