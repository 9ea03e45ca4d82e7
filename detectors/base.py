"""What a detector is: typed event + its keyed state -> at most one finding.

Detectors are pure: no Kafka, no clock, no I/O. The worker (streams/) and ``backtest``
call the same code through :class:`detectors.engine.Engine`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from events import Event, Subject
from events.alert import Severity

if TYPE_CHECKING:
    from detectors.directory import Directory
    from detectors.policy import Policy

State = MutableMapping[str, Any]
"""Detector state of one (family, key): a plain dict, the bundle the engine reads from and
writes back to the keyed store (a dict in ``backtest``, a RocksDB-backed Faust table in the
worker) once per event. Values must be JSON-serialisable; assign them back
(``state[k] = v``) after changing them.
"""


class RuleConfig(BaseModel):
    """Keys every rule has in the policy's ``rules:`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    enabled: bool = True
    """Whether the rule runs."""
    severity: Severity = "medium"
    """Severity of its alerts."""


@dataclass(frozen=True, slots=True)
class Routed:
    """An event on its way to the detectors of one key family, with the facts routing found."""

    family: str
    """Which key the event is partitioned by: ``harassment`` (external phone), ``conduct`` (debtor)."""
    key: str
    event: Event
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Finding:
    """A rule's verdict on one event: the evidence that fired and the facts to show."""

    subject: Subject
    severity: Severity
    evidence: list[tuple[float, str]]
    """``(event time, source/id)`` of the events that made the rule fire."""
    trigger_ts: float
    summary: str
    details: dict[str, Any]
    employee_ids: list[str] = field(default_factory=list)
    window: tuple[float, float] | None = None
    """Suppression window when the rule is calendar-based (a local day or night)."""
    actions: list[ActionRequest] = field(default_factory=list)
    """Requests to IT that go with the alert (e.g. block a mail sender)."""


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """What a rule asks IT to do; the engine turns it into an :class:`events.Action` once."""

    kind: Literal["block_sender", "block_domain"]
    target: str
    reason: str
    duration: timedelta


C = TypeVar("C", bound=RuleConfig)


class Detector(ABC, Generic[C]):
    """One rule of the catalogue. Subclasses set the class attributes and ``observe``."""

    rule_id: ClassVar[str]
    category: ClassVar[str]
    family: ClassVar[str]
    config_model: ClassVar[type[RuleConfig]]
    pack_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    """Per jurisdiction (``cn``, ``us``): the defaults that differ from ``config_model``'s."""
    reads_hr_records: ClassVar[bool] = False
    """Whether the rule depends on the company directory (HR records), directly or through
    routing. The directory counts an HR record from its arrival, not from its event time: the
    one way arrival order can change what such a rule finds (alerts say so in ``details``)."""
    event_types: ClassVar[frozenset[str] | None] = None
    """The event types the rule reads, where it reads only some of those its family is routed
    (``None``: all of them). An event goes to a family only if an enabled rule there reads
    its type, so the input of a rule that is off is neither forwarded nor kept."""
    arrival_order: ClassVar[str | None] = None
    """Set (to what depends on it) for a rule whose findings depend on the order events arrive
    in by its very definition; its alerts carry this text in ``details["arrival_order"]``."""

    def __init__(self, config: C, policy: Policy, directory: Directory | None = None) -> None:
        self.config = config
        self.policy = policy
        self.directory = directory
        """The company directory, for rules that need it (read only)."""

    @property
    def suppression(self) -> timedelta:
        """How long one alert absorbs later evidence for the same subject."""
        return getattr(self.config, "window", timedelta(hours=24))

    @property
    def state_horizon(self) -> timedelta:
        """How long after a key's last event this rule's state of the key can still matter:
        its suppression and every span of its settings. A key idle for longer than its
        family's horizon (plus the allowed lateness) is deleted (``Engine.expire``)."""
        spans = [value for value in vars(self.config).values() if isinstance(value, timedelta)]
        return max([self.suppression, *spans])

    def state_key(self, key: str) -> str:
        """This rule's entry in the keyed state."""
        return f"{self.rule_id}|{key}"

    @abstractmethod
    def observe(self, item: Routed, state: State) -> Finding | list[Finding] | None:
        """Take one (deduplicated) event of this detector's family; return its findings, if any."""
