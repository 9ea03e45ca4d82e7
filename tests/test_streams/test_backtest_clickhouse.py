"""``backtest --clickhouse``: the alerts in the store are the alerts of ``--out`` (chDB, in process)."""

from datetime import datetime

import orjson
import pytest
from typer.testing import CliRunner

from streams.cli import app
from tests.fixtures.preview_store import fill_preview_store

TIMES = ("first_event_time", "last_event_time", "detected_at")


@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    return fill_preview_store(tmp_path_factory.mktemp("preview"))


@pytest.fixture(scope="module")
def store(preview):
    sink = preview.open()
    yield sink
    sink.close()


def _milliseconds(alert: dict) -> dict:
    """The alert as the store keeps it: times as DateTime64(3), UTC."""
    out = dict(alert)
    for key in TIMES:
        when = datetime.fromisoformat(alert[key].replace("Z", "+00:00"))
        out[key] = when.replace(tzinfo=None, microsecond=when.microsecond // 1000 * 1000)
    return out


def test_the_store_holds_the_alerts_of_out(preview, store):
    written = [orjson.loads(line) for line in preview.out.read_bytes().splitlines()]
    stored = store.query_alerts(limit=100_000)
    assert written and len(stored) == len(written)
    expected = {a["alert_id"]: _milliseconds(a) for a in written}
    assert {a["alert_id"]: _milliseconds(a) for a in stored} == expected
    assert {a["category"] for a in stored} >= {"harassment", "conduct", "distress"}


def test_the_distress_pseudonyms_and_the_events_are_stored(preview, store):
    written = [orjson.loads(line) for line in preview.out.read_bytes().splitlines()]
    pseudonyms = {p for a in written if a["category"] == "distress" for p in a["employee_ids"]}
    assert pseudonyms and all(p.startswith("p-") for p in pseudonyms)
    assert all(store.employee_for(p) for p in pseudonyms)
    [(events,)] = store.client.query("SELECT count() FROM compliance.events FINAL").result_rows
    valid = sum(1 for line in preview.events.read_bytes().splitlines() if line.strip())
    assert events == valid  # the simulated file has no broken or duplicate lines
    assert f"{len(written)} alerts" in preview.output and f"{valid} events written" in preview.output


def test_a_store_that_fails_exits_1_a_bad_url_or_no_output_exits_2(tmp_path, preview):
    runner = CliRunner()
    env = {"CM_PSEUDONYM_KEY": "preview-key-0123456789abcdef"}
    (tmp_path / "file").write_text("not a directory")
    down = runner.invoke(
        app, ["backtest", str(preview.events), "--clickhouse", f"chdb://{tmp_path}/file/store"], env=env
    )
    assert down.exit_code == 1 and "cannot write to the store" in down.output
    bad = runner.invoke(app, ["backtest", str(preview.events), "--clickhouse", "ftp://host/db"], env=env)
    assert bad.exit_code == 2 and "unsupported scheme" in bad.output
    neither = runner.invoke(app, ["backtest", str(preview.events)], env=env)
    assert neither.exit_code == 2 and "--clickhouse" in neither.output
