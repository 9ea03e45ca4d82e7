"""Scoring alerts per evasion kind (``cmevasion``)."""

from streams.score import score_by_kind

RULE = "harassment.collection_content"


def event(uid: str, label: str, kind: str) -> dict:
    return {"source": "t", "id": uid, "cmlabel": label, "cmevasion": kind}


def alert(*uids: str, rule: str = RULE) -> dict:
    return {"rule_id": rule, "event_ids": [f"t/{u}" for u in uids]}


def test_recall_and_precision_are_counted_per_evasion_kind():
    events = [
        event("1", f"{RULE}#h1", "homophone"),
        event("2", f"{RULE}#h2", "homophone"),
        event("3", f"{RULE}#p1", "pinyin"),
        event("4", f"near_miss:{RULE}#p-nm1", "pinyin"),
        {"source": "t", "id": "5", "cmlabel": f"{RULE}#x"},  # no kind: not counted
    ]
    alerts = [alert("1"), alert("3"), alert("4"), alert("5"), alert("2", rule="conduct.quiet_hours")]
    scores = score_by_kind(events, alerts)
    assert set(scores) == {"homophone", "pinyin"}
    homophone, pinyin = scores["homophone"], scores["pinyin"]
    assert (len(homophone.cases), len(homophone.found), homophone.recall) == (2, 1, 0.5)
    assert (homophone.alerts, homophone.precision) == (1, 1.0)  # no quiet-hours label: not scored
    assert (len(pinyin.cases), pinyin.recall, pinyin.alerts, pinyin.precision) == (1, 1.0, 2, 0.5)
