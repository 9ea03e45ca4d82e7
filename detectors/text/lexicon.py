"""Lexicon files: one term per line, with lawful contexts and matching options.

``term | !lawful context | sound: hanzi | reads: huan kuan | also: yq``; ``#`` starts a
comment. ``sound`` says whether the term also matches by sound: ``all`` (default:
homophones in Chinese characters and pinyin in Latin letters), ``hanzi`` (homophones
only: the term's pinyin is also a common name or word in Latin text) or ``off``.
``reads`` gives the term's pinyin where the phrase dictionary reads it wrong; ``also``
lists other spellings (the abbreviations collectors write), matched as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal, get_args

from detectors.exceptions import LexiconError

SoundMode = Literal["all", "hanzi", "off"]


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """One lexicon term and how it may match."""

    term: str
    exclusions: tuple[str, ...] = ()
    sound: SoundMode = "all"
    reads: tuple[str, ...] = ()
    """The term's pinyin syllables, toneless, when the phrase dictionary reads it wrong."""
    also: tuple[str, ...] = ()


def parse_line(line: str) -> LexiconEntry | None:
    """One lexicon line; ``None`` for a blank or comment line."""
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    term, *parts = (part.strip() for part in line.split("|"))
    options: dict[str, str] = {}
    exclusions = []
    for part in parts:
        if part.startswith("!"):
            exclusions.append(part[1:].strip())
            continue
        name, sep, value = part.partition(":")
        if not sep or name.strip() not in ("sound", "reads", "also"):
            raise LexiconError(f"unknown option {part!r} (expected !context, sound:, reads: or also:)")
        options[name.strip()] = value.strip()
    sound = options.get("sound", "all")
    if sound not in get_args(SoundMode):
        raise LexiconError(f"sound: {sound!r} is not one of {', '.join(get_args(SoundMode))}")
    reads = tuple(options.get("reads", "").split())
    if reads and len(reads) != len(term):
        raise LexiconError(f"reads: {len(reads)} syllables for the {len(term)} characters of {term!r}")
    also = tuple(a.strip() for a in options.get("also", "").split(",") if a.strip())
    return LexiconEntry(term, tuple(exclusions), sound, reads, also)  # type: ignore[arg-type]


def read_lexicon(path: Path | Traversable) -> list[LexiconEntry]:
    """Every entry of one lexicon file."""
    entries = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = parse_line(raw)
        except LexiconError as exc:
            raise LexiconError(f"{path}:{number}: {exc}") from None
        if entry is not None:
            entries.append(entry)
    return entries
