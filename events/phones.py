"""Phone-number normalisation to E.164 with Google's libphonenumber (``phonenumbers``)."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

_IDD_PREFIX = "00"


_SEPARATORS = str.maketrans("", "", " -().\u00a0\t")


def normalize_phone(raw: str, region: str = "CN") -> str:
    """Return ``raw`` in E.164 (``+8613800138000``), or digits only when it is no subscriber number.

    See :func:`_normalize`; spellings of one number share a cache entry, so libphonenumber
    parses each distinct number once.
    """
    key = raw.strip().translate(_SEPARATORS)
    if key.startswith(_IDD_PREFIX):
        key = "+" + key[len(_IDD_PREFIX) :]
    return _normalize(key or raw, region)


@lru_cache(maxsize=200_000)
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
