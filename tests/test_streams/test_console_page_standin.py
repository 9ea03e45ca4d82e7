"""The console page in a real browser (Debian's chromium through Playwright) against the API
over a stand-in store: no broker, no worker (the page tests with both are in test_integration)."""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from streams.console.page import page_routes
from tests.test_streams.test_console_units import PHONE_ALERT, StandInStore, stand_in_console

CHROMIUM = os.environ.get("CM_CHROMIUM", "/usr/bin/chromium")
OTHER = "+8613900139000"
ALERTS = [
    PHONE_ALERT,
    {**PHONE_ALERT, "alert_id": "a-repeat", "rule_id": "harassment.repeated_calls", "summary": "calls again"},
    {**PHONE_ALERT, "alert_id": "a-other", "subject": {"kind": "phone", "id": OTHER}, "summary": "another"},
]


class SearchedStore(StandInStore):
    """Answers ``q`` as the store does for a subject: alerts whose subject id contains it."""

    def list_alerts(self, where, limit, cursor=None, ids=None, stored_after=None):
        rows, cursor = super().list_alerts(where, limit, cursor, ids, stored_after)
        return [r for r in rows if not where.q or where.q in r["subject"]["id"]], cursor


@pytest.fixture(scope="module")
def console_url() -> Iterator[str]:
    """The console's API and page on a loopback port, served by a thread of its own (the
    browser's sync API holds this thread's event loop)."""
    api = stand_in_console(SearchedStore(ALERTS))
    app = web.Application()
    app.router.add_routes([*api.routes(), *page_routes(api)])
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, shutdown_timeout=0.5)  # the page's event stream stays open
    ports: queue.Queue[int] = queue.Queue()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        ports.put(runner.addresses[0][1])
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{ports.get(timeout=30)}"

    async def shut_down() -> None:
        await runner.cleanup()
        left = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(shut_down(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium (``make browser``). Under ``make test`` (which installs it and sets
    ``CM_TEST_ALL``) a missing browser fails; ``make test-quick`` needs none and skips."""
    from playwright.sync_api import sync_playwright

    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
        missing = f"no chromium at {CHROMIUM}: `make browser` installs it"
        if os.environ.get("CM_TEST_ALL"):
            pytest.fail(missing)
        pytest.skip(missing)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def test_the_alert_page_lists_the_other_alerts_on_its_subject(browser, console_url):
    """README, *The console*: related alerts on the alert page."""
    context = browser.new_context(locale="en", timezone_id="UTC")
    page = context.new_page()
    page.goto(f"{console_url}/#a-phone")
    page.fill("input[name=name]", "hr")  # a role without IT actions: this console follows none
    page.fill("input[name=password]", "pw")
    page.click("#login button[type=submit]")
    related = page.locator("section", has=page.locator("h3", has_text="Other alerts on this subject"))
    related.locator("li").first.wait_for()
    assert related.locator("li").count() == 1
    text = related.inner_text()
    assert "harassment.repeated_calls calls again" in text
    assert "another" not in text and PHONE_ALERT["summary"] not in text  # other subjects, and itself
    context.close()
