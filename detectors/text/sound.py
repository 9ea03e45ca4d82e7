"""Matching by sound: homophones (``崔收`` for 催收) and terms written in pinyin (``cuishou``,
``yu qi``, ``催shou``).

The normalised text is read as a row of units: a Chinese character, which sounds like each
of its toneless readings (pypinyin's dictionary, every reading of a polyphonic character),
or a Latin word, the letters written together. A term matches by sound where consecutive
units spell its toneless pinyin syllable by syllable; one pass over the units finds every
term at once (a walk over a set of syllable-aligned prefixes, not a loop over terms).

A candidate is then held to the rules that keep precision (``docs/text-matching.md``):

- its Chinese ends lie on word boundaries (``words``): ``小崔收到`` is 小/崔/收到, so 崔收
  would end inside 收到;
- a homophone that is a dictionary word of its own, or that a dictionary word crosses, is
  not the term (``片子`` is not 骗子; 来电 crosses 老来 in ``老来电话``);
- a two-character homophone keeps one character of the term in its place (``崔收``, ``余期``),
  as a pair with neither is as often a name (``王黛``, ``李安``);
- Latin words written as names (``Wang Dai``, ``Yuqi``) or in an address are names, and a
  Latin word never runs over a syllable that begins with a vowel (``lian`` is not ``li'an``);
- ``sound: hanzi`` on a lexicon line asks for a Chinese character in the match, ``sound:
  off`` turns sound matching off for the term.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from typing import Generic, Literal, TypeVar

from detectors.text.normalize import Normalized
from detectors.text.words import crossed, words

T = TypeVar("T")
SoundKind = Literal["homophone", "pinyin"]
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789ü")


@lru_cache(maxsize=1)
def _reading_table() -> dict[str, tuple[str, ...]]:
    """Every Chinese character's toneless readings (pypinyin's dictionary), built once (0.1 s)."""
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.pinyin_dict import pinyin_dict

    toneless: dict[str, str] = {}
    table = {}
    for code, marked in pinyin_dict.items():
        plain = [toneless.get(r) or toneless.setdefault(r, to_normal(r)) for r in marked.split(",")]
        table[chr(code)] = tuple(dict.fromkeys(plain))
    return table


def readings(char: str) -> tuple[str, ...]:
    """Every toneless reading of a Chinese character (``ü`` as ``v``); ``()`` for anything else."""
    return _reading_table().get(char, ())


def term_syllables(term: str, reads: Sequence[str] = ()) -> tuple[str, ...] | None:
    """A term's toneless pinyin, read with pypinyin's phrase dictionary (``reads`` overrides);
    ``None`` unless every character is Chinese."""
    if not term or not all(readings(ch) for ch in term):
        return None
    if reads:
        return tuple(s.lower().replace("ü", "v") for s in reads)
    from pypinyin import Style, lazy_pinyin

    return tuple(lazy_pinyin(term, style=Style.NORMAL))


def _typed(syllables: Sequence[str]) -> list[tuple[str, ...]]:
    """Each syllable as people type it: ``lv`` or ``lu`` for ``lü`` (``lü`` itself folds to ``lv``)."""
    return [(s, s.replace("v", "u")) if "v" in s else (s,) for s in syllables]


def _spellings(syllables: Sequence[str]) -> set[str]:
    """Every way to type the whole term."""
    return {"".join(choice) for choice in product(*_typed(syllables))}


def _prefixes(syllables: Sequence[str]) -> set[str]:
    """Every way to type the term's first syllables, short of the whole."""
    options = _typed(syllables)
    return {"".join(choice) for k in range(1, len(options)) for choice in product(*options[:k])}


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int
    end: int
    sounds: tuple[str, ...]
    latin: bool
    name_shaped: bool


@dataclass(frozen=True, slots=True)
class SoundHit(Generic[T]):
    """A term matched by sound, on the normalised text (``start``, ``end`` exclusive)."""

    start: int
    end: int
    value: T
    how: SoundKind


@dataclass(frozen=True, slots=True)
class _Key(Generic[T]):
    value: T
    term: str
    latin: bool
    """Whether the term may be written all in Latin letters (``sound: all``)."""
    vowel_starts: frozenset[int]
    """Offsets in the spelling where a syllable begins with a vowel (``an`` of ``li'an``)."""


def _unit_at(norm: Normalized, original: str, at: int, table: dict[str, tuple[str, ...]]) -> _Unit:
    """The character or Latin word that starts at ``at``."""
    text, origin = norm.text, norm.origin
    sounds = table.get(text[at])
    if sounds:
        return _Unit(at, at + 1, sounds, False, False)
    if text[at] not in _LATIN:
        return _Unit(at, at + 1, (), False, False)
    end = at + 1
    while end < len(text) and _joined(norm, original, end):
        end += 1
    word = text[at:end]
    first, last = origin[at], origin[end - 1] + 1
    written = original[first:last]
    spoken = word.isalpha() and not _in_address(original, first, last)
    hyphened = first > 1 and original[first - 1] == "-" and original[first - 2].isalpha()
    # names are written Wang Dai, never BAO, Bao-Guang or C U I
    name_shaped = written.istitle() and not hyphened and any(c.islower() for c in written)
    return _Unit(at, end, (word.replace("ü", "v"),) if spoken else (), True, name_shaped)


def _joined(norm: Normalized, original: str, at: int) -> bool:
    """Whether the Latin letters at ``at - 1`` and ``at`` belong to one word: written
    together, or apart only by symbols, emoji and invisible characters (``c★u★i``), or
    spelled out letter by letter (``y u q i``). Spaces and punctuation part words."""
    text, origin = norm.text, norm.origin
    if text[at - 1] not in _LATIN or text[at] not in _LATIN:
        return False
    before, after = origin[at - 1], origin[at]
    between = original[before + 1 : after]
    if not between or all(_invisible_in_words(c) for c in between):
        return True
    spelled_out = between.isspace() and not original[before - 1 : before].isalnum()
    return spelled_out and not original[after + 1 : after + 2].isalnum()


def _invisible_in_words(char: str) -> bool:
    """Symbols, emoji parts and format characters: dropped, and no word boundary either."""
    return unicodedata.category(char)[0] in "SCM"


def _in_address(original: str, first: int, last: int) -> bool:
    """Whether ``original[first:last]`` is part of an e-mail address, a domain or a URL
    (``zhangdan@corp.example``, ``yuqi.example.com``): a name there, never pinyin text."""
    before = original[first - 2 : first] if first else ""
    after = original[last : last + 2]
    return (
        "@" in before[-1:] + after[:1]
        or (after[:1] in ("/", ":") and after[1:].isalnum())
        or (after[:1] == "." and after[1:].isascii() and after[1:].isalnum())
        or (before[-1:] in (".", "/") and before[:1].isascii() and before[:1].isalnum())
    )


class SoundIndex(Generic[T]):
    """Every term's pinyin, for one pass that finds them all by sound."""

    def __init__(self) -> None:
        self._keys: dict[str, list[_Key[T]]] = {}
        self._prefixes: set[str] = set()
        self._firsts: set[str] = set()
        self._starts: frozenset[str] | None = None
        self._pairs: dict[str, bool] = {}

    def add(self, term: str, syllables: Sequence[str], value: T, *, latin: bool) -> None:
        """Match ``term`` (normalised) by its ``syllables``; in Latin letters too if ``latin``."""
        offsets = [sum(map(len, syllables[:k])) for k in range(1, len(syllables))]
        vowels = frozenset(o for o, s in zip(offsets, syllables[1:], strict=True) if s[0] in "aoe")
        for spelling in _spellings(syllables):
            self._keys.setdefault(spelling, []).append(_Key(value, term, latin, vowels))
        self._prefixes |= _prefixes(syllables)
        self._firsts |= _spellings(syllables[:1])
        self._starts = None
        self._pairs.clear()

    def __bool__(self) -> bool:
        return bool(self._keys)

    def _start_chars(self) -> frozenset[str]:
        """Chinese characters that can begin a term by sound, and Latin letters and digits."""
        if self._starts is None:
            firsts = self._firsts
            chars = {ch for ch, sounds in _reading_table().items() if firsts.intersection(sounds)}
            self._starts = frozenset(chars | _LATIN)
        return self._starts

    def find(self, norm: Normalized, original: str) -> list[SoundHit[T]]:
        """Every sound match in ``norm`` (the normalisation of ``original``) that passes the rules."""
        text, starts = norm.text, self._start_chars()
        hits: list[SoundHit[T]] = []
        for at, char in enumerate(text):
            if char not in starts:
                continue
            if char in _LATIN:
                if char.isdigit() or (at and _joined(norm, original, at)):
                    continue  # a number, or inside a Latin word
            elif not self._may_begin(text[at : at + 2]):
                continue
            self._walk(norm, original, at, hits)
        return list(dict.fromkeys(hits))  # one hit, though ``lv`` and ``lu`` both spell it

    def _may_begin(self, pair: str) -> bool:
        """Whether two characters (or a character and a Latin letter) can begin a match by
        sound: the start of a longer term, or a two-character term they do not spell as
        written (the exact pass has that one). Remembered per pair, as most text repeats a
        few thousand pairs."""
        known = self._pairs.get(pair)
        if known is None:
            if len(self._pairs) >= 100_000:
                self._pairs.clear()
            if len(pair) < 2:
                known = False
            elif pair[1] in _LATIN:
                known = True
            else:
                prefixes, keys = self._prefixes, self._keys
                spelled = [a + b for a in readings(pair[0]) for b in readings(pair[1])]
                known = any(s in prefixes or any(k.term != pair for k in keys.get(s, ())) for s in spelled)
            self._pairs[pair] = known
        return known

    def _walk(self, norm: Normalized, original: str, at: int, hits: list[SoundHit[T]]) -> None:
        """Spell onwards from ``at`` while the sounds so far begin some term."""
        keys, prefixes, table = self._keys, self._prefixes, _reading_table()
        span: list[_Unit] = []
        paths = ("",)
        while at < len(norm.text):
            unit = _unit_at(norm, original, at, table)
            span.append(unit)
            grown = [path + sound for path in paths for sound in unit.sounds]
            for spelled in grown:
                for key in keys.get(spelled, ()):
                    hit = self._judge(norm, original, span, spelled, key)
                    if hit is not None:
                        hits.append(hit)
            paths = tuple(p for p in grown if p in prefixes)
            if not paths:
                return
            at = unit.end

    @staticmethod
    def _judge(
        norm: Normalized, original: str, span: Sequence[_Unit], spelled: str, key: _Key[T]
    ) -> SoundHit[T] | None:
        start, end = span[0].start, span[-1].end
        latin = [u for u in span if u.latin]
        if latin and (all(u.name_shaped for u in latin) or (len(latin) == len(span) and not key.latin)):
            return None
        written = norm.text[start:end]
        if written == key.term:
            return None  # the exact pass reports it
        if key.vowel_starts and _splits_a_syllable(span, spelled, key.vowel_starts):
            return None
        if len(latin) < len(span):
            o_start, o_end = norm.origin[start], norm.origin[end - 1] + 1
            found = words(norm.simplified)
            if (not span[0].latin and o_start not in found.edges) or (
                not span[-1].latin and o_end not in found.edges
            ):
                return None
            if not latin:
                if found.one_word(o_start, o_end) or crossed(norm.simplified, o_start, o_end):
                    return None  # a dictionary word of its own, or part of another
                if len(key.term) == 2 and all(a != b for a, b in zip(written, key.term, strict=True)):
                    return None
        return SoundHit(start, end, key.value, "pinyin" if latin else "homophone")


def _splits_a_syllable(span: Sequence[_Unit], spelled: str, vowel_starts: frozenset[int]) -> bool:
    """Whether a Latin word runs over a syllable that begins with a vowel: pinyin marks that
    boundary (``li'an``, ``li an``), so ``lian`` is one syllable (联, 脸), not 立案."""
    end = len(spelled)
    for unit in reversed(span):
        sound = (
            unit.sounds[0]
            if unit.latin
            else next((r for r in unit.sounds if spelled.endswith(r, 0, end)), "")
        )
        start = end - len(sound)
        if unit.latin and any(start < v < end for v in vowel_starts):
            return True
        end = start
    return False
