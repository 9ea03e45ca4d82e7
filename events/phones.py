"""Phone-number normalisation to E.164 with Google's libphonenumber (``phonenumbers``)."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

_IDD_PREFIX = "00"


_SEPARATORS = str.maketrans("", "", " -().\u00a0\t")


@lru_cache(maxsize=16)
def _region_patterns(region: str) -> tuple[str, str, list[tuple[re.Pattern[str], frozenset[int]]]]:
    """(country code, national prefix, [(type pattern, possible lengths)]) from libphonenumber's metadata."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return "", "", []
    types = []
    for desc in (meta.mobile, meta.fixed_line):
        if desc is not None and desc.national_number_pattern:
            lengths = frozenset(desc.possible_length or meta.general_desc.possible_length or ())
            types.append((re.compile(desc.national_number_pattern), lengths))
    return str(meta.country_code), meta.national_prefix or "", types


def _fast_e164(key: str, region: str) -> str | None:
    """E.164 for a subscriber number of ``region`` that its mobile or fixed-line pattern matches.

    Exactly what libphonenumber answers for such numbers (a match makes them valid), at a
    fraction of the cost; anything else goes the full way.
    """
    code, trunk, types = _region_patterns(region)
    if not types:
        return None
    if key.startswith("+" + code):
        national = key[len(code) + 1 :]
    elif trunk and key.startswith(trunk):
        national = key[len(trunk) :]
    else:
        national = key
    if not national.isdigit():
        return None
    for pattern, lengths in types:
        if len(national) in lengths and pattern.fullmatch(national):
            return f"+{code}{national}"
    return None


@lru_cache(maxsize=200_000)
def normalize_phone(raw: str, region: str = "CN") -> str:
    """Return ``raw`` in E.164 (``+8613800138000``), or digits only when it is no subscriber number.

    See :func:`_normalize`; spellings of one number share a cache entry, so libphonenumber
    parses each distinct number once.
    """
    key = raw.strip().translate(_SEPARATORS)
    if key.startswith(_IDD_PREFIX):
        key = "+" + key[len(_IDD_PREFIX) :]
    return _cached(key or raw, region)


@lru_cache(maxsize=200_000)
def _cached(key: str, region: str) -> str:
    return _fast_e164(key, region) or _normalize(key, region)


def _normalize(raw: str, region: str) -> str:
    """E.164, or canonical digits for a service number or short code.

    Accepts the common written forms: ``+86 138 0013 8000``, ``13800138000``,
    ``021-60000000``, ``0086 21 6000 0000``. Service numbers and short codes (``95588``,
    ``1069…``) are real senders, so they are kept in a canonical digits-only form
    instead of being rejected: the national digits for the default region
    (``+8695588`` and ``95588`` are both ``95588``), country code and digits otherwise.
    Raises ``ValueError`` when ``raw`` holds no digit at all.
    """
    text = raw.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        raise ValueError(f"{raw!r} is not a phone number (no digits)")
    if text.startswith(_IDD_PREFIX) and not text.startswith("+"):
        text = "+" + text[len(_IDD_PREFIX) :]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return digits
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.national_significant_number(number)
    if number.country_code == phonenumbers.country_code_for_region(region):
        return national
    return f"{number.country_code}{national}"
