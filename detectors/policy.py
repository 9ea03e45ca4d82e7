"""The policy file (YAML) -> a validated :class:`Policy`.

Every rule's keys are checked against its detector's config model; the jurisdiction
pack (``cn`` or ``us``) gives the defaults for omitted keys. All mistakes are collected
and reported at once, each naming its key path.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from detectors.action_policy import ActionsPolicy
from detectors.base import RuleConfig
from detectors.durations import Duration
from detectors.exceptions import PolicyError
from events import ParseContext
from events.models import DEFAULT_MAX_AMOUNT, DEFAULT_MAX_SKEW
from events.phones import normalize_phone

Jurisdiction = Literal["cn", "us"]
CURRENCY_OF = {"cn": "CNY", "us": "USD"}
"""The currency a jurisdiction's default thresholds are written in."""
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}")


def _phone_number(value: str, info: ValidationInfo) -> str:
    """A phone number the detectors can normalise (under the process' phone region)."""
    normalize_phone(value, (info.context or {}).get("region", "CN"))
    return value


PhoneNumber = Annotated[str, AfterValidator(_phone_number)]


class Company(BaseModel):
    """The ``company:`` section: who is inside, who is trusted, who is a known collector."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mail_domains: list[str] = Field(default_factory=list)
    switchboard_numbers: list[PhoneNumber] = Field(default_factory=list)
    org_names: list[str] = Field(default_factory=list)
    allow_numbers: list[PhoneNumber] = Field(default_factory=list)
    allow_mail_domains: list[str] = Field(default_factory=list)
    collector_numbers: list[PhoneNumber] = Field(default_factory=list)
    collector_mail_domains: list[str] = Field(default_factory=list)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    """ISO 4217 code of claims and of every amount threshold; default by jurisdiction."""

    @field_validator("mail_domains", "allow_mail_domains", "collector_mail_domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _DOMAIN.fullmatch(value):
                raise ValueError(f"{value!r} is not a mail domain such as example.com")
        return [value.lower() for value in values]


class Privacy(BaseModel):
    """The ``privacy:`` section: whether the sensitive distress family runs, and its retention."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    distress: bool = True
    """False for a company without a legal basis to process distress signals (PIPL Art. 13, 28)."""
    distress_retention: Duration = timedelta(days=180)
    """How long distress alerts are kept (ClickHouse TTL)."""

    @field_validator("distress_retention")
    @classmethod
    def _within_clickhouse_dates(cls, value: timedelta) -> timedelta:
        if value.days > MAX_RETENTION_DAYS:
            raise ValueError(f"at most {MAX_RETENTION_DAYS} days ({value.days} given)")
        return value


MAX_RETENTION_DAYS = 10_000
"""Longest retention: an expiry date past 2106 wraps ClickHouse's DateTime into the past,
and the TTL deletes every row at the next merge."""


class InputBounds(BaseModel):
    """The ``input:`` section: values beyond these bounds are rejected (dead-lettered) on input."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_amount: Decimal = Field(DEFAULT_MAX_AMOUNT, gt=0, allow_inf_nan=False)
    """Largest amount of a claim, an approval limit or a salary."""
    max_clock_skew: Duration = timedelta(seconds=DEFAULT_MAX_SKEW)
    """How far an event time may be ahead of the reading process' clock."""


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    timezone: str = "Asia/Shanghai"
    jurisdiction: Jurisdiction = "cn"
    company: Company = Field(default_factory=Company)
    privacy: Privacy = Field(default_factory=Privacy)
    input: InputBounds = Field(default_factory=InputBounds)
    actions: ActionsPolicy = Field(default_factory=ActionsPolicy)
    rules: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """A validated policy with every rule's effective configuration."""

    version: int
    timezone: ZoneInfo
    jurisdiction: Jurisdiction
    company: Company
    rules: Mapping[str, RuleConfig]
    policy_version: str
    privacy: Privacy = field(default_factory=Privacy)
    input: InputBounds = field(default_factory=InputBounds)
    actions: ActionsPolicy = field(default_factory=ActionsPolicy)
    region: str = "CN"
    switchboard: frozenset[str] = frozenset()
    allow_numbers: frozenset[str] = frozenset()
    collector_numbers: frozenset[str] = frozenset()
    rule_keys_set: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Per rule, the keys the policy file sets itself (the others are pack or rule defaults)."""
    currency: str = "CNY"
    """ISO 4217 code of claims that the amount thresholds apply to."""

    def enabled(self, rule_id: str) -> bool:
        """Whether ``rule_id`` is switched on (the distress family also needs ``privacy.distress``)."""
        config = self.rules.get(rule_id)
        from detectors.registry import CATALOGUE  # the rules load when a policy is used, not read

        if CATALOGUE.get(rule_id) == "distress" and not self.privacy.distress:
            return False
        return bool(config and config.enabled)

    @property
    def runs_distress(self) -> bool:
        """Whether any rule of the sensitive distress family is on: its alerts need pseudonyms."""
        from detectors.registry import CATALOGUE

        return any(self.enabled(rule) for rule, category in CATALOGUE.items() if category == "distress")

    def parse_context(self) -> ParseContext:
        """How input is validated under this policy: phone region, company currency, value bounds."""
        return ParseContext(
            region=self.region,
            currency=self.currency,
            max_amount=self.input.max_amount,
            max_skew=self.input.max_clock_skew.total_seconds(),
        )


def _loc(parts: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in parts)


def _errors(prefix: str, error: ValidationError) -> list[str]:
    out = []
    for item in error.errors(include_url=False):
        path = _loc((prefix, *item["loc"])) if prefix else _loc(item["loc"])
        if item["type"] == "extra_forbidden":
            out.append(f"{path}: unknown key")
        else:
            out.append(f"{path}: {item['msg']}")
    return out


def _rule_configs(raw_rules: Any, jurisdiction: str, problems: list[str]) -> dict[str, RuleConfig]:
    from detectors.registry import CATALOGUE, DETECTORS

    if not isinstance(raw_rules, dict):
        problems.append("rules: expected a mapping of rule id -> settings")
        raw_rules = {}
    for rule_id in raw_rules:
        if rule_id not in CATALOGUE:
            problems.append(f"rules.{rule_id}: unknown rule id; known ids: {', '.join(CATALOGUE)}")
    configs: dict[str, RuleConfig] = {}
    for rule_id in CATALOGUE:
        user = raw_rules.get(rule_id) or {}
        if not isinstance(user, dict):
            problems.append(f"rules.{rule_id}: expected a mapping of settings")
            continue
        detector = DETECTORS[rule_id][0]
        defaults = dict(detector.pack_defaults.get(jurisdiction, {}))
        try:
            configs[rule_id] = detector.config_model.model_validate({**defaults, **user})
        except ValidationError as error:
            problems.extend(_errors(f"rules.{rule_id}", error))
    return configs


def _fingerprint(data: Mapping[str, Any]) -> str:
    canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(canonical).hexdigest()[:12]


def policy_from_mapping(data: Any, source: str = "<policy>", region: str = "CN") -> Policy:
    """Validate a decoded policy document; raise :class:`PolicyError` listing every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(source, ["(top level): expected a mapping"])
    problems: list[str] = []
    head = {k: v for k, v in data.items() if k != "rules"}
    try:
        parsed = _PolicyFile.model_validate(head, context={"region": region})
    except ValidationError as error:
        problems.extend(_errors("", error))
        parsed = None
    jurisdiction = parsed.jurisdiction if parsed else "cn"
    rules = _rule_configs(data.get("rules", {}), jurisdiction, problems)
    timezone = None
    if parsed:
        try:
            timezone = ZoneInfo(parsed.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"timezone: unknown time zone {parsed.timezone!r}, use an IANA name")
    if problems or parsed is None or timezone is None:
        raise PolicyError(source, problems)

    def numbers(values: list[str]) -> frozenset[str]:  # checked by the model: they normalise
        return frozenset(normalize_phone(value, region) for value in values)

    switchboard = numbers(parsed.company.switchboard_numbers)
    allow = numbers(parsed.company.allow_numbers)
    collectors = numbers(parsed.company.collector_numbers)
    effective = {
        "head": parsed.model_dump(mode="json", exclude={"rules"}),
        "rules": {rid: cfg.model_dump(mode="json") for rid, cfg in rules.items()},
    }
    return Policy(
        version=parsed.version,
        timezone=timezone,
        jurisdiction=parsed.jurisdiction,
        company=parsed.company,
        rules=rules,
        policy_version=f"{parsed.version}-{_fingerprint(effective)}",
        privacy=parsed.privacy,
        input=parsed.input,
        actions=parsed.actions,
        region=region,
        switchboard=switchboard,
        allow_numbers=allow,
        collector_numbers=collectors,
        rule_keys_set={
            rule_id: frozenset(settings)
            for rule_id, settings in (data.get("rules") or {}).items()
            if isinstance(settings, dict)
        },
        currency=parsed.company.currency or CURRENCY_OF[parsed.jurisdiction],
    )


def load_policy(path: str | Path | None, region: str = "CN") -> Policy:
    """Read and validate a policy file; ``None`` gives the built-in defaults (``cn`` pack)."""
    if path is None:
        return policy_from_mapping({}, "<defaults>", region)
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(source, [f"cannot read the file: {error.strerror}"]) from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyError(source, [f"not valid YAML: {error}"]) from error
    return policy_from_mapping(data, source, region)
