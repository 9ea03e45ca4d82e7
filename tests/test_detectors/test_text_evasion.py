"""The text engine against evasion: symbols and emoji, homophones, pinyin, their mixes, and
the near misses a careless sound matcher would flag."""

import pytest

from detectors.text import TextMatcher, default_matcher
from detectors.text.lexicon import LexiconEntry, LexiconError, parse_line, read_lexicon
from detectors.text.matcher import CATEGORIES, LEXICON_DIR
from detectors.text.sound import term_syllables


def found(text: str) -> dict[str, tuple[str, str]]:
    """term -> (the original characters it was found in, how it matched)"""
    return {m.term: (text[m.start : m.end], m.how) for m in default_matcher().find(text)}


@pytest.mark.parametrize(
    "text, term, written",
    [
        ("已经逾😀期三天", "逾期", "逾😀期"),
        ("催★收部门", "催收", "催★收"),
        ("坐👍🏽牢", "坐牢", "坐👍🏽牢"),  # a skin-tone modifier
        ("老❤️赖", "老赖", "老❤️赖"),  # a variation selector
        ("坐1️⃣牢", "坐牢", "坐1️⃣牢"),  # a keycap, digit and all
        ("骗👨‍👩‍👧子", "骗子", "骗👨‍👩‍👧子"),  # a ZWJ sequence
        ("公→安", "公安", "公→安"),  # a maths symbol
        ("曝🇨🇳光", "曝光", "曝🇨🇳光"),  # a flag
        ("逾$期", "逾期", "逾$期"),  # a currency sign
    ],
)
def test_symbols_and_emoji_between_characters_are_dropped_and_highlights_stay_right(text, term, written):
    assert found(text)[term] == (written, "normalised")


def test_amounts_keep_their_currency_signs_though_matching_drops_symbols():
    from detectors.text.matcher import find_amounts

    assert find_amounts("共计¥3,200") == ["¥3,200"]


@pytest.mark.parametrize(
    "text, term, written",
    [
        ("我们是崔收公司", "催收", "崔收"),
        ("你已余期三天", "逾期", "余期"),
        ("请尽快还宽", "还款", "还宽"),  # 还 read huan, as the lexicon says
        ("你在网代借的钱", "网贷", "网代"),
        ("再不还就去座牢", "坐牢", "座牢"),
        ("我是公按局的", "公安", "公按"),
        ("协商还宽也行", "协商还款", "协商还宽"),
        ("你这个老来", "老赖", "老来"),
    ],
)
def test_homophones_match_and_say_so(text, term, written):
    assert found(text)[term] == (written, "homophone")


@pytest.mark.parametrize(
    "text, term, written",
    [
        ("你已经yuqi了", "逾期", "yuqi"),
        ("YU QI三天", "逾期", "YU QI"),
        ("ｃｕｉｓｈｏｕ", "催收", "ｃｕｉｓｈｏｕ"),  # full width
        ("cui-shou", "催收", "cui-shou"),
        ("你的wangdai", "网贷", "wangdai"),
        ("等着zuolao吧", "坐牢", "zuolao"),
        ("你这个laolai", "老赖", "laolai"),
        # mixed scripts, with symbols between
        ("催shou", "催收", "催shou"),
        ("yu期了", "逾期", "yu期"),
        ("逾😀qi", "逾期", "逾😀qi"),
        ("cui★收", "催收", "cui★收"),
        # symbols inside Latin words, letters spelled out, tone marks
        ("你已经y😀u😀q😀i了", "逾期", "y😀u😀q😀i"),
        ("c★u★i★s★h★o★u", "催收", "c★u★i★s★h★o★u"),
        ("yu\u200bqi", "逾期", "yu\u200bqi"),
        ("已经 y u q i 了", "逾期", "y u q i"),
        ("C U I S H O U", "催收", "C U I S H O U"),
        ("你已经yúqī了", "逾期", "yúqī"),
        ("CUĪ SHŌU", "催收", "CUĪ SHŌU"),
    ],
)
def test_pinyin_and_mixed_scripts_match_as_pinyin(text, term, written):
    assert found(text)[term] == (written, "pinyin")


@pytest.mark.parametrize("written", ["lvshi", "lushi", "lüshi", "LÜ SHI", "lǜshī", "律师", "绿师"])
def test_u_umlaut_is_matched_in_all_the_ways_it_is_typed(written):
    matcher = TextMatcher({"threat": [LexiconEntry("律师")]})
    assert [m.term for m in matcher.find(f"找{written}来")] == ["律师"]


@pytest.mark.parametrize(
    "text",
    [
        "小崔收到了你的资料",  # little Cui received: 崔收 would end inside 收到
        "请于期末前提交报告",  # by the end of term: 于期 would end inside 期末
        "老余期待您的回复",  # old Yu looks forward
        "片子拍完了",  # a film, not 骗子: a dictionary word of its own
        "长江的发源地",  # 发源, not 法院
        "王黛来了",  # a name: a pair with neither character of 网贷
        "李安导演的电影",  # a name, not 立案
        "Wang Dai will join us",  # a name written as one
        "Song Yuqi sings",
        "mail wangdai@corp.example",  # an address
        "see www.yuqi.example.com",
        "any question",
        "anyquestion",  # yq inside a word
        "qing lian xi wo",  # lian is one syllable (联); 立案 is li'an
        "Julian and Julius",  # lian, juliu inside words
        "Qianqian，物业费我帮你付了",  # a name, not 欠钱
        "我们下周办公安排有调整",  # 公安 across 办公|安排
        "日本金融考察团",  # 本金 across 日本|金融
        "明天还钱包给你",  # 还钱 across 还|钱包
        "请取号就坐，牢记保管好证件",  # 坐牢 across a comma and two words
        "谁也不欠。款已经转你了",  # 欠款 across the end of a sentence
        "项目终于完结🎉清明节快乐",  # 结清 across an emoji and two words
        "老板又在催😭收到请回话",
        "不好意思老来电话打扰您",  # 老来 is crossed by 来电
    ],
)
def test_near_misses_are_not_matched(text):
    assert found(text) == {}


@pytest.mark.parametrize(
    "text, term, written",
    [
        ("您的欠款已被li an", "立案", "li an"),
        ("已被li'an", "立案", "li'an"),
        ("你的信息Bao-Guang", "曝光", "Bao-Guang"),  # no name is spelled with a capital after a hyphen
        ("王强qianqian不还", "欠钱", "qianqian"),
    ],
)
def test_pinyin_that_is_not_a_name_matches(text, term, written):
    assert found(text)[term] == (written, "pinyin")


def test_a_term_inside_a_longer_word_still_matches():
    assert found("我是公安局的") == {"公安": ("公安", "exact")}
    assert found("把你的事发朋友圈") == {"发朋友圈": ("发朋友圈", "exact")}  # 事发 does not hide it


@pytest.mark.parametrize(
    "term, latin, homophone",
    [
        ("账单", "zhangdan", "账丹"),
        ("结清", "jieqing", "结青"),
        ("本金", "benjin", "本今"),
        ("罚息", "faxi", "罚西"),
        ("征信", "zhengxin", "征心"),
        ("民警", "minjing", "民井"),
        ("经侦", "jingzhen", "经真"),
        ("通缉", "tongji", "通机"),
        ("畜生", "chusheng", "畜声"),
        ("无赖", "wulai", "无来"),
        ("判刑", "panxing", "判星"),
    ],
)
def test_terms_whose_pinyin_is_a_name_or_word_never_match_all_in_latin_letters(term, latin, homophone):
    assert found(f"你的{latin}") == {}
    assert found(f"你的{homophone}呢") == {term: (homophone, "homophone")}
    mixed = term[0] + latin[len(term_syllables(term)[0]) :]
    assert found(f"你的{mixed}呢") == {term: (mixed, "pinyin")}


def test_the_lexicon_abbreviation_yq_matches_as_a_word_of_its_own():
    assert found("你yq三天了") == {"逾期": ("yq", "exact")}
    assert found("YQ三天了") == {"逾期": ("YQ", "normalised")}
    assert found("a yquem wine") == {}


@pytest.mark.parametrize(
    "term, syllables",
    [
        ("还款", ("huan", "kuan")),
        ("协商还款", ("xie", "shang", "huan", "kuan")),
        ("最低还款", ("zui", "di", "huan", "kuan")),
        ("逾期未还", ("yu", "qi", "wei", "huan")),
    ],
)
def test_readings_the_phrase_dictionary_gets_wrong_are_fixed_in_the_lexicon(term, syllables):
    entries = {e.term: e for c in CATEGORIES for e in read_lexicon(LEXICON_DIR / f"{c}.txt")}
    assert term_syllables(term, entries[term].reads) == syllables
    assert term_syllables(term) != syllables  # pypinyin reads 还 hai here


def test_sound_matching_can_be_switched_off_per_term():
    matcher = TextMatcher({"threat": [parse_line("坐牢 | sound: off"), parse_line("拘留 | sound: hanzi")]})
    assert matcher.find("座牢 zuolao") == []
    assert [(m.term, m.how) for m in matcher.find("拘流 juliu")] == [("拘留", "homophone")]


def test_exact_and_normalised_are_told_apart():
    assert found("老赖") == {"老赖": ("老赖", "exact")}
    assert found("老賴") == {"老赖": ("老賴", "normalised")}


@pytest.mark.parametrize(
    "line, message",
    [
        ("坐牢 | sound: never", "sound: 'never' is not one of all, hanzi, off"),
        ("坐牢 | tone: 4", "unknown option 'tone: 4'"),
        ("还款 | reads: huan", "reads: 1 syllables for the 2 characters"),
    ],
)
def test_a_bad_lexicon_line_is_named_with_its_file_and_line(tmp_path, line, message):
    path = tmp_path / "threat.txt"
    path.write_text(f"# comment\n{line}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=f"threat.txt:2: {message}"):
        read_lexicon(path)


def test_a_bad_lexicon_line_stops_the_engine_at_start_up(tmp_path, monkeypatch):
    from detectors import load_policy
    from detectors.engine import Engine
    from detectors.text import matcher

    for category in CATEGORIES:
        shipped = (LEXICON_DIR / f"{category}.txt").read_text("utf-8")
        (tmp_path / f"{category}.txt").write_text(shipped, "utf-8")
    with (tmp_path / "threat.txt").open("a", encoding="utf-8") as lexicon:
        lexicon.write("坐牢 | sound: sometimes\n")
    monkeypatch.setattr(matcher, "LEXICON_DIR", tmp_path)
    matcher.default_matcher.cache_clear()
    try:
        with pytest.raises(LexiconError, match=r"threat.txt:\d+: sound: 'sometimes'"):
            Engine(load_policy(None))
    finally:
        matcher.default_matcher.cache_clear()
