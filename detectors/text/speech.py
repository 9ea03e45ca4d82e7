"""Who said what: the text of a call or SMS that a rule may judge."""

from __future__ import annotations

from events import Event
from events.models import CallCompletedEvent, MailReceivedEvent, SmsDeliveredEvent


def agent_turns(event: Event) -> list[str]:
    """What a collection agent said (call turns by ``agent``) or wrote (a collection SMS)."""
    if isinstance(event, CallCompletedEvent):
        return [turn.text for turn in event.data.transcript or [] if turn.speaker == "agent"]
    if isinstance(event, SmsDeliveredEvent) and event.data.text:
        return [event.data.text]
    return []


def outside_party_text(event: Event) -> str:
    """What the outside party of an inbound call said (not the employee), or an inbound SMS."""
    if isinstance(event, CallCompletedEvent):
        return "\n".join(
            t.text for t in event.data.transcript or [] if t.speaker not in ("callee", "customer")
        )
    if isinstance(event, SmsDeliveredEvent):
        return event.data.text
    if isinstance(event, MailReceivedEvent):
        return f"{event.data.subject}\n{event.data.body_text}"
    return ""
