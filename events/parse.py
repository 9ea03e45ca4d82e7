"""Raw bytes -> a typed event, or a :class:`Rejection` that names the field and the reason."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from pydantic import ValidationError

from events.models import DEFAULT_MAX_AMOUNT, DEFAULT_MAX_SKEW, EVENT_MODELS, EVENT_TYPES, Event


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What parsing needs beyond the bytes: phone region, company currency, value bounds and the
    reader's clock."""

    region: str = "CN"
    currency: str = "CNY"
    """ISO 4217 code of a claim that names none: the company's (policy ``company.currency``)."""
    max_amount: Decimal = DEFAULT_MAX_AMOUNT
    """Largest amount accepted (claims, approval limits, salaries)."""
    max_skew: float = DEFAULT_MAX_SKEW
    """Seconds an event time may be ahead of ``now()``."""
    now: Callable[[], float] = time.time
    _validation: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._validation.update(
            region=self.region,
            currency=self.currency,
            max_amount=self.max_amount,
            max_skew=self.max_skew,
            now=self.now,
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an input could not become an event; this is what the dead-letter record carries."""

    reason: str
    """Short machine-friendly class of the problem: ``not_json``, ``invalid_field``, …"""
    message: str
    """Human-readable text naming the field and what is wrong with it."""
    field: str | None = None


CONTROL_CHARACTERS = "must not contain control characters (NUL, line breaks, escapes)"


def _describe(error: ValidationError) -> Rejection:
    problems = []
    for item in error.errors(include_url=False):
        loc = ".".join(str(part) for part in item["loc"])
        text = CONTROL_CHARACTERS if item["type"] == "string_pattern_mismatch" else item["msg"]
        problems.append(f"{loc}: {text}")
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    kind = "missing_field" if first["type"] == "missing" else "invalid_field"
    return Rejection(kind, "; ".join(problems), field)


def parse_event_dict(obj: Any, context: ParseContext = ParseContext()) -> Event | Rejection:
    """Validate an already-decoded JSON value as an input event."""
    if not isinstance(obj, dict):
        return Rejection("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    event_type = obj.get("type")
    if event_type is None:
        return Rejection("missing_field", "type: Field required", "type")
    model = EVENT_MODELS.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        return Rejection(
            "unknown_type",
            f"type: unknown event type {event_type!r}; expected one of {', '.join(EVENT_TYPES)}",
            "type",
        )
    try:
        # the model's validator itself: model_validate adds a Python frame per event
        return model.__pydantic_validator__.validate_python(obj, context=context._validation)  # type: ignore[no-any-return]
    except ValidationError as error:
        return _describe(error)


def parse_event(raw: bytes | str, context: ParseContext = ParseContext()) -> Event | Rejection:
    """Decode and validate one CloudEvents JSON document."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return Rejection("not_json", f"not valid JSON: {error}")
    return parse_event_dict(obj, context)
