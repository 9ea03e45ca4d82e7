"""Text normalisation before matching, keeping a map back to the original positions.

Traditional -> simplified Chinese (OpenCC ``t2s``), NFKC (full-width -> half-width),
case folding, and every whitespace, punctuation, separator and control character
dropped, so ``坐 牢``, ``坐-牢``, ``老賴`` and ``ＰＯＬＩＣＥ`` read ``坐牢``, ``老赖``, ``police``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_DROPPED = ("P", "Z", "C")  # punctuation, separators (spaces), control/format characters


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("t2s.json")


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text and, for each of its characters, the index of the original character."""

    text: str
    origin: tuple[int, ...]


@lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    if unicodedata.category(char)[0] in _DROPPED:
        return ""
    folded = unicodedata.normalize("NFKC", char).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] not in _DROPPED)


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for matching; see the module docstring."""
    converter = _converter()
    simplified = converter.convert(text)
    if len(simplified) != len(text):  # a phrase mapping changed the length: convert char by char
        simplified = "".join(converter.convert(ch) or ch for ch in text)
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(simplified):
        folded = _fold(char)
        out.append(folded)
        origin.extend([index] * len(folded))
    return Normalized("".join(out), tuple(origin))


def normalize_term(term: str) -> str:
    """A lexicon term in matching form."""
    return normalize(term).text
