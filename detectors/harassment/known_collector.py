"""``harassment.known_collector``: a watch-listed collection agency reaches an employee."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import Duration
from detectors.routing import domain_in
from events import Subject
from events.alert import Severity
from events.models import MailReceivedEvent

if TYPE_CHECKING:
    pass


class KnownCollectorConfig(RuleConfig):
    severity: Severity = "medium"
    window: Duration = timedelta(hours=24)
    """Suppression: one alert per collector number or sender per period of this length."""


class KnownCollector(Detector[KnownCollectorConfig]):
    """Fires for calls/SMS from ``collector_numbers`` and mail from ``collector_mail_domains``."""

    rule_id = "harassment.known_collector"
    category = "harassment"
    family = "harassment"
    config_model = KnownCollectorConfig
    reads_hr_records = True

    def observe(self, item: Routed, state: State) -> Finding | None:
        event, ts = item.event, item.event.timestamp
        if isinstance(event, MailReceivedEvent):
            if not domain_in(item.key, self.policy.company.collector_mail_domains):
                return None
            employees = list(event.data.recipient_employee_ids)
            subject = Subject(kind="mail_sender", id=event.data.from_address)
            what = f"mail from {event.data.from_address}"
        else:
            employee = item.facts.get("employee_id")
            if item.key not in self.policy.collector_numbers or not employee:
                return None
            employees = [employee]
            subject = Subject(kind="phone", id=item.key)
            what = f"{item.facts.get('channel')} from {item.key}"
        return Finding(
            subject=subject,
            severity=self.config.severity,
            evidence=[(ts, event.uid)],
            trigger_ts=ts,
            summary=f"Watch-listed collector: {what} reached staff",
            details={"collector": subject.id, "employees": employees, "watch_list": "company.collector_*"},
            employee_ids=sorted(set(employees)),
        )


class KnownCollectorMail(KnownCollector):
    """The mail side of ``harassment.known_collector`` (mail is keyed by sender domain)."""

    family = "mail"
    reads_hr_records = False
