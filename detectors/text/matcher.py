"""Aho-Corasick matching of every lexicon term at once (pyahocorasick), with exclusion contexts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import ahocorasick

from detectors.text.normalize import normalize, normalize_term

LEXICON_DIR: Traversable = files("detectors") / "lexicons"
"""The reviewed lexicons, package data of ``detectors``."""
CATEGORIES = ("collection", "threat", "impersonation", "insult", "exposure")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")


@dataclass(frozen=True, slots=True)
class Match:
    """One term found in a text: its category, the lexicon term, where, and the sentence around it."""

    category: str
    term: str
    start: int
    end: int
    sentence: str


@dataclass(frozen=True, slots=True)
class _Entry:
    category: str
    term: str
    exclusions: tuple[str, ...]


def _sentence(text: str, start: int, end: int) -> str:
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    right = _SENTENCE_END.search(text, end)
    return text[left : right.end() if right else len(text)].strip()


def read_lexicon(path: Path | Traversable) -> list[tuple[str, tuple[str, ...]]]:
    """``term`` or ``term | !lawful context | !another`` per line; ``#`` starts a comment."""
    entries = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        term, *rest = (part.strip() for part in line.split("|"))
        exclusions = tuple(part[1:].strip() for part in rest if part.startswith("!"))
        entries.append((term, exclusions))
    return entries


class TextMatcher:
    """Finds the terms of all categories in one pass over the normalised text."""

    def __init__(self, lexicons: dict[str, Iterable[tuple[str, tuple[str, ...]]]]) -> None:
        self._automaton = ahocorasick.Automaton()
        keys: dict[str, list[tuple[str, object]]] = {}
        for category, entries in lexicons.items():
            for term, exclusions in entries:
                key = normalize_term(term)
                if not key:
                    continue
                entry = _Entry(category, term, tuple(normalize_term(e) for e in exclusions))
                keys.setdefault(key, []).append(("term", entry))
                for context in entry.exclusions:
                    keys.setdefault(context, []).append(("context", context))
        for key, values in keys.items():
            self._automaton.add_word(key, (key, values))
        self._automaton.make_automaton()

    @classmethod
    def from_directory(cls, directory: Path | Traversable = LEXICON_DIR) -> TextMatcher:
        """Load ``<category>.txt`` for every category."""
        return cls({c: read_lexicon(directory / f"{c}.txt") for c in CATEGORIES})

    def find(self, text: str, categories: frozenset[str] | None = None) -> list[Match]:
        """Every term occurrence (optionally of some categories), minus those inside a lawful context."""
        if not text:
            return []
        norm = normalize(text)
        if not norm.text:
            return []
        terms: list[tuple[int, int, _Entry]] = []
        contexts: list[tuple[int, int, str]] = []
        for end, (key, values) in self._automaton.iter(norm.text):
            start = end - len(key) + 1
            for kind, value in values:
                if kind == "term":
                    terms.append((start, end, value))  # type: ignore[arg-type]
                else:
                    contexts.append((start, end, value))  # type: ignore[arg-type]
        out = []
        for start, end, entry in terms:
            if categories is not None and entry.category not in categories:
                continue
            if any(ctx in entry.exclusions and cs <= start and end <= ce for cs, ce, ctx in contexts):
                continue
            o_start, o_end = norm.origin[start], norm.origin[end] + 1
            out.append(Match(entry.category, entry.term, o_start, o_end, _sentence(text, o_start, o_end)))
        return out


@lru_cache(maxsize=1)
def default_matcher() -> TextMatcher:
    """The matcher over the lexicons shipped in ``detectors/lexicons``."""
    return TextMatcher.from_directory()


_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
AMOUNT = re.compile(
    rf"(?:[¥￥]\s*\d[\d,，]*(?:\.\d+)?)"
    rf"|(?:\d[\d,，]*(?:\.\d+)?\s*(?:万|千)?\s*(?:元|块|圆|人民币))"
    rf"|(?:[{_CN_DIGITS}]{{2,}}\s*(?:元|块|圆))"
    rf"|(?:\d+(?:\.\d+)?\s*万)"
)
"""A sum of money written in digits or Chinese numerals, with a currency sign or unit."""


def find_amounts(text: str) -> list[str]:
    """Money amounts in ``text`` (``5000元``, ``¥3,200``, ``五千块``, ``2万``)."""
    return [m.group(0) for m in AMOUNT.finditer(normalize(text).text)]
