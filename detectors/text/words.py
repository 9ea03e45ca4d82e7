"""Where the words of a text begin and end: a dictionary-only segmentation (jieba-rs, its
guessing of new words off, so an evader's made-up pair such as 崔收 stays two words)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate


@dataclass(frozen=True, slots=True)
class Words:
    """The words of one text, as positions in that text."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    edges: frozenset[int]

    def bounded(self, start: int, end: int) -> bool:
        """Whether ``start:end`` begins and ends between words."""
        return start in self.edges and end in self.edges

    def within_one(self, start: int, end: int) -> bool:
        """Whether ``start:end`` lies inside one word (公安 in 公安局)."""
        k = bisect_right(self.starts, start) - 1
        return k >= 0 and end <= self.ends[k]

    def one_word(self, start: int, end: int) -> bool:
        """Whether ``start:end`` is exactly one word of two or more characters."""
        k = bisect_right(self.starts, start) - 1
        return k >= 0 and self.starts[k] == start and self.ends[k] == end and end - start > 1


@lru_cache(maxsize=256)  # the texts of the events at hand; a mail body may be long
def words(text: str) -> Words:
    """The words of ``text``, a text in simplified characters."""
    import rjieba

    ends = tuple(accumulate(map(len, rjieba.cut(text, False))))
    return Words((0, *ends[:-1]), ends, frozenset((0, *ends)))


def crossed(text: str, start: int, end: int, longest: int = 4) -> bool:
    """Whether a dictionary word overlaps ``text[start:end]`` (simplified characters) partly:
    begins before it and ends inside, or begins inside and ends after (来电 in 老来电话
    crosses 老来)."""
    import rjieba

    for a in range(max(0, start - longest + 1), end):
        for b in range(a + 2, min(len(text), a + longest) + 1):
            if (a < start < b <= end or start <= a < end < b) and rjieba.has_word(text[a:b]):
                return True
    return False
