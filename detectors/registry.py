"""Rule id -> detector class, in one explicit table. The policy's ``rules:`` keys are checked here."""

from __future__ import annotations

from detectors.base import Detector
from detectors.conduct.call_bombing import CallBombing
from detectors.conduct.daily_attempt_cap import DailyAttemptCap
from detectors.conduct.daily_conversation_cap import DailyConversationCap
from detectors.conduct.language import MissingIdentification, ProhibitedLanguage
from detectors.conduct.quiet_hours import QuietHours
from detectors.conduct.third_party import ThirdPartyContactWithoutCause, ThirdPartyDisclosure
from detectors.contacts.colleague_as_emergency_contact import (
    ColleagueAsEmergencyContact,
    OfficeNumberAsContact,
)
from detectors.contacts.frequent_changes import FrequentChanges
from detectors.distress.frequent_leave import FrequentLeave
from detectors.distress.frequent_small_claims import FrequentSmallClaims
from detectors.distress.risk_score import RiskScore
from detectors.expense.cohort_outlier import CohortOutlier
from detectors.expense.duplicate_claim import DuplicateClaim
from detectors.expense.near_limit_cluster import NearLimitCluster
from detectors.expense.split_claims import SplitClaims
from detectors.harassment.collection_content import CollectionContent
from detectors.harassment.collection_email import CollectionEmail
from detectors.harassment.contact_blast import ContactBlast
from detectors.harassment.emergency_contact_targeted import EmergencyContactTargeted
from detectors.harassment.known_collector import KnownCollector, KnownCollectorMail
from detectors.harassment.repeated_calls import RepeatedCalls

CATALOGUE: dict[str, str] = {
    "harassment.contact_blast": "harassment",
    "harassment.repeated_calls": "harassment",
    "harassment.emergency_contact_targeted": "harassment",
    "harassment.collection_content": "harassment",
    "harassment.collection_email": "harassment",
    "harassment.known_collector": "harassment",
    "contacts.colleague_as_emergency_contact": "contacts",
    "contacts.office_number_as_contact": "contacts",
    "contacts.frequent_changes": "contacts",
    "distress.frequent_small_claims": "distress",
    "distress.frequent_leave": "distress",
    "distress.risk_score": "distress",
    "expense.split_claims": "expense",
    "expense.duplicate_claim": "expense",
    "expense.near_limit_cluster": "expense",
    "expense.cohort_outlier": "expense",
    "conduct.quiet_hours": "conduct",
    "conduct.daily_conversation_cap": "conduct",
    "conduct.daily_attempt_cap": "conduct",
    "conduct.call_bombing": "conduct",
    "conduct.third_party_disclosure": "conduct",
    "conduct.third_party_contact_without_cause": "conduct",
    "conduct.prohibited_language": "conduct",
    "conduct.missing_identification": "conduct",
}
"""Every public rule id of rules.md with its category; ids are stable."""

_CLASSES: tuple[type[Detector], ...] = (
    ContactBlast,
    RepeatedCalls,
    EmergencyContactTargeted,
    CollectionContent,
    CollectionEmail,
    KnownCollector,
    KnownCollectorMail,
    ColleagueAsEmergencyContact,
    OfficeNumberAsContact,
    FrequentChanges,
    QuietHours,
    DailyConversationCap,
    DailyAttemptCap,
    CallBombing,
    ThirdPartyDisclosure,
    ThirdPartyContactWithoutCause,
    ProhibitedLanguage,
    MissingIdentification,
    FrequentSmallClaims,
    FrequentLeave,
    RiskScore,
    SplitClaims,
    DuplicateClaim,
    NearLimitCluster,
    CohortOutlier,
)

DETECTORS: dict[str, tuple[type[Detector], ...]] = {}
"""Rule id -> its detector classes (one per key family it watches; the first owns the config).
Every rule of the catalogue has one."""
for _cls in _CLASSES:
    DETECTORS[_cls.rule_id] = (*DETECTORS.get(_cls.rule_id, ()), _cls)
