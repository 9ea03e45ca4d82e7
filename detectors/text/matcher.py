"""Every lexicon term at once: one Aho-Corasick pass (pyahocorasick) over the normalised
text, one pass by sound (``detectors.text.sound``), then the lawful contexts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

import ahocorasick

from detectors.text.lexicon import LexiconEntry, read_lexicon
from detectors.text.normalize import Normalized, fold, normalize, normalize_term
from detectors.text.sound import SoundIndex, readings, term_syllables
from detectors.text.words import words

LEXICON_DIR: Traversable = files("detectors") / "lexicons"
"""The reviewed lexicons, package data of ``detectors``."""
CATEGORIES = ("collection", "threat", "impersonation", "insult", "exposure")
MatchKind = Literal["exact", "normalised", "homophone", "pinyin"]
"""How a term matched: as written, after normalisation, by a homophone, or written in pinyin."""
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_SENTENCE_BREAKS = frozenset("。！？\n")
"""Ends of a Chinese sentence and line breaks: no match spans one (evaders use spaces,
dots, dashes and symbols)."""


MEMO_SIZE = 2048
"""Texts whose matches a matcher remembers (matches are immutable; a text is a few KB at most)."""


@dataclass(frozen=True, slots=True)
class Match:
    """One term found in a text: its category, the lexicon term, where, the sentence around
    it, and how it matched."""

    category: str
    term: str
    start: int
    end: int
    sentence: str
    how: MatchKind = "exact"


@dataclass(frozen=True, slots=True)
class _Entry:
    category: str
    term: str
    exclusions: tuple[str, ...]
    spellings: tuple[str, ...]
    """The term and its other spellings (``also:``) as the lexicon writes them."""


def _sentence(text: str, start: int, end: int) -> str:
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    right = _SENTENCE_END.search(text, end)
    return text[left : right.end() if right else len(text)].strip()


def _in_words(norm: Normalized, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` begins and ends between words, or lies inside one word
    (公安 in 公安局), rather than straddling two (办公|安排). Asked of two-character terms
    only: a longer term across a word boundary (事发|朋友圈) is no accident."""
    found = words(norm.simplified)
    return found.bounded(start, end) or found.within_one(start, end)


def _latin_edge(norm: Normalized, at: int) -> bool:
    """Whether ``at`` lies between two Latin words (or at an end), not inside one."""
    text, origin = norm.text, norm.origin
    if at in (0, len(text)):
        return True
    inside = text[at - 1] in _WORD_CHARS and text[at] in _WORD_CHARS
    return not inside or origin[at] - origin[at - 1] > 1


class TextMatcher:
    """Finds the terms of all categories in one pass over the normalised text, and by sound."""

    def __init__(self, lexicons: dict[str, Iterable[LexiconEntry]]) -> None:
        self._automaton = ahocorasick.Automaton()
        self._sound: SoundIndex[_Entry] = SoundIndex()
        keys: dict[str, list[tuple[str, object]]] = {}
        for category, lines in lexicons.items():
            for line in lines:
                key = normalize_term(line.term)
                if not key:
                    continue
                exclusions = tuple(normalize_term(e) for e in line.exclusions)
                entry = _Entry(category, line.term, exclusions, (line.term, *line.also))
                for spelling in (key, *(normalize_term(a) for a in line.also)):
                    keys.setdefault(spelling, []).append(("term", entry))
                for context in entry.exclusions:
                    keys.setdefault(context, []).append(("context", context))
                syllables = term_syllables(key, line.reads) if line.sound != "off" else None
                if syllables:
                    self._sound.add(key, syllables, entry, latin=line.sound == "all")
        for key, values in keys.items():
            self._automaton.add_word(key, (key, values))
        self._automaton.make_automaton()
        self._memo = lru_cache(maxsize=MEMO_SIZE)(self._find)

    @classmethod
    def from_directory(cls, directory: Path | Traversable | None = None) -> TextMatcher:
        """Load ``<category>.txt`` for every category (of :data:`LEXICON_DIR` by default)."""
        folder = LEXICON_DIR if directory is None else directory
        return cls({c: read_lexicon(folder / f"{c}.txt") for c in CATEGORIES})

    def warm(self) -> None:
        """Load now what the first match by sound would load (the reading table, the
        segmenter's dictionary): about half a second, at start-up rather than on an event."""
        self.find("预热：崔收")

    def find(self, text: str, categories: frozenset[str] | None = None) -> list[Match]:
        """Every term occurrence (optionally of some categories), minus those inside a lawful context.

        Remembered for the last :data:`MEMO_SIZE` texts: a template SMS or a scripted line
        recurs across events, and several rules read one event's text.
        """
        if not text:
            return []
        return list(self._memo(text, categories))

    def _find(self, text: str, categories: frozenset[str] | None) -> tuple[Match, ...]:
        norm = normalize(text)
        if not norm.text:
            return ()
        terms: list[tuple[int, int, _Entry, MatchKind | None]] = []
        contexts: list[tuple[int, int, str]] = []
        for last, (key, values) in self._automaton.iter(norm.text):
            start, end = last - len(key) + 1, last + 1
            if not (_latin_edge(norm, start) and _latin_edge(norm, end)):
                continue  # ``yq`` in ``anyquestion``
            for kind, value in values:
                if kind == "term":
                    terms.append((start, end, value, None))  # type: ignore[arg-type]
                else:
                    contexts.append((start, end, value))  # type: ignore[arg-type]
        if self._sound:
            terms += [(h.start, h.end, h.value, h.how) for h in self._sound.find(norm, text)]
        out = []
        for start, end, entry, how in terms:
            if categories is not None and entry.category not in categories:
                continue
            if any(ctx in entry.exclusions and cs <= start and end <= ce for cs, ce, ctx in contexts):
                continue
            o_start, o_end = norm.origin[start], norm.origin[end - 1] + 1
            if _SENTENCE_BREAKS.intersection(text[o_start:o_end]):
                continue  # 不欠。款已转你: two sentences, no term
            if how is None:
                if end - start == 2 and readings(norm.text[start]) and not _in_words(norm, o_start, o_end):
                    continue  # 办公安排 holds no 公安
                how = "exact" if text[o_start:o_end] in entry.spellings else "normalised"
            sentence = _sentence(text, o_start, o_end)
            out.append(Match(entry.category, entry.term, o_start, o_end, sentence, how))
        return tuple(out)


def matched_as(matches: Iterable[Match]) -> dict[str, list[MatchKind]]:
    """How each term was matched (``{"逾期": ["homophone"]}``), for alert details."""
    kinds: dict[str, set[MatchKind]] = {}
    for match in matches:
        kinds.setdefault(match.term, set()).add(match.how)
    return {term: sorted(found) for term, found in sorted(kinds.items())}


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


_INVISIBLE = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]+")


def find_amounts(text: str) -> list[str]:
    """Money amounts in ``text`` (``5000元``, ``¥3,200``, ``五千块``, ``2万``): on the text folded
    like :func:`normalize` but keeping currency signs and digit separators, which it drops."""
    return [m.group(0) for m in AMOUNT.finditer(_INVISIBLE.sub("", fold(text)))]
