"""The text engine: normalise, then find every lexicon term of every category in one pass."""

from detectors.text.matcher import Match, TextMatcher, default_matcher
from detectors.text.normalize import normalize

__all__ = ["Match", "TextMatcher", "default_matcher", "normalize"]
