import time

import pytest

from detectors.text import TextMatcher, default_matcher, normalize
from detectors.text.lexicon import LexiconEntry
from detectors.text.matcher import find_amounts


@pytest.mark.parametrize(
    "text, term",
    [
        ("坐 牢", "坐牢"),
        ("坐-牢", "坐牢"),
        ("骗-子", "骗子"),
        ("老賴", "老赖"),
        ("ＰＯＬＩＣＥ", "police"),
        ("後果自負", "后果自负"),
        ("爆\u3000通\u3000讯\u3000录", "爆通讯录"),
        ("Go To Jail!", "go to jail"),
    ],
)
def test_evasions_are_normalised_away(text, term):
    assert term in {m.term for m in default_matcher().find(text)}


def test_matches_report_category_term_position_and_sentence():
    text = "您好。你这个老賴，再不还钱就让你坐牢！谢谢"
    found = {m.term: m for m in default_matcher().find(text)}
    assert found["老赖"].category == "insult"
    assert text[found["老赖"].start : found["老赖"].end] == "老賴"
    assert found["坐牢"].sentence == "你这个老賴，再不还钱就让你坐牢！"
    assert found["还钱"].category == "collection"


@pytest.mark.parametrize(
    "category, text, term",
    [
        ("collection", "请尽快还款", "还款"),
        ("threat", "再不还钱让你坐牢", "坐牢"),
        ("impersonation", "我是派出所的民警", "派出所"),
        ("insult", "你这个老赖", "老赖"),
        ("exposure", "再不还就爆通讯录，发到你公司", "爆通讯录"),
    ],
)
def test_every_lexicon_of_docs_architecture_finds_its_terms(category, text, term):
    found = default_matcher().find(text, frozenset({category}))
    assert term in {m.term for m in found} and {m.category for m in found} == {category}


def test_the_exposure_lexicon_allows_a_promise_not_to_call_the_contacts():
    assert not default_matcher().find("我们不会联系您通讯录里的人", frozenset({"exposure"}))
    assert default_matcher().find("我们会联系你通讯录里的人", frozenset({"exposure"}))


def test_a_lawful_context_allows_the_sentence_without_dropping_the_term():
    assert not default_matcher().find("如果一直不还，我们将依法向法院起诉。", frozenset({"impersonation"}))
    assert default_matcher().find("我是法院的，你被起诉了", frozenset({"impersonation"}))


def test_categories_can_be_selected():
    assert {m.category for m in default_matcher().find("老赖快还款", frozenset({"collection"}))} == {
        "collection"
    }


def test_custom_lexicons_and_exclusions():
    matcher = TextMatcher({"threat": [LexiconEntry("上门", ("上门服务",))]})
    assert [m.term for m in matcher.find("明天上门找你")] == ["上门"]
    assert matcher.find("我们提供上门服务") == []


def test_normalisation_keeps_a_map_to_the_original():
    norm = normalize("Ａ，b 坐-牢")
    assert norm.text == "ab坐牢"
    assert [norm.origin[i] for i in range(4)] == [0, 2, 4, 6]


@pytest.mark.parametrize(
    "text, found",
    [
        ("他欠款5000元", True),
        ("一共两万块", True),
        ("¥3,200", True),
        ("五千块钱", True),
        ("工号A100", False),
        ("请回电话", False),
    ],
)
def test_amounts_in_digits_or_chinese_numerals(text, found):
    assert bool(find_amounts(text)) is found


def test_throughput_is_reported(capsys):
    turns = [
        "您好，我是华信资产管理有限公司的催收专员，工号A100，本次通话将被录音。",
        "你再不还钱就让你坐牢！",
        "请您尽快结清本金，避免产生更多罚息。",
        "能不能少还一点？",
    ] * 500
    turns = [f"{turn}（第{i}句）" for i, turn in enumerate(turns)]  # distinct: the matcher remembers texts
    matcher = default_matcher()
    started = time.perf_counter()
    for turn in turns:
        matcher.find(turn)
    rate = len(turns) / (time.perf_counter() - started)
    print(f"text engine: {rate:,.0f} turns/s")
    assert rate > 1000


def test_the_dropped_characters_are_those_of_a_scan_of_every_code_point():
    """The first-use scan skips the unassigned planes 4-13 and adds the private-use planes
    whole: it must drop exactly what a scan of all 1.1 million code points drops."""
    import unicodedata

    from detectors.text.normalize import _DROPPED, _EMOJI_PARTS, _kept_run

    def dropped(code: int) -> bool:
        category = unicodedata.category(chr(code))
        emoji_part = any(a <= code <= b for a, b in _EMOJI_PARTS)
        return emoji_part or (category[0] in _DROPPED and category != "Cn")

    kept = _kept_run()
    codes = (c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    wrong = [c for c in codes if dropped(c) == bool(kept.fullmatch(chr(c)))]
    assert wrong == [], [hex(c) for c in wrong[:5]]
