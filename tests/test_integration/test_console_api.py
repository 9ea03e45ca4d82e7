"""The console API of a real worker (Kafka, chDB): every endpoint and status code, roles,
masking, reveal-with-reason, the audit log, CSV export and the event stream."""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from urllib.parse import quote

import orjson
import pytest

from detectors.privacy import Pseudonymizer
from tests.factories import at, call, claim, collection_call, employee, mail, sms
from tests.fixtures.workers import PSEUDONYM_KEY, TOKENS, WorkerProcess
from tests.test_integration.test_worker import alert_for, blast_scenario, send, unique_phone

pytestmark = pytest.mark.broker


def json_of(worker: WorkerProcess, path: str, role: str | None = "officer", **kwargs) -> tuple[int, dict]:
    status, body, _ = worker.request(path, role=role, **kwargs)
    return status, orjson.loads(body)


def triage(worker: WorkerProcess, alert_id: str, role: str = "officer", **body) -> tuple[int, dict]:
    return json_of(worker, f"/api/v1/alerts/{alert_id}/triage", role=role, method="POST", body=body)


@pytest.fixture(scope="module")
def scenario(worker):
    """A blast (harassment), a night collection call (conduct), small claims (distress)."""
    tag = uuid.uuid4().hex[:8]
    events, number, debtor = blast_scenario(tag)
    who = f"E-c-{tag}"
    claims = [claim(who, f"{100 + i}.25", at(i), expense_date="2026-07-05") for i in range(11)]
    send(worker, [*events, *claims])
    blast = worker.wait_for(lambda: alert_for(worker, "harassment.contact_blast", number), what="blast")
    quiet = worker.wait_for(lambda: alert_for(worker, "conduct.quiet_hours", debtor), what="quiet hours")
    pseudonym = Pseudonymizer(PSEUDONYM_KEY.encode()).pseudonym(who)
    distress = worker.wait_for(
        lambda: alert_for(worker, "distress.frequent_small_claims", pseudonym), what="distress"
    )
    return {
        "blast": blast,
        "quiet": quiet,
        "distress": distress,
        "number": number,
        "who": who,
        "events": events,
        "tag": tag,
    }


@pytest.fixture(scope="module")
def texts(worker):
    """An SMS with collection terms to an employee (harassment.collection_content) and a
    collection letter to the same employee's mailbox (harassment.collection_email, for IT)."""
    tag = uuid.uuid4().hex[:8]
    who = f"E-t-{tag}"
    staff = employee(who, unique_phone("216"), unique_phone("138"))
    number = unique_phone()
    text = sms(number, staff["data"]["mobile_phone"], at(5), "你同事网贷逾期了，请转告他尽快还款")
    sender = f"notice@agency-t-{tag}.example"
    letter = mail(sender, at(6), "催收函", "您的同事欠款逾期未还，请转告其结清欠款。", employees=(who,))
    send(worker, [staff, text, letter])
    content = worker.wait_for(
        lambda: alert_for(worker, "harassment.collection_content", number), what="SMS content alert"
    )
    email = worker.wait_for(
        lambda: alert_for(worker, "harassment.collection_email", sender), what="mail alert"
    )
    return {"sms": content, "mail": email, "number": number, "employee": who, "sender": sender}


def test_health_needs_no_credentials_and_everything_else_does(worker):
    status, body, _ = worker.request("/healthz", role=None)
    assert status == 200 and orjson.loads(body)["ready"]
    for path in ("/api/v1/alerts", "/api/v1/rules", "/api/v1/audit", "/api/v1/stream", "/api/v1/export.csv"):
        status, body = json_of(worker, path, role=None)
        assert status == 401 and "error" in body, path
    status, body, _ = worker.request(
        "/api/v1/alerts", role=None, headers={"Authorization": "Bearer not-a-token"}
    )
    assert status == 401 and orjson.loads(body)["error"]
    assert worker.request("/alerts", role="admin")[0] == 404  # the old open endpoint is gone
    for faust_view in ("/router/", "/table/directory/", "/stats/", "/graph/"):  # Faust's own, open views
        assert worker.request(faust_view, role=None)[0] == 404, faust_view


def test_the_queue_shows_new_alerts_with_their_triage_and_filters(worker, scenario):
    status, page = json_of(worker, "/api/v1/alerts?rule_id=harassment.contact_blast&status=open")
    assert status == 200
    [mine] = [a for a in page["alerts"] if a["alert_id"] == scenario["blast"]["alert_id"]]
    assert mine["triage"]["status"] == "open" and mine["triage"]["assignee"] is None
    status, page = json_of(worker, f"/api/v1/alerts?q={quote(scenario['number'])}")
    assert {a["rule_id"] for a in page["alerts"]} >= {"harassment.contact_blast"}
    status, page = json_of(worker, "/api/v1/alerts?limit=1")
    assert len(page["alerts"]) == 1 and page["next_cursor"]
    status, second = json_of(worker, f"/api/v1/alerts?limit=1&cursor={page['next_cursor']}")
    assert second["alerts"][0]["alert_id"] != page["alerts"][0]["alert_id"]
    for bad in ("limit=0", "limit=501", "limit=x", "cursor=nope", "status=done", "since=yesterday"):
        status, body = json_of(worker, f"/api/v1/alerts?{bad}")
        assert status == 400 and body["error"].split(":")[0] in bad, bad


def test_the_queue_filters_by_category_and_finds_employee_ids(worker, scenario):
    debtor = scenario["quiet"]["subject"]["id"]
    rules = {
        category: {
            a["rule_id"]
            for a in json_of(worker, f"/api/v1/alerts?category={category}&q={debtor}")[1]["alerts"]
        }
        for category in ("conduct", "harassment")
    }
    assert rules == {"conduct": {"conduct.quiet_hours"}, "harassment": set()}
    blast = scenario["blast"]
    someone = blast["employee_ids"][1]  # named neither in the subject nor in the summary
    assert someone not in blast["subject"]["id"] and someone not in blast["summary"]
    found = json_of(worker, f"/api/v1/alerts?q={quote(someone)}")[1]["alerts"]
    assert blast["alert_id"] in [a["alert_id"] for a in found]


def test_an_alert_page_has_evidence_history_and_its_rule(worker, scenario):
    alert_id = scenario["blast"]["alert_id"]
    status, alert = json_of(worker, f"/api/v1/alerts/{alert_id}")
    assert status == 200
    assert [f"{e['source']}/{e['id']}" for e in alert["evidence"]] == alert["event_ids"]
    assert alert["rule"]["rule_id"] == "harassment.contact_blast" and alert["rule"]["settings"]
    assert alert["history"] == [] or all(h["alert_id"] == alert_id for h in alert["history"])
    assert json_of(worker, "/api/v1/alerts/no-such-alert")[0] == 404


def test_triage_moves_through_its_statuses_and_says_why_not(worker, scenario):
    alert_id = scenario["quiet"]["alert_id"]
    status, body = triage(worker, alert_id, action="acknowledge")
    assert status == 200 and body["triage"]["status"] == "acknowledged"
    assert triage(worker, alert_id, action="acknowledge")[0] == 409
    status, body = triage(worker, alert_id, action="close")
    assert status == 400 and body["error"].startswith("reason")
    assert triage(worker, alert_id, action="fly")[0] == 400
    status, body = triage(worker, alert_id, action="assign", assignee="nobody")
    assert status == 400 and body["error"].startswith("assignee")
    assert triage(worker, alert_id, action="assign", assignee="hr")[1]["triage"]["assignee"] == "hr"
    assert triage(worker, alert_id, action="comment", comment="打过电话 <b>ok</b>")[0] == 200
    status, body = triage(worker, alert_id, action="close", reason="resolved")
    assert body["triage"] == {**body["triage"], "status": "closed", "reason": "resolved", "assignee": "hr"}
    assert triage(worker, "no-such-alert", action="acknowledge")[0] == 404
    status, alert = json_of(worker, f"/api/v1/alerts/{alert_id}")
    assert alert["triage"]["status"] == "closed"
    assert [h["action"] for h in alert["history"]] == ["acknowledge", "assign", "comment", "close"]
    assert alert["history"][2]["comment"] == "打过电话 <b>ok</b>"  # stored and returned as text
    assert triage(worker, alert_id, action="reopen")[1]["triage"]["status"] == "open"


def test_bulk_triage_answers_per_alert(worker, scenario):
    ids = [scenario["blast"]["alert_id"], "no-such-alert"]
    change = {"alert_ids": ids, "action": "comment", "comment": "批量"}
    status, body = json_of(worker, "/api/v1/alerts/triage", method="POST", body=change)
    assert status == 200
    assert [(r["alert_id"], r["status"]) for r in body["results"]] == [(ids[0], 200), (ids[1], 404)]
    status, body = json_of(worker, "/api/v1/alerts/triage", method="POST", body={"action": "comment"})
    assert status == 400 and body["error"].startswith("alert_ids")


def test_roles_decide_who_may_change_reveal_and_read_the_audit_log(worker, scenario):
    distress = scenario["distress"]["alert_id"]
    assert triage(worker, distress, role="auditor", action="acknowledge")[0] == 403
    assert triage(worker, distress, role="it", action="acknowledge")[0] == 403
    reveal = f"/api/v1/alerts/{distress}/reveal"
    status, body = json_of(worker, reveal, role="officer", method="POST", body={"reason": "needed"})
    assert status == 403 and "reveal" in body["error"]
    assert json_of(worker, reveal, role="hr", method="POST", body={})[0] == 400
    status, body = json_of(worker, reveal, role="hr", method="POST", body={"reason": "员工援助计划面谈"})
    pseudonym = scenario["distress"]["subject"]["id"]
    assert status == 200 and body == {"employees": {pseudonym: scenario["who"]}}
    assert json_of(worker, "/api/v1/audit", role="officer")[0] == 403
    status, body = json_of(worker, f"/api/v1/audit?alert_id={distress}&user=hr", role="auditor")
    assert status == 200  # in the store before the identity was returned
    [record] = [r for r in body["records"] if r["action"] == "reveal"]
    assert record["reason"] == "员工援助计划面谈" and record["role"] == "hr"


def test_reveal_needs_a_known_alert_that_shows_pseudonyms(worker, scenario):
    body = {"reason": "needed"}
    status, answer = json_of(
        worker, "/api/v1/alerts/no-such-alert/reveal", role="hr", method="POST", body=body
    )
    assert status == 404 and answer["error"]
    blast = scenario["blast"]["alert_id"]  # about a phone number and employees in clear
    status, answer = json_of(worker, f"/api/v1/alerts/{blast}/reveal", role="hr", method="POST", body=body)
    assert status == 409 and "pseudonym" in answer["error"]


def test_the_audit_log_is_newest_first_and_takes_since_and_limit(worker, scenario):
    alert_id = scenario["distress"]["alert_id"]
    # no digits in a note: an auditor sees phone-like numbers in comments masked, and a tag
    # ending in five digits made "audit-<tag>-0" one (about one run in ten)
    letters = scenario["tag"].translate(str.maketrans("0123456789", "ghijklmnop"))
    notes = [f"audit {letters} {word}" for word in ("one", "two", "three")]
    for note in notes:
        assert triage(worker, alert_id, action="comment", comment=note)[0] == 200

    def mine() -> list[dict] | None:
        records = json_of(worker, f"/api/v1/audit?alert_id={alert_id}&limit=10000", role="auditor")[1][
            "records"
        ]
        found = [r for r in records if r["comment"] in notes]
        return records if len(found) == 3 else None

    records = worker.wait_for(mine, timeout=10, what="the comments in the audit log")
    assert [r["at"] for r in records] == sorted((r["at"] for r in records), reverse=True)
    assert [r["comment"] for r in records if r["comment"] in notes] == notes[::-1]
    second = next(r for r in records if r["comment"] == notes[1])
    status, body = json_of(
        worker, f"/api/v1/audit?alert_id={alert_id}&since={quote(second['at'])}", role="auditor"
    )
    assert status == 200 and all(r["at"] >= second["at"] for r in body["records"])
    assert [r["comment"] for r in body["records"] if r["comment"] in notes] == notes[:0:-1]
    status, body = json_of(worker, f"/api/v1/audit?alert_id={alert_id}&limit=2", role="auditor")
    assert body["records"] == records[:2]
    for bad in ("since=yesterday", "limit=0", "limit=10001", "limit=x"):
        status, body = json_of(worker, f"/api/v1/audit?{bad}", role="auditor")
        assert status == 400 and body["error"].split(":")[0] in bad, bad


def test_it_and_auditors_see_numbers_masked_and_it_only_alerts_with_actions(worker, scenario):
    alert_id = scenario["blast"]["alert_id"]
    number = scenario["number"]
    status, alert = json_of(worker, f"/api/v1/alerts/{alert_id}", role="auditor")
    assert status == 200
    assert alert["subject"]["id"] == "•" + number[-4:]
    assert all(e.startswith("•") for e in alert["employee_ids"])
    assert number not in orjson.dumps(alert).decode()
    query = f"/api/v1/alerts?rule_id=harassment.contact_blast&q={quote(number)}"
    page = json_of(worker, query, role="auditor")[1]
    assert page["alerts"] and number not in orjson.dumps(page).decode()
    assert json_of(worker, f"/api/v1/alerts/{alert_id}", role="it")[0] == 403
    page = json_of(worker, "/api/v1/alerts", role="it")[1]
    assert all(a["subject"]["kind"] == "mail_sender" for a in page["alerts"])


def test_csv_export_keeps_chinese_and_is_audited(worker, scenario):
    status, body, headers = worker.request(
        "/api/v1/export.csv?rule_id=harassment.contact_blast", role="officer"
    )
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("alert_id,rule_id") and scenario["blast"]["alert_id"] in text
    assert worker.request("/api/v1/export.csv", role="it")[0] == 403

    def exported():
        records = json_of(worker, "/api/v1/audit?user=officer", role="admin")[1]["records"]
        return "export" in [r["action"] for r in records]

    worker.wait_for(exported, timeout=10, what="the export in the audit log")


def test_an_auditor_exports_with_numbers_and_ids_masked(worker, scenario):
    number, blast = scenario["number"], scenario["blast"]
    status, body, _ = worker.request(
        f"/api/v1/export.csv?rule_id=harassment.contact_blast&q={quote(number)}", role="auditor"
    )
    assert status == 200
    text = body.decode("utf-8-sig")
    assert blast["alert_id"] in text and f"•{number[-4:]}" in text
    assert number not in text and not any(e in text for e in blast["employee_ids"])


def test_the_rules_endpoint_lists_the_catalogue(worker):
    status, body = json_of(worker, "/api/v1/rules", role="it")
    assert status == 200 and "harassment.contact_blast" in [r["rule_id"] for r in body["rules"]]


def test_a_session_cookie_needs_its_csrf_token_to_change_anything(worker, scenario):
    status, body, headers = worker.request(
        "/login", role=None, method="POST", body={"name": "officer", "password": "pw-officer"}
    )
    assert (
        status == 200 and "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    )
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    csrf = orjson.loads(body)["csrf"]
    assert (
        worker.request("/login", role=None, method="POST", body={"name": "officer", "password": "x"})[0]
        == 401
    )
    status, session = json_of(worker, "/api/v1/session", role=None, headers={"Cookie": cookie})
    assert status == 200 and session["user"] == "officer" and session["csrf"] == csrf
    assert session["timezone"] == "Asia/Shanghai"  # the policy's: the page shows times in it
    path = f"/api/v1/alerts/{scenario['blast']['alert_id']}/triage"
    change = {"action": "comment", "comment": "from the page"}
    assert worker.request(path, role=None, method="POST", body=change, headers={"Cookie": cookie})[0] == 403
    status, _, _ = worker.request(
        path, role=None, method="POST", body=change, headers={"Cookie": cookie, "X-CSRF-Token": csrf}
    )
    assert status == 200


def test_logout_ends_the_twelve_hour_session_cookie_in_the_browser(worker):
    status, _, headers = worker.request(
        "/login", role=None, method="POST", body={"name": "auditor", "password": "pw-auditor"}
    )
    assert status == 200 and "Max-Age=43200" in headers["Set-Cookie"]  # 12 hours
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    status, body, headers = worker.request("/logout", role=None, method="POST", headers={"Cookie": cookie})
    assert status == 200 and orjson.loads(body) == {"ok": True}
    cleared = headers["Set-Cookie"]
    assert cleared.startswith('cm_session="";') and "Max-Age=0" in cleared


def test_the_page_is_served_under_a_content_security_policy_without_inline_script(worker):
    for path in ("/", "/static/console.js"):
        status, _, headers = worker.request(path, role=None)
        policy = headers["Content-Security-Policy"]
        assert status == 200 and "script-src 'self';" in policy and "default-src 'self'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
    page = worker.request("/", role=None)[1].decode()
    scripts = page.split("<script")[1:]
    assert scripts and all(tag.split(">", 1)[0].strip().startswith("src=") for tag in scripts)


def _stream(
    worker: WorkerProcess,
    found: list[bytes],
    stop: threading.Event,
    last: str | None = None,
    role: str = "officer",
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=30)
    headers = {"Authorization": f"Bearer {TOKENS[role]}"}
    if last:
        headers["Last-Event-ID"] = last
    connection.request("GET", "/api/v1/stream", headers=headers)
    response = connection.getresponse()
    while not stop.is_set():
        line = response.readline()
        if not line:
            break
        found.append(line)
    connection.close()


def test_the_stream_pushes_a_new_alert_within_seconds_and_catches_up(worker):
    found: list[bytes] = []
    stop = threading.Event()
    reader = threading.Thread(target=_stream, args=(worker, found, stop), daemon=True)
    reader.start()
    time.sleep(1)
    debtor = f"D-sse-{uuid.uuid4().hex[:8]}"
    produced = time.monotonic()
    send(worker, [collection_call(debtor, at(14))])
    worker.wait_for(lambda: any(debtor.encode() in line for line in found), timeout=30, what="an SSE alert")
    assert time.monotonic() - produced < 10
    at_alert = found.index(next(line for line in found if debtor.encode() in line))
    alert_id = next(line for line in reversed(found[:at_alert]) if line.startswith(b"id: "))
    boot, number = alert_id[4:].strip().decode().rsplit("-", 1)
    stop.set()
    missed: list[bytes] = []
    before = f"{boot}-{int(number) - 1}"  # the client saw everything up to the message before
    catch_up = threading.Thread(target=_stream, args=(worker, missed, threading.Event(), before), daemon=True)
    catch_up.start()
    worker.wait_for(lambda: any(debtor.encode() in line for line in missed), timeout=10, what="catch-up")


def test_the_stream_gives_it_only_records_about_its_alerts_and_masks_them(worker, scenario, texts):
    streams: dict[str, list[bytes]] = {"it": [], "auditor": []}
    stop = threading.Event()
    for role, found in streams.items():
        reader = threading.Thread(target=_stream, args=(worker, found, stop, None, role), daemon=True)
        reader.start()
    time.sleep(1)
    blast, number = scenario["blast"]["alert_id"], scenario["number"]
    assert triage(worker, blast, action="comment", comment=f"rang {number} back")[0] == 200
    letter, who = texts["mail"]["alert_id"], texts["employee"]
    assert triage(worker, letter, action="comment", comment=f"{who} forwarded it")[0] == 200
    try:
        for role, found in streams.items():
            worker.wait_for(
                lambda found=found: any(b"forwarded it" in line for line in found),
                timeout=30,
                what=f"the comment on the letter in the stream of {role}",
            )
    finally:
        stop.set()
    it, auditor = b"".join(streams["it"]), b"".join(streams["auditor"])
    assert blast.encode() not in it  # a record about an alert it may not read
    assert f"•{who[-4:]} forwarded it".encode() in it and f"•{who[-4:]} forwarded it".encode() in auditor
    assert f"rang •{number[-4:]} back".encode() in auditor
    assert number.encode() not in it + auditor and who.encode() not in it + auditor


def test_it_reads_the_alert_about_a_mail_sender(worker):
    """IT reads the alert about a collection agency's mail sender (it carries a block action)."""
    tag = uuid.uuid4().hex[:8]
    staff = employee(f"E-it-{tag}", unique_phone("216"), unique_phone("138"))
    sender = f"notice@agency-it-{tag}.example"
    letter = mail(
        sender, at(4), "催收函", "您的同事欠款逾期未还，请转告其结清欠款。", employees=(f"E-it-{tag}",)
    )
    send(worker, [staff, letter])
    email = worker.wait_for(
        lambda: alert_for(worker, "harassment.collection_email", sender), what="mail alert"
    )
    status, alert = json_of(worker, f"/api/v1/alerts/{email['alert_id']}", role="it")
    assert status == 200 and alert["subject"]["id"] == sender


def test_evidence_marks_the_lexicon_terms_in_transcripts(worker):
    debtor = f"D-m-{uuid.uuid4().hex[:8]}"
    hello = "您好，我是华信资产管理有限公司的催收专员，工号A100。"
    turns = [
        {"speaker": "agent", "text": hello, "start_s": 0},
        {"speaker": "agent", "text": "再不还钱让你坐牢，等着去座★牢吧", "start_s": 4},
    ]
    send(worker, [collection_call(debtor, at(10), transcript=turns)])
    threat = worker.wait_for(lambda: alert_for(worker, "conduct.prohibited_language", debtor), what="threat")
    alert = json_of(worker, f"/api/v1/alerts/{threat['alert_id']}")[1]
    [event] = alert["evidence"]
    marked = event["data"]["transcript"][1]
    assert {"start": 6, "end": 8, "category": "threat", "term": "坐牢", "how": "exact"} in marked["matches"]
    assert {"start": 12, "end": 15, "category": "threat", "term": "坐牢", "how": "homophone"} in marked[
        "matches"
    ]
    assert all(
        marked["text"][m["start"] : m["end"]] == m["term"] for m in marked["matches"] if m["how"] == "exact"
    )


def test_evidence_marks_the_lexicon_terms_in_sms_and_mail_texts(worker, texts):
    def matches(alert: dict) -> dict[str, list[dict]]:
        [event] = json_of(worker, f"/api/v1/alerts/{alert['alert_id']}")[1]["evidence"]
        data = event["data"]
        for field, found in data["matches"].items():  # positions in the text as shown
            exact = [m for m in found if m["how"] == "exact"]
            assert exact and all(data[field][m["start"] : m["end"]] == m["term"] for m in exact), field
        return {field: [m["term"] for m in found] for field, found in data["matches"].items()}

    sms_terms = matches(texts["sms"])
    assert set(sms_terms) == {"text"} and "逾期" in sms_terms["text"]
    mail_terms = matches(texts["mail"])
    assert set(mail_terms) == {"subject", "body_text"} and "催收函" in mail_terms["subject"]


def test_new_evidence_reopens_a_closed_alert_as_the_system(worker):
    tag = uuid.uuid4().hex[:8]
    events, number, _ = blast_scenario(tag)
    send(worker, events[:6])
    blast = worker.wait_for(lambda: alert_for(worker, "harassment.contact_blast", number), what="blast")
    assert triage(worker, blast["alert_id"], action="close", reason="resolved")[0] == 200
    fourth = employee(f"E-{tag}-3", unique_phone("216"), unique_phone("138"))
    send(worker, [fourth, call(number, fourth["data"]["mobile_phone"], at(3))])

    def reopened():
        alert = json_of(worker, f"/api/v1/alerts/{blast['alert_id']}")[1]
        return alert if alert["triage"]["status"] == "open" else None

    alert = worker.wait_for(reopened, what="the alert reopened by new evidence")
    assert alert["revision"] > blast["revision"]
    assert (alert["history"][-1]["action"], alert["history"][-1]["user"]) == ("reopen", "system")


def test_triage_survives_a_worker_restart(broker, tmp_path):
    tag = uuid.uuid4().hex[:8]
    worker = WorkerProcess(broker, tmp_path / "console", app_id=f"cm-console-{tag}", topic_prefix=f"c{tag}.")
    worker.start()
    try:
        debtor = f"D-r-{tag}"
        send(worker, [collection_call(debtor, at(14))])
        quiet = worker.wait_for(lambda: alert_for(worker, "conduct.quiet_hours", debtor), what="an alert")
        assert triage(worker, quiet["alert_id"], action="acknowledge")[0] == 200
        assert triage(worker, quiet["alert_id"], action="close", reason="not_actionable")[0] == 200
        worker.stop()
        worker.start()

        def closed():  # the restarted store writes what it had not written yet from the topic
            alert = json_of(worker, f"/api/v1/alerts/{quiet['alert_id']}")[1]
            return alert if alert["triage"]["status"] == "closed" else None

        alert = worker.wait_for(closed, timeout=30, what="the triage back after the restart")
        assert alert["triage"]["reason"] == "not_actionable"
        assert [h["action"] for h in alert["history"]] == ["acknowledge", "close"]
    finally:
        worker.stop()


def test_without_a_users_file_only_health_and_metrics_are_served(broker, tmp_path):
    tag = uuid.uuid4().hex[:8]
    worker = WorkerProcess(broker, tmp_path / "closed", app_id=f"cm-closed-{tag}", topic_prefix=f"n{tag}.")
    del worker.env["CM_USERS"]
    worker.start()
    try:
        assert worker.request("/healthz", role=None)[0] == 200
        assert worker.request("/metrics", role=None)[0] == 200
        for path in ("/", "/api/v1/alerts", "/api/v1/session", "/login", "/router/", "/table/directory/"):
            assert worker.request(path, role="admin")[0] in (404, 405), path
        assert "console off: CM_USERS is not set" in (worker.data_dir / "worker.log").read_text()
    finally:
        worker.stop()
