"""A hand-written, labelled evasion set for the text rules: writes ``tests/files/evasion.jsonl``.

Collectors write around keyword filters. This set measures how well the text engine
(``detectors/text``) sees through that, for the two rules that judge words:

- ``harassment.collection_content``: an inbound SMS from an outside mobile to an employee's
  mobile that holds at least two distinct collection terms (``detectors/lexicons/collection.txt``);
- ``conduct.prohibited_language``: a collection agent's call (agent turns of the transcript)
  or collection SMS that holds one threat, impersonation, insult or exposure term.

Every case says which evasion its terms carry (the ``cmevasion`` extension attribute):

- ``plain``: the exact lexicon term (a control);
- ``normalised``: forms the engine handled when the set was written (spaces, zero-width
  characters, punctuation such as ``※``, traditional characters, full width, upper case);
- ``symbol``: emoji and symbols between the characters (``逾😀期``, ZWJ sequences, skin tones,
  variation selectors, keycaps, ``★◆♥→``);
- ``homophone``: other characters of the same toneless pinyin (``余期`` for 逾期, ``座牢`` for 坐牢);
- ``pinyin``: the term in Latin pinyin (``yuqi``, ``YU QI``, ``cui-shou``, full-width ``ｃｕｉｓｈｏｕ``);
- ``mixed``: several of these inside one term (``催shou``, ``逾😀qi``, ``崔★收``, ``還kuan``).

A case event has ``"cmlabel": "<rule_id>#<kind>-<nn>"``; a near miss (an innocent text that a
careless sound or symbol matcher would flag: a sound match across a word boundary, a real
word or a name that sounds like a term, a pinyin name, an emoji between two innocent words)
has ``"cmlabel": "near_miss:<rule_id>#<kind>-nm-<nn>"``. A ``collection_content`` near miss
holds exactly one genuine collection term plus one innocent look-alike (or two look-alikes),
so a matcher that takes the look-alike for a term counts two.

The texts below are the set: they are written by hand and reviewed as they stand; this
script only wraps them into CloudEvents (HR records of the employees first). It uses no
randomness and only the standard library. Regenerate with::

    python tests/files/evasion_set.py

and score a run with ``python -m streams backtest tests/files/evasion.jsonl --out alerts.jsonl``
then ``python -m streams score tests/files/evasion.jsonl alerts.jsonl``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).with_name("evasion.jsonl")
TZ = timezone(timedelta(hours=8))  # Asia/Shanghai, no DST
START = datetime(2026, 9, 1, tzinfo=TZ)
CONTENT = "harassment.collection_content"
LANGUAGE = "conduct.prohibited_language"
KINDS = ("plain", "normalised", "symbol", "homophone", "pinyin", "mixed")

ZW = "\u200b"  # zero-width space
VS = "\ufe0f"  # variation selector-16 (emoji presentation)
ZWJ_FAMILY = "👨\u200d👩\u200d👧"  # man, woman, girl joined by zero-width joiners
HEART, SCALES = "❤" + VS, "⚖" + VS


def keycap(digit: int) -> str:
    """``1️⃣``: a digit, VS-16 and the combining enclosing keycap."""
    return f"{digit}{VS}\u20e3"


# --- the company: employees the collectors' SMS go to ---------------------------------------

EMPLOYEES = [  # employee_id, name, role, mobile
    ("E701", "马超", "sales", "+8613910000701"),
    ("E702", "高峰", "sales", "+8613910000702"),
    ("E703", "林芳", "finance", "+8613910000703"),
    ("E704", "罗斌", "engineering", "+8613910000704"),
    ("E705", "梁静", "engineering", "+8613910000705"),
    ("E706", "宋涛", "support", "+8613910000706"),
    ("E707", "唐丽", "support", "+8613910000707"),
    ("E708", "韩冰", "admin", "+8613910000708"),
    ("E709", "曹阳", "hr", "+8613910000709"),
    ("E710", "许琳", "sales", "+8613910000710"),
]
AGENCY_PBX = "+862150000000"
AGENCY_SMS = "+862150000001"
AGENTS = ("A301", "A302", "A303", "A304", "A305", "A306")
HELLO = "您好，我是华信资产管理有限公司的催收专员，工号{agent}，本次通话将被录音。"
REPLIES = ("我这个月手头紧。", "我知道了。", "能不能宽限几天？", "你们别老打电话。")
CLOSING = "好的，请您尽快安排，再见。"

# --- harassment.collection_content: SMS to an employee, two or more collection terms ---------
# Every positive case carries its kind on the terms, so that a matcher without that technique
# finds fewer than two terms. Case nn of one kind is case nn of another, written differently
# (the five plain messages open every kind; homophone, pinyin and mixed share all twelve).

CONTENT_CASES: dict[str, list[str]] = {
    "plain": [
        "您的同事张伟在我司网贷逾期，请转告其尽快还款。",
        "【贷后通知】贵司员工李娜的欠款已逾期30天，请提醒她今日内结清本金和罚息。",
        "你好，你同事王强欠钱不还，已经拖欠三个月了，麻烦让他联系我们。",
        "刘洋的债务已转交我司催收，请转告他今天之内还钱，否则上报征信。",
        "您好，这里是贷后部门，陈静的账单已逾期未还，滞纳金每天都在增加。",
    ],
    "normalised": [
        "您的同事张伟在我司网 贷 逾 期，请转告其尽快还 款。",
        "貴司員工李娜在我司的網貸已經逾期，請提醒她儘快還款，以免影響徵信。",
        f"你同事王强欠{ZW}钱不还，已经拖{ZW}欠三个月了，麻烦让他联系我们。",
        "刘洋的债-务已转交我司催.收，请转告他今天之内还_钱！",
        "ＤＥＢＴ ＣＯＬＬＥＣＴＯＲ: Chen Jing's account is PAST DUE, OUTSTANDING BALANCE 8,000 CNY.",
        "【催※收中心】赵磊的欠※款已逾※期，请转告其联系我司。",
    ],
    "symbol": [
        "您的同事张伟在我司网😀贷逾😀期，请转告其尽快还😀款。",
        "【贷★后通知】贵司员工李娜的欠★款已逾★期30天，请提醒她今日内结★清。",
        "你好，你同事王强欠→钱不还，已经拖→欠三个月了，麻烦让他联系我们。",
        "刘洋的债✨务已转交我司催✨收，请转告他今天之内还✨钱，否则上报征✨信。",
        "您好，这里是贷♥后部门，陈静的账♥单已逾♥期未♥还，滞♥纳♥金每天都在增加。",
        "赵磊在我们平台的网🔥贷已经逾🔥期💢，再不还💰钱我们就天天打给你们公司。",
        "孙丽欠◆款5000元已逾◆期两个月，请转告她尽快结◆清本◆金。",
        f"周杰的网{HEART}贷逾{HEART}期未{HEART}还，请他今天联系我们协{HEART}商{HEART}还{HEART}款。",
        "吴敏欠👍🏽款已逾👍🏽期，最👍🏽低👍🏽还👍🏽款也没交，请您转告。",
        f"郑浩的逾{keycap(1)}期欠{keycap(2)}款共计8000元，请转告他尽快还{keycap(3)}款。",
        f"冯雪的网{ZWJ_FAMILY}贷已逾{ZWJ_FAMILY}期，请转告其尽快还{ZWJ_FAMILY}钱。",
        "贵司员工何军的欠☞款已被我司追☞讨，逾☞期记录将上报征☞信。",
    ],
    "homophone": [
        "您的同事张伟在我司网代余期，请转告其尽快还宽。",  # 网贷 逾期 还款
        # 贷后 欠款 逾期 结清 本金 罚息
        "【代后通知】贵司员工李娜的欠宽已余期30天，请提醒她今日内洁清本今和发息。",
        "你好，你同事王强欠前不还，已经拖钱三个月了，麻烦让他联系我们。",  # 欠钱 拖欠
        "刘洋的寨务已转交我司崔收，请转告他今天之内还前，否则上报征心。",  # 债务 催收 还钱 征信
        "您好，这里是代后部门，陈静的张单已余期未还，直纳金每天都在增加。",  # 贷后 账单 逾期未还 滞纳金
        "赵磊在我们平台的网带已经鱼期，让他赶紧还宽，不然影响争信。",  # 网贷 逾期 还款 征信
        "孙丽欠宽5000元愈期两个月，我们已委托崔款，请转告她尽快结青。",  # 欠款 逾期 催款 结清
        "周杰的违约斤和罚西一直没交，再不还宽就走崔收流程。",  # 违约金 罚息 还款 催收
        "吴敏在我司的网代已经玉期，最底还宽都没交，请您转告。",  # 网贷 逾期 最低还款
        "郑浩的债物已由我司追淘，请他尽快协商还宽。",  # 债务 追讨 协商还款
        "冯雪借的网代我们已经带偿了，现在请她把欠宽还给我们。",  # 网贷 代偿 欠款
        "何军欠寨不还，余期好几个月了，请你转告他赶紧还前。",  # 欠债 逾期 还钱
    ],
    "pinyin": [
        "您的同事张伟在我司wangdai yuqi，请转告其尽快huankuan。",
        "【daihou通知】贵司员工李娜的qiankuan已YUQI 30天，请提醒她今日内jieqing benjin和faxi。",
        "你好，你同事王强qianqian不还，已经tuo-qian三个月了，麻烦让他联系我们。",
        "刘洋的zhaiwu已转交我司ｃｕｉｓｈｏｕ，请转告他今天之内huanqian，否则上报zhengxin。",
        "您好，这里是dai hou部门，陈静的zhangdan已yuqi weihuan，zhinajin每天都在增加。",
        "赵磊在我们平台的Wang Dai已经Yu Qi，让他赶紧Huan Kuan，不然影响Zheng Xin。",
        "孙丽 qiankuan 5000元 yu-qi 两个月，我们已委托 cui-shou，请转告她尽快 jie qing。",
        "周杰的weiyuejin和faxi一直没交，再不huankuan就走cuishou流程。",
        "吴敏在我司的WANGDAI已经YUQI，zuidi huankuan都没交，请您转告。",
        "郑浩的zhai wu已由我司zhui tao，请他尽快xieshang huankuan。",
        "冯雪借的wangdai我们已经daichang了，现在请她把qiankuan还给我们。",
        "何军 qianzhai 不还，yuqi 好几个月了，请你转告他赶紧 huanqian。",
    ],
    "mixed": [
        "您的同事张伟在我司网dai yu期，请转告其尽快还kuan。",
        "【贷hou通知】贵司员工李娜的欠kuan已逾😀qi 30天，请提醒她今日内结qing本jin。",
        "你好，你同事王强欠qian不还，已经拖★qian三个月了，麻烦让他联系我们。",
        "刘洋的zhai务已转交我司崔★收，请转告他今天之内huan前，否则上报征xin。",
        "您好，这里是代hou部门，陈静的账dan已余qi未还，滞na金每天都在增加。",
        "趙磊在我們平台的網dai已經逾qi，讓他趕緊還kuan，不然影響徵xin。",  # traditional + pinyin
        "孙丽qian款5000元ｙｕ期两个月，我们已委托催ｓｈｏｕ，请转告她尽快结清。",  # full-width pinyin
        "周杰的违约jin和罚xi一直没交，再不还🙏kuan就走cui收流程。",
        "吴敏在我司的wang贷已经余★期，最低huan款都没交，请您转告。",
        "郑浩的债wu已由我司zhui讨，请他尽快协商huan宽。",
        "冯雪借的wang代我们已经dai偿了，现在请她把欠kuan还给我们。",
        "何军欠zhai不还，yu期好几个月了，请你转告他赶紧还qian。",
    ],
}

CONTENT_NEAR_MISSES: dict[str, list[str]] = {  # one genuine term + one look-alike, or two look-alikes
    "plain": [  # a term assembled across a word boundary
        "下周日本金融交流会的报名费账单见附件。",  # 日本|金融 -> 本金; 账单
        "你的钱包落在我车上了，明天还钱包给你，上次的饭钱也结清了。",  # 还|钱包 -> 还钱; 结清
    ],
    "normalised": [  # a term assembled across punctuation
        "我们两清了，谁也不欠。款已经转你了，账单你核对下。",  # 欠。款 -> 欠款; 账单
        "借你的书不用急着还。钱我先垫上了，发票和账单放你桌上了。",  # 还。钱 -> 还钱; 账单
    ],
    "symbol": [  # an emoji between two innocent words
        "项目终于完结🎉清明节假期愉快！本月账单稍后发您。",  # 结🎉清; 账单
        "李总，日本🇯🇵金融考察团的费用账单已发您邮箱。",  # 本🇯🇵金; 账单
        "老板又在催😭收到请回个话，报销款已结清。",  # 催😭收; 结清
        "别拖😅欠我一顿饭呢！上次的账单我先付了。",  # 拖😅欠; 账单
    ],
    "homophone": [
        "王经理，小崔收到您寄的样品了，发票和账单稍后发您邮箱。",  # 小崔|收到 cuishou; 账单
        "陈老师您好，请于期末前提交课题结项材料，经费已全部结清。",  # 于|期末 yuqi; 结清
        "老余期待您的回复，上次聚餐的账单我已经付了。",  # 老余|期待 yuqi; 账单
        "张总，本季度销售额达到预期，供应商的货款都已结清。",  # 预期 yuqi; 结清
        "孙哥，昨晚老崔款待我们，饭钱他已经结清了。",  # 老崔|款待 cuikuan; 结清
        "倩倩妈妈您好，本学期的书本费已结清，谢谢配合。",  # 倩倩 qianqian (欠钱); 结清
        "与其在电话里说不清，不如明天当面把账单对一下。",  # 与其 yuqi; 账单
        "我忘带钥匙了，你下班顺路帮我把物业费结清吧。",  # 忘带 wangdai; 结清
        "快递小哥说样品已发西安仓库，运费账单见附件。",  # 发|西安 faxi; 账单
        "根据合同第五条前款规定，尾款在验收后结清。",  # 前款 qiankuan; 结清
        "报名今天下午五点截止，逾期不候；王代表会在门口接您。",  # 逾期; 王|代表 wangdai
        "张丹您好，会议时间请等待后续通知。",  # 张丹 zhangdan, 等待|后续 daihou (two look-alikes)
    ],
    "pinyin": [  # names and English words holding a term's pinyin
        "Hi Zhang Dan，报销款已经结清，请查收。",  # zhangdan; 结清
        "Wang Dai老师您好，会务费账单已发您邮箱。",  # wangdai; 账单
        "Song Yuqi演唱会的门票已出，账单见附件。",  # yuqi; 账单
        "Zheng Xin，这个月的房租已结清，钥匙放前台了。",  # zhengxin; 结清
        "Ben Jin您好，您订的机票账单请查收。",  # benjin; 账单
        "Qianqian，小区的物业费我帮你结清了。",  # qianqian; 结清
        "Please fax in the signed form，账单已附上。",  # fax|in -> faxi; 账单
        "Li Jieqing：酒店账单已核对无误。",  # jieqing; 账单
        "本周读书会读Huan Kuan的《盐铁论》，场地费已结清。",  # huankuan (桓宽); 结清
        "Zhang Dan和Wang Dai明天到上海出差，接机安排见邮件。",  # zhangdan, wangdai (two look-alikes)
    ],
    "mixed": [
        "Xiao Cui收到了资料，发票和账单稍后寄出。",  # cui|收到; 账单
        "Lao Yu期待您的回复，上次聚餐的钱已结清。",  # yu|期待; 结清
        "Wang代表明天到访，酒店账单由我们承担。",  # wang|代表; 账单
    ],
}

# --- conduct.prohibited_language: one evaded term in an otherwise lawful agent turn ----------
# ("call", line): an answered call whose agent identifies (工号) first, then says the line;
# ("sms", text): a collection SMS of the agency to the debtor. Homophone, pinyin and mixed
# case nn mostly evade the same term in the same line; symbol cases are SMS (no emoji in speech).

LANGUAGE_CASES: dict[str, list[tuple[str, str]]] = {
    "plain": [
        ("call", "你再不还钱，我们就让你去坐牢。"),
        ("call", "您这个情况我们已经报给派出所了，请您尽快处理。"),
        ("sms", "【华信资产】您的欠款已逾期，再不处理我们将联系你家人。"),
        ("call", "你就是个老赖，借了钱就不认账。"),
        ("sms", "【华信资产】逾期不还的，一律列入黑名单。"),
    ],
    "normalised": [
        ("call", "你再不还钱，我们就让你去坐 牢。"),
        ("sms", "【华信资产】您的案件已移交法-院，请尽快处理。"),
        ("sms", f"【华信资产】再不还款就通{ZW}知{ZW}你{ZW}单{ZW}位。"),
        ("call", "你這個老賴，借了錢就不認賬。"),
        ("sms", "【华信资产】逾期账户将移交ＰＯＬＩＣＥ处理。"),
        ("sms", "【华信资产】你的资料已经提交检※察※院。"),
    ],
    "symbol": [
        ("sms", "【华信资产】你再不还钱，就等着坐😀牢吧。"),
        ("sms", "【华信资产】我们已经联系了派★出★所，请你尽快处理欠款。"),
        ("sms", f"【华信资产】您的案件已移交法{SCALES}院，请今天内联系我们。"),
        ("sms", "【华信资产】再不处理，我们就把你的事发朋👉友👉圈。"),
        ("sms", "【华信资产】你这个老🐶赖，欠钱三个月了还不处理。"),
        ("sms", "【华信资产】今天不还款，明天我们就上🚪门找你谈。"),
        ("sms", f"【华信资产】逾期不处理将列入黑{HEART}名{HEART}单，请知悉。"),
        ("sms", "【华信资产】你已经被立👍🏽案了，请尽快还款。"),
        ("sms", f"【华信资产】再拖下去就通{keycap(1)}知{keycap(2)}你{keycap(3)}单{keycap(4)}位。"),
        ("sms", "【华信资产】请于今日还款，否则后◆果◆自◆负。"),
        ("sms", f"【华信资产】你这种骗{ZWJ_FAMILY}子，借钱不还，请尽快处理。"),
        ("sms", "【华信资产】再不还款，我们将爆通→讯→录。"),
    ],
    "homophone": [
        ("call", "你再不还，我们就让你去座牢。"),  # 坐牢
        ("call", "我们已经把你的情况报给公按了，请你尽快处理。"),  # 公安
        ("call", "这个案子已经交给发院了，请您尽快处理。"),  # 法院
        ("sms", "【华信资产】您的欠款已被利案，请尽快联系我们。"),  # 立案
        ("call", "你就是个老癞，借了钱就不认账。"),  # 老赖
        ("call", "你这种偏子我们见多了，请你今天把钱还上。"),  # 骗子
        ("sms", "【华信资产】逾期不处理将列入嘿名单，请知悉。"),  # 黑名单
        ("call", "明天我们的人就去你担位找你。"),  # 去你单位
        ("call", "你这样赖着不还，小心被局留。"),  # 拘留
        ("sms", "【华信资产】请今天还款，否则后果自付。"),  # 后果自负
        ("call", "你要是再躲，我们就联系你家仁。"),  # 联系你家人
        ("sms", "【华信资产】您已被列为通急对象，请立即处理。"),  # 通缉
    ],
    "pinyin": [
        ("call", "你再不还，我们就让你去zuolao。"),
        ("call", "我们已经把你的情况报给gong'an了，请你尽快处理。"),
        ("sms", "【华信资产】您的案件已移交FAYUAN，请今天内联系我们。"),
        ("sms", "【华信资产】您的欠款已被li an，请尽快联系我们。"),
        ("call", "你就是个laolai，借了钱就不认账。"),
        ("call", "你这种pianzi我们见多了，请你今天把钱还上。"),
        ("sms", "【华信资产】逾期不处理将列入hei ming dan，请知悉。"),
        ("call", "明天我们的人就qu ni danwei找你。"),
        ("call", "你这样赖着不还，小心被juliu。"),
        ("sms", "【华信资产】请今天还款，否则houguo zifu。"),
        ("call", "你要是再躲，我们就去ｐａｉｃｈｕｓｕｏ报案。"),
        ("sms", "【华信资产】再不还款，我们就把你的信息Bao-Guang。"),
    ],
    "mixed": [
        ("call", "你再不还，我们就让你去座lao。"),  # homophone + pinyin
        ("sms", "【华信资产】我们已经把你的情况报给gong安了。"),
        ("sms", f"【华信资产】您的案件已移交fa{SCALES}院，请今天内联系我们。"),  # pinyin + symbol
        ("sms", "【华信资产】您的欠款已被立an，请尽快联系我们。"),
        ("call", "你就是个老lai，借了钱就不认账。"),
        ("sms", "【华信资产】你这种pian子我们见多了，请今天把钱还上。"),
        ("sms", "【华信资产】逾期不处理将列入黑★明单，请知悉。"),  # symbol + homophone
        ("call", "明天我们的人就去你dan位找你。"),
        ("call", "你这样赖着不还，小心被拘liu。"),
        ("sms", "【華信資產】請今天還款，否則後果zi負。"),  # traditional + pinyin
        ("call", "你要是再躲，我们就去派chu所报案。"),
        ("sms", "【华信资产】再不还款，我们就爆tong🔥讯lu。"),
    ],
}

LANGUAGE_NEAR_MISSES: dict[str, list[tuple[str, str]]] = {  # lawful; one innocent look-alike
    "plain": [
        ("call", "我们下周办公安排有调整，如需面谈请提前预约。"),  # 办|公安|排
        ("call", "具体的还款方法官网上都有说明，您也可以在App里查看。"),  # 方|法官|网
    ],
    "normalised": [
        ("call", "我们现在线上办公，安排好方案后给您回电。"),  # 公，安
        ("sms", "【华信资产】温馨提示：到网点办理请先取号就坐，牢记保管好个人证件。"),  # 坐，牢
    ],
    "symbol": [
        ("sms", "【华信资产】我们下周办公🏢安排有调整，如需面谈请提前预约。"),  # 公🏢安
        ("sms", "【华信资产】客服群📢发布了新的还款方式，欢迎查看。"),  # 群📢发
        ("sms", "【华信资产】具体还款方法👉官网上都有说明。"),  # 法👉官
        ("sms", "【华信资产】我们已为您建立📁案卷，后续还款记录都会归档。"),  # 立📁案
    ],
    "homophone": [
        ("call", "我叫李安，有问题可以直接找我。"),  # 李安 lian (立案)
        ("call", "请核对一下您的出生日期，我们需要确认身份。"),  # 出生 chusheng (畜生)
        ("call", "经查，您上个月已经还了三千元，剩余部分请本月安排。"),  # 经查 jingcha (警察)
        ("call", "根据我们的统计，您还有两期没有还，请本月安排。"),  # 统计 tongji (通缉)
        ("call", "您是做老板的，时间宝贵，我长话短说。"),  # 做|老板 zuolao (坐牢)
        ("call", "不好意思老来电话打扰您，我们只是想确认还款计划。"),  # 老|来电话 laolai (老赖)
        ("call", "您上次说拍了片子在住院，如果有困难我们可以申请延期。"),  # 片子 pianzi (骗子)
        ("call", "网点人扎堆，建议您通过App线上还款。"),  # 人|扎堆 renzha (人渣)
        ("call", "您在国外的居留证办好以后，也可以线上还款。"),  # 居留 juliu (拘留)
        ("sms", "【华信资产】您申请的减免材料待补，请补充收入证明。"),  # 待补 daibu (逮捕)
        ("call", "我们的质检检查员会抽查本次通话录音。"),  # 检查员 jianchayuan (检察院)
        ("call", "如果需要法律帮助，可以先咨询当地的法援中心。"),  # 法援 fayuan (法院)
    ],
    "pinyin": [
        ("call", "我是专员Julius，有问题可以直接找我。"),  # juliu (拘留)
        ("call", "我同事Julian会跟进您的减免申请。"),  # lian (立案)
        ("call", "您说您在Tongji大学工作，那我们下班后再联系。"),  # tongji (通缉)
        ("call", "请找Zhang Minjing专员办理，她负责您的案子。"),  # minjing (民警)
        ("call", "您说您现在在Wulai出差？那我们下周再联系。"),  # wulai (无赖)
        ("sms", "【华信资产】您的减免申请已由专员Li An受理，请保持电话畅通。"),  # lian (立案)
        ("call", "我们的地址是Jingguan Road 8号，您来面谈可以导航过去。"),  # jingguan (警官)
        ("call", "我同事Chu Sheng会跟进您的协商申请。"),  # chusheng (畜生)
        ("sms", "【华信资产】Thank you for your brilliant cooperation，您的还款计划已生效。"),  # lian
    ],
    "mixed": [
        ("call", "我是小Li，安排好方案后给您回电。"),  # li|安排 (立案)
        ("call", "Zuo老师，我们想跟您确认一下还款计划。"),  # zuo|老师 (坐牢)
    ],
}

# --- events ----------------------------------------------------------------------------------


def _envelope(event_id: str, source: str, kind: str, when: datetime, data: dict) -> dict:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": kind,
        "time": when.isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


def _labelled(event: dict, rule: str, kind: str, tag: str, near_miss: bool) -> dict:
    prefix = "near_miss:" if near_miss else ""
    return {**event, "cmlabel": f"{prefix}{rule}#{kind}-{tag}", "cmevasion": kind}


def _slot(k: int) -> datetime:
    """The k-th case time: every 10 minutes from 09:00 to 19:50 local, then the next day."""
    day, step = divmod(k, 66)
    return START + timedelta(days=day, hours=9, minutes=10 * step)


def _employees() -> list[dict]:
    when = START + timedelta(hours=7)
    return [
        _envelope(
            f"hr-{eid}",
            "hris/evasion",
            "hr.employee.upserted",
            when,
            {
                "employee_id": eid,
                "name": name,
                "department": role,
                "role": role,
                "office_phone": f"+86216000{eid[1:]:0>4}",
                "mobile_phone": mobile,
                "email": f"{eid.lower()}@acme.example.cn",
                "status": "active",
            },
        )
        for eid, name, role, mobile in EMPLOYEES
    ]


def _content_events(first_slot: int) -> list[dict]:
    """Inbound SMS from a new outside mobile each, to the employees in turn."""
    prefixes = ("150", "151", "186", "187", "159", "135", "177", "188")
    events, k = [], 0
    for near_miss, table in ((False, CONTENT_CASES), (True, CONTENT_NEAR_MISSES)):
        for kind in KINDS:
            for n, text in enumerate(table.get(kind, []), 1):
                tag = f"nm-{n:02d}" if near_miss else f"{n:02d}"
                mobile = EMPLOYEES[k % len(EMPLOYEES)][3]
                sender = f"+86{prefixes[k % len(prefixes)]}{62000000 + k:08d}"
                data = {
                    "sms_id": f"ev-cc-{kind}-{tag}",
                    "sender": sender,
                    "recipient": mobile,
                    "direction": "inbound",
                    "text": text,
                }
                event = _envelope(
                    f"cc-{kind}-{tag}",
                    "smsgw/evasion",
                    "telephony.sms.delivered",
                    _slot(first_slot + k),
                    data,
                )
                events.append(_labelled(event, CONTENT, kind, tag, near_miss))
                k += 1
    return events


def _language_events(first_slot: int) -> list[dict]:
    """Collection calls and SMS of the agency, a new debtor (and case) each."""
    events, k = [], 0
    for near_miss, table in ((False, LANGUAGE_CASES), (True, LANGUAGE_NEAR_MISSES)):
        for kind in KINDS:
            for n, (channel, text) in enumerate(table.get(kind, []), 1):
                tag = f"nm-{n:02d}" if near_miss else f"{n:02d}"
                when, agent = _slot(first_slot + k), AGENTS[k % len(AGENTS)]
                debtor_phone = f"+86137{71000000 + k:08d}"
                collection = {
                    "agent_id": agent,
                    "case_id": f"K{7001 + k}",
                    "debtor_id": f"D{7001 + k}",
                    "contact_role": "debtor",
                }
                if channel == "call":
                    turns = [
                        ("agent", HELLO.format(agent=agent)),
                        ("customer", "嗯，你说。"),
                        ("agent", text),
                        ("customer", REPLIES[k % len(REPLIES)]),
                        ("agent", CLOSING),
                    ]
                    data = {
                        "call_id": f"ev-pl-{kind}-{tag}",
                        "caller": AGENCY_PBX,
                        "callee": debtor_phone,
                        "direction": "outbound",
                        "started_at": when.isoformat(),
                        "duration_s": 60 + 5 * (k % 12),
                        "answered": True,
                        "collection": collection,
                        "transcript": [
                            {"speaker": who, "text": said, "start_s": 1.0 + 6 * i}
                            for i, (who, said) in enumerate(turns)
                        ],
                    }
                    kind_type, source = "telephony.call.completed", "pbx/evasion-agency"
                else:
                    data = {
                        "sms_id": f"ev-pl-{kind}-{tag}",
                        "sender": AGENCY_SMS,
                        "recipient": debtor_phone,
                        "direction": "outbound",
                        "text": text,
                        "collection": collection,
                    }
                    kind_type, source = "telephony.sms.delivered", "smsgw/evasion-agency"
                event = _envelope(f"pl-{kind}-{tag}", source, kind_type, when, data)
                events.append(_labelled(event, LANGUAGE, kind, tag, near_miss))
                k += 1
    return events


def build() -> list[dict]:
    """Every event of the set, HR records first, then the cases in time order."""
    content = _content_events(0)
    return [*_employees(), *content, *_language_events(len(content))]


def main() -> None:
    lines = [json.dumps(event, ensure_ascii=False, separators=(",", ":")) for event in build()]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} events to {OUT}")


if __name__ == "__main__":
    main()
