"""The simulated company and the agency that collects from its staff: names, numbers, texts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
COMPANY_DOMAIN = "acme.example.cn"
SWITCHBOARD = "+862160000000"
AGENCY_PBX = "+862150000000"
AGENCY_NAME = "华信资产管理有限公司"
SERVICE_SENDERS = ["95588", "95555", "1069012345678", "10690000888"]
COLLECTOR_NUMBER = "+8657188886666"
COLLECTOR_DOMAIN = "jieju-collect.example.com"
BANK_DOMAIN = "icbc.com.cn"
COLLECTION_SMS = [
    "您的网贷已逾期，请尽快还款，否则影响征信。",
    "您的欠款已逾期30天，请今日内结清本金和罚息。",
    "【贷后通知】您的账单已逾期，请尽快还款。",
]
LAWFUL_THIRD_PARTY = "您好，我是华信资产管理有限公司的工作人员，工号{agent}，麻烦您请他回个电话，谢谢。"
DISCLOSING_THIRD_PARTY = (
    "您好，我是华信资产管理有限公司的，工号{agent}，他欠我们{amount}元已经逾期，请转告他尽快还款。"
)
THREATS = [
    "你再不还钱，我们就上门去你单位，让你坐牢！",
    "我是法院的，你已经被立案了，配合调查。",
    "你这个老赖，不要脸，我们要爆通讯录，联系你同事。",
]
ROLES = [
    "sales",
    "sales",
    "sales",
    "engineering",
    "engineering",
    "finance",
    "admin",
    "support",
    "support",
    "hr",
]
CLAIM_KINDS = {  # category: (lowest, highest amount, merchants)
    "meals": (20, 200, ["美团", "星巴克", "全家便利店"]),
    "taxi": (15, 120, ["滴滴出行"]),
    "office": (30, 800, ["京东"]),
    "travel": (300, 2400, ["中国国航", "如家酒店"]),
}


HELLO = f"您好，我是{AGENCY_NAME}的催收专员，工号{{agent}}，本次通话将被录音。"
COMPLIANT_AGENT_LINES = [
    "请您尽快结清本金，避免产生更多罚息。",
    "我们可以为您申请协商还款方案。",
    "如果有困难可以告诉我，我们一起想办法。",
    "您的账单已经逾期，请安排还款。",
]
CUSTOMER_LINES = ["能不能少还一点？", "你们别再打了。", "我下个月发工资再还。", "好的，我知道了。"]
