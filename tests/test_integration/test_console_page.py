"""The console page in a real browser (Debian's chromium through Playwright) against a real
worker: live queue, filters, triage buttons, reveal, masking, text-only rendering, CSV.

Screenshots of the queue and the alert page, in Chinese and English, go to docs/console/.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest

from detectors.privacy import Pseudonymizer
from tests.factories import at, claim, collection_call, mail
from tests.fixtures.workers import PSEUDONYM_KEY, WorkerProcess
from tests.test_integration.test_worker import alert_for, blast_scenario, send

pytestmark = pytest.mark.broker
CHROMIUM = os.environ.get("CM_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
HOSTILE = '<script>window.hacked=1</script><img src=x onerror="window.hacked=2">再不还钱让你坐牢'


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium; a missing browser fails the tests (``make browser`` installs it)."""
    from playwright.sync_api import sync_playwright

    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
        pytest.fail(
            f"no chromium at {CHROMIUM}: run `make browser` (apt-get install chromium fonts-noto-cjk)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def produce(worker: WorkerProcess, events: list[dict]) -> None:
    """``send`` in a thread of its own: Playwright's sync API holds this thread's event loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(send, worker, events).result()


def signed_in(browser, worker: WorkerProcess, role: str, lang: str = "en", path: str = "/"):
    context = browser.new_context(locale=lang, viewport={"width": 1500, "height": 900}, timezone_id="UTC")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"http://127.0.0.1:{worker.port}{path}")
    page.fill("input[name=name]", role)
    page.fill("input[name=password]", f"pw-{role}")
    page.click("#login button[type=submit]")
    page.wait_for_selector("#queue:not([hidden])")
    page.wait_for_selector("#rows tr")
    return page, errors


@pytest.fixture(scope="module")
def scenario(worker):
    tag = uuid.uuid4().hex[:8]
    events, number, _ = blast_scenario(tag)
    hello = "您好，我是华信资产管理有限公司的催收专员，工号A100。"
    hostile = collection_call(
        f"D-x-{tag}",
        at(10),
        transcript=[
            {"speaker": "agent", "text": hello, "start_s": 0},
            {"speaker": "agent", "text": HOSTILE, "start_s": 5},
        ],
    )
    who = f"E-p-{tag}"
    claims = [claim(who, f"{100 + i}.25", at(i), expense_date="2026-07-05") for i in range(11)]
    sender = f"notice@agency-p-{tag}.example"
    letter = mail(
        sender, at(4), "催收函", "您的同事欠款逾期未还，请转告其结清欠款。", employees=(f"E-{tag}-0",)
    )
    produce(worker, [*events, hostile, *claims, letter])
    blast = worker.wait_for(lambda: alert_for(worker, "harassment.contact_blast", number), what="blast")
    threat = worker.wait_for(
        lambda: alert_for(worker, "conduct.prohibited_language", f"D-x-{tag}"), what="threat alert"
    )
    pseudonym = Pseudonymizer(PSEUDONYM_KEY.encode()).pseudonym(who)
    distress = worker.wait_for(
        lambda: alert_for(worker, "distress.frequent_small_claims", pseudonym), what="distress alert"
    )
    worker.wait_for(lambda: alert_for(worker, "harassment.collection_email", sender), what="mail alert")
    return {
        "blast": blast,
        "threat": threat,
        "distress": distress,
        "number": number,
        "who": who,
        "sender": sender,
    }


def test_a_new_alert_appears_in_an_open_page_without_reload(browser, worker, scenario):
    page, errors = signed_in(browser, worker, "officer")
    debtor = f"D-live-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    produce(worker, [collection_call(debtor, at(14))])
    page.wait_for_selector(f"#rows tr:has-text('{debtor}')", timeout=30_000)
    print(f"alert in the open page {time.monotonic() - started:.2f} s after it was produced")
    assert page.is_visible("#new-count") and errors == []


def test_filters_go_into_a_url_that_opens_the_same_view(browser, worker, scenario):
    page, _ = signed_in(browser, worker, "officer")
    page.select_option("select[name=rule_id]", "harassment.contact_blast")
    page.fill("input[name=q]", scenario["number"])
    page.click("#filters button[type=submit]")
    page.wait_for_url("**rule_id=harassment.contact_blast**")
    page.wait_for_selector("#rows tr:not(:has-text('harassment.contact_blast'))", state="detached")
    rows = page.locator("#rows tr")
    rows.first.wait_for()
    assert all("harassment.contact_blast" in text for text in rows.all_inner_texts())
    again, _ = signed_in(browser, worker, "officer", path="/" + page.url.split("/", 3)[3])
    assert again.input_value("input[name=q]") == scenario["number"]
    assert again.locator("#rows tr").count() == rows.count()


def test_acknowledge_and_close_with_a_reason_from_the_alert_page(browser, worker, scenario):
    page, errors = signed_in(browser, worker, "officer", lang="zh-CN")
    page.click(f"#rows tr[data-id='{scenario['blast']['alert_id']}']")
    page.wait_for_selector("#detail:not([hidden])")
    page.click("#detail button:has-text('确认')")
    page.wait_for_selector("#detail p:has-text('已确认')")
    page.select_option("#detail select", "false_positive")
    page.click("#detail button:has-text('关闭')")
    page.wait_for_selector("#detail li:has-text('误报')")
    alert = orjson.loads(worker.get(f"/api/v1/alerts/{scenario['blast']['alert_id']}", role="auditor"))
    assert alert["triage"]["status"] == "closed" and alert["triage"]["reason"] == "false_positive"
    assert [h["action"] for h in alert["history"]][-2:] == ["acknowledge", "close"]
    assert errors == []


def test_event_text_renders_as_text_never_as_markup(browser, worker, scenario):
    page, errors = signed_in(browser, worker, "officer")
    page.click(f"#rows tr[data-id='{scenario['threat']['alert_id']}']")
    page.wait_for_selector("#detail .timeline li")
    assert HOSTILE.replace("坐牢", "") in page.inner_text("#detail .timeline")
    assert "坐牢" in page.locator("#detail mark").all_inner_texts()  # the threat term the API marked
    assert "threat: 坐牢 (exact)" in [m.get_attribute("title") for m in page.locator("#detail mark").all()]
    assert page.evaluate("window.hacked") is None
    assert page.locator("#detail img").count() == 0 and page.locator("#detail script").count() == 0
    assert errors == []


def test_hr_reveals_from_the_page_and_an_auditor_sees_masked_numbers_without_buttons(
    browser, worker, scenario
):
    page, _ = signed_in(browser, worker, "hr")
    page.goto(f"http://127.0.0.1:{worker.port}/#{scenario['distress']['alert_id']}")
    page.wait_for_selector("#detail:not([hidden])")
    page.fill("#detail input[placeholder*='audit']", "EAP meeting")
    page.click("#detail button:has-text('Reveal')")
    page.wait_for_selector("#detail .revealed:not(:empty)")
    assert scenario["who"] in page.inner_text("#detail .revealed")
    auditor, _ = signed_in(browser, worker, "auditor")
    auditor.click(f"#rows tr[data-id='{scenario['blast']['alert_id']}']")
    auditor.wait_for_selector("#detail:not([hidden])")
    text = auditor.inner_text("body")
    assert scenario["number"] not in text and "•" + scenario["number"][-4:] in text
    assert auditor.locator("#detail button:has-text('Acknowledge')").count() == 0


def test_it_revokes_a_block_from_the_page_and_an_officer_sees_no_decision_buttons(browser, worker, scenario):
    row = f"#action-rows tr:has-text('{scenario['sender']}')"
    officer, _ = signed_in(browser, worker, "officer")
    officer.wait_for_selector(row, timeout=30_000)
    assert officer.locator(f"{row} button").count() == 0  # officers read actions, IT decides
    page, errors = signed_in(browser, worker, "it", lang="zh-CN")
    page.wait_for_selector(f"{row}:has-text('生效中')", timeout=30_000)
    page.screenshot(path=SHOTS / "actions-zh.png")
    page.click(f"{row} button[data-decision=revoke]")
    page.wait_for_selector(f"{row}:has-text('已撤销')", timeout=30_000)
    assert page.locator(f"{row} button").count() == 0 and errors == []


def test_the_csv_download_keeps_chinese(browser, worker, scenario):
    page, _ = signed_in(browser, worker, "officer")
    with page.expect_download() as download:
        page.click("#export")
    data = Path(download.value.path()).read_bytes()
    assert data.startswith("\ufeff".encode())  # spreadsheets then read it as UTF-8
    assert "催收函" in data.decode("utf-8-sig")  # the mail alert's summary, Chinese intact


def test_screenshots_of_the_queue_and_the_alert_page(browser, worker, scenario):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for lang, suffix in (("zh-CN", "zh"), ("en", "en")):
        page, _ = signed_in(browser, worker, "officer", lang=lang)
        page.screenshot(path=SHOTS / f"queue-{suffix}.png")
        page.click(f"#rows tr[data-id='{scenario['threat']['alert_id']}']")
        page.wait_for_selector("#detail .timeline li")
        page.screenshot(path=SHOTS / f"alert-{suffix}.png")
    assert all(
        (SHOTS / f"{kind}-{s}.png").stat().st_size > 10_000
        for kind in ("queue", "alert")
        for s in ("zh", "en")
    )
