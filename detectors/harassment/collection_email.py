"""``harassment.collection_email``: collection letters sent to corporate mailboxes; asks IT to block.

Emits ``block_sender`` for the sender, and ``block_domain`` once ``domain_senders``
distinct senders of one domain did so within ``domain_window`` (free-mail domains never,
allow-listed domains never reach this rule at all).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from detectors.base import ActionRequest, Detector, Finding, Routed, RuleConfig, State
from detectors.durations import Duration, format_duration
from detectors.harassment.collection_content import collection_terms
from detectors.routing import domain_in, sender_domain
from detectors.text.speech import outside_party_text
from detectors.windows import record
from events import Subject
from events.alert import Severity
from events.models import MailReceivedEvent

FREE_MAIL_DOMAINS = frozenset(
    {
        "qq.com",
        "foxmail.com",
        "163.com",
        "126.com",
        "yeah.net",
        "sina.com",
        "sina.cn",
        "sohu.com",
        "139.com",
        "189.cn",
        "wo.cn",
        "aliyun.com",
        "tom.com",
        "21cn.com",
        "gmail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "proton.me",
        "protonmail.com",
        "aol.com",
        "mail.com",
        "gmx.com",
        "yandex.com",
    }
)
"""Shared mailbox providers: blocking one would cut off everyone who uses it."""


def may_block(kind: str, target: str, allow_mail_domains: list[str]) -> bool:
    """Whether IT may be asked to block ``target``: never an allow-listed domain or an address
    in one, never a whole free-mail domain. The action keeper checks requests with it again."""
    domain = target.lower() if kind == "block_domain" else sender_domain(target)
    if domain_in(domain, allow_mail_domains):
        return False
    return not (kind == "block_domain" and domain in FREE_MAIL_DOMAINS)


class CollectionEmailConfig(RuleConfig):
    severity: Severity = "high"
    min_terms: int = Field(default=2, ge=1)
    """Distinct collection terms in subject and body."""
    domain_senders: int = Field(default=3, ge=2)
    """Distinct senders of one domain with collection mail within ``domain_window`` that make
    IT block the domain (never a free-mail domain)."""
    domain_window: Duration = timedelta(days=7)
    """Window of those senders."""
    window: Duration = timedelta(hours=24)
    """Suppression: letters of one sender in one period of this length update one alert."""
    block_for: Duration = timedelta(days=90)
    """How long a requested block should last (the action's ``expires_at``)."""


class CollectionEmail(Detector[CollectionEmailConfig]):
    """Fires on outside mail with ``min_terms`` collection terms in subject and body."""

    rule_id = "harassment.collection_email"
    category = "harassment"
    family = "mail"
    config_model = CollectionEmailConfig

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = item.event
        if not isinstance(event, MailReceivedEvent):
            return None
        domain = item.key
        if domain_in(domain, self.policy.company.allow_mail_domains):
            return None
        terms, sentences, how = collection_terms(outside_party_text(event))
        if len(terms) < self.config.min_terms:
            return None
        sender, ts = event.data.from_address, event.timestamp
        actions = [
            ActionRequest(
                "block_sender", sender, f"collection e-mail ({', '.join(terms)})", self.config.block_for
            )
        ]
        width = self.config.domain_window.total_seconds()
        log = record(state, self.state_key(domain), [ts, event.uid, sender], width)
        senders = sorted({e[2] for e in log if abs(e[0] - ts) <= width})
        allowed = self.policy.company.allow_mail_domains
        if len(senders) >= self.config.domain_senders and may_block("block_domain", domain, allowed):
            actions.append(
                ActionRequest(
                    "block_domain",
                    domain,
                    f"{len(senders)} senders of {domain} sent collection e-mail within "
                    f"{format_duration(self.config.domain_window)}",
                    self.config.block_for,
                )
            )
        return Finding(
            subject=Subject(kind="mail_sender", id=sender),
            severity=self.config.severity,
            evidence=[(ts, event.uid)],
            trigger_ts=ts,
            summary=f"Collection e-mail from {sender}: {event.data.subject[:60]}",
            details={
                "sender": sender,
                "domain": domain,
                "free_mail": domain in FREE_MAIL_DOMAINS,
                "terms": terms,
                "matched_as": how,
                "sentences": sentences[:5],
                "domain_senders": senders,
                "min_terms": self.config.min_terms,
            },
            employee_ids=sorted(set(event.data.recipient_employee_ids)),
            actions=actions,
        )
