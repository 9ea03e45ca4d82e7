"""The text engine: normalise, then find every lexicon term of every category in one pass."""

from detectors.text.matcher import Match, MatchKind, TextMatcher, default_matcher, matched_as
from detectors.text.normalize import normalize

__all__ = ["Match", "MatchKind", "TextMatcher", "default_matcher", "matched_as", "normalize"]
