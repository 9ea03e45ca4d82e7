"""Text normalisation before matching, keeping a map back to the original positions.

Traditional -> simplified Chinese (OpenCC ``t2s``), NFKC (full-width -> half-width),
case folding, and every whitespace, punctuation, separator, control character, symbol and
emoji dropped (with the variation selectors, skin-tone modifiers, joiners and keycaps that
build emoji sequences), so ``坐 牢``, ``坐-牢``, ``坐★牢``, ``坐😀牢``, ``老賴`` and ``ＰＯＬＩＣＥ``
read ``坐牢``, ``老赖``, ``police``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

_DROPPED = ("P", "Z", "C", "S")  # punctuation, separators (spaces), control/format characters, symbols
_EMOJI_PARTS = ((0xFE00, 0xFE0F), (0x20E3, 0x20E3), (0xE0100, 0xE01EF))
"""Variation selectors and the enclosing keycap: marks, yet only ever parts of an emoji."""
_KEYCAP = re.compile("[0-9#*]\ufe0f?\u20e3")
"""A keycap emoji (``1️⃣``): its digit goes with it."""
_HIDDEN = "\u200b"
"""A zero-width space: what a keycap becomes before the drop, one for one (positions stay)."""


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("t2s.json")


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text and, for each of its characters, the index of the original character."""

    text: str
    origin: tuple[int, ...]
    simplified: str
    """The original in simplified characters, one for one: where words are looked up."""


@lru_cache(maxsize=1)
def _kept_run() -> re.Pattern[str]:
    """A run of characters outside the dropped categories. Built on first use (a scan of
    every code point, about 0.25 s), so commands that never match text do not pay for it."""
    return re.compile(f"[^{_dropped_class()}]+")


_SCANNED = (*range(0x40000), *range(0xE0000, 0xE1000))
"""Planes 0-3 and 14: every code point assigned outside the private-use planes (4-13 are
unassigned), so the scan at first use takes a quarter of the time of all 1.1 million."""
_PRIVATE_PLANES = ((0xF0000, 0xFFFFD), (0x100000, 0x10FFFD))
"""Planes 15 and 16, private use (``Co``), dropped like every ``C*`` character."""


def _dropped_class() -> str:
    """A regex character class of every code point in the dropped categories, and the emoji parts."""
    ranges: list[tuple[int, int]] = []
    for code in _SCANNED:
        if 0xD800 <= code <= 0xDFFF:
            continue
        category = unicodedata.category(chr(code))
        if category[0] in _DROPPED and category != "Cn":  # unassigned code points never appear
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    ranges += [*_EMOJI_PARTS, *_PRIVATE_PLANES]
    return "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges
    )


@lru_cache(maxsize=1)
def _plain_latin() -> dict[int, str]:
    """Latin letters with accents or tone marks -> the letter (``ú`` -> ``u``), the ``ü`` family
    -> ``v`` as pinyin types it (``lǜ`` -> ``lv``): one character for one."""
    table = {}
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        base, *marks = unicodedata.normalize("NFD", chr(code).casefold())
        if base.isascii() and base.isalpha() and marks and all(unicodedata.combining(m) for m in marks):
            table[code] = "v" if base == "u" and "\u0308" in marks else base
    return table


def _fold(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char).casefold().translate(_plain_latin())
    return "".join(_kept_run().findall(folded))


@lru_cache(maxsize=4096)  # the texts of the events at hand: several rules read each
def normalize(text: str) -> Normalized:
    """Normalise ``text`` for matching; see the module docstring."""
    if "\u20e3" in text:
        text = _KEYCAP.sub(lambda keycap: _HIDDEN * len(keycap.group()), text)
    converter = _converter()
    simplified = converter.convert(text)
    if len(simplified) != len(text):  # a phrase mapping changed the length: convert char by char
        simplified = "".join(converter.convert(ch) or ch for ch in text)
    folded = unicodedata.normalize("NFKC", simplified).casefold()
    if not folded.isascii():
        folded = folded.translate(_plain_latin())
    if len(folded) == len(simplified):  # the usual case: one character for one
        runs = [m.span() for m in _kept_run().finditer(folded)]
        origin = tuple(chain.from_iterable(range(a, b) for a, b in runs))
        return Normalized("".join(folded[a:b] for a, b in runs), origin, simplified)
    out: list[str] = []
    positions: list[int] = []
    for index, char in enumerate(simplified):
        piece = _fold(char)
        out.append(piece)
        positions.extend([index] * len(piece))
    return Normalized("".join(out), tuple(positions), simplified)


def fold(text: str) -> str:
    """Simplified Chinese and NFKC only, nothing dropped."""
    return unicodedata.normalize("NFKC", _converter().convert(text))


def normalize_term(term: str) -> str:
    """A lexicon term in matching form."""
    return normalize(term).text
