"""``CM_LOG_FORMAT=json``: one JSON object per log line, with the fields operators filter on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
from typer.testing import CliRunner

from streams.cli import app

REPO = Path(__file__).resolve().parents[2]

BROKEN_DETECTOR = """
import asyncio
from types import SimpleNamespace

import orjson

from detectors import load_policy
from detectors.harassment.repeated_calls import RepeatedCalls
from streams.cli import _settings
from streams.delivery import Outbox
from streams.process import DEMO_POLICY
from streams.worker import build_pipeline
from tests.factories import at, call, office
from tests.test_streams.test_route_order import RecordingProducer


def broken(self, item, state):
    raise ZeroDivisionError("a bug")


RepeatedCalls.observe = broken  # a rule with a bug, as tests.test_detectors.helpers.break_rule_on_key
settings = _settings(role="detect")  # what every command does first: CM_* settings, then logging
pipeline = build_pipeline(settings, load_policy(DEMO_POLICY))
copy = {"family": "harassment", "key": "+8615000000001", "facts": {"channel": "call", "line": office(1)},
        "event": call("+8615000000001", office(1), at())}
batch = SimpleNamespace(
    value=orjson.dumps([copy]),
    message=SimpleNamespace(topic="keyed", partition=3, offset=7, value=b"", generation_id=1),
)


class State(dict):
    def advance(self, partition, event_time):
        pass


async def detect():
    outbox = Outbox(RecordingProducer())
    await pipeline._detect_batch(batch, State(), outbox)
    await outbox.confirm()


asyncio.run(detect())
"""

FAUST_WORKER = """
import logging

from faust import Worker

from detectors import load_policy
from streams.cli import _settings
from streams.logs import faust_logging_config
from streams.process import DEMO_POLICY
from streams.worker import build_pipeline

settings = _settings(role="detect")
pipeline = build_pipeline(settings, load_policy(DEMO_POLICY))
worker = Worker(pipeline.app, loglevel="info", quiet=True,
                logging_config=faust_logging_config(settings.log_format, "info"))
worker._setup_logging()  # what the worker does first when it starts (mode.Worker.on_first_start)
pipeline.app.log.warning("a line of Faust's own")
logging.getLogger("aiokafka.consumer").warning("a line of aiokafka's")
print("printed, not logged")  # the worker sends stdout to a logger
"""


def run(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CM_")}
    environ.update(PYTHONPATH=str(REPO), CM_DATA_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=environ, capture_output=True, text=True, check=False
    )


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [orjson.loads(line) for line in lines]  # raises on any line that is not one JSON object


def test_a_detector_error_is_one_json_line_with_its_position_rule_and_error(tmp_path):
    done = run(BROKEN_DETECTOR, tmp_path, CM_LOG_FORMAT="json")
    assert done.returncode == 0, done.stderr
    [record] = [r for r in json_lines(done.stderr) if r["logger"] == "streams.agents"]
    assert record["level"] == "ERROR" and record["time"].endswith("+00:00")
    assert record["message"].startswith("detectors of family harassment failed on ")
    assert (record["topic"], record["partition"], record["offset"]) == ("keyed", 3, 7)
    assert record["rule_id"] == "harassment.repeated_calls" and record["family"] == "harassment"
    assert "ZeroDivisionError: a bug" in record["error"] and "ZeroDivisionError" in record["traceback"]
    assert "+8615000000001" not in done.stderr  # the outside number stays out of the log, as in text


def test_text_stays_the_default(tmp_path):
    done = run(BROKEN_DETECTOR, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "detectors of family harassment failed on " in done.stderr
    assert not done.stderr.lstrip().startswith("{")


def test_faust_s_own_lines_and_printed_text_come_out_as_json_in_a_worker(tmp_path):
    done = run(FAUST_WORKER, tmp_path, CM_LOG_FORMAT="json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    by_logger = {r["logger"]: r for r in json_lines(done.stderr)}
    assert by_logger["faust.app.base"]["message"].endswith("a line of Faust's own")
    assert by_logger["aiokafka.consumer"]["message"] == "a line of aiokafka's"
    assert by_logger["mode.redirect"]["message"] == "printed, not logged"


def test_a_bad_log_format_stops_start_up_naming_the_setting():
    result = CliRunner().invoke(app, ["worker"], env={"CM_LOG_FORMAT": "xml"})
    assert result.exit_code == 2
    assert "invalid setting CM_LOG_FORMAT" in result.output
