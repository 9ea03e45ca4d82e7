"""``/readyz``: the worker's ``/healthz`` document, 503 until it owns partitions and its input hop
has joined its group (readiness probes)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson
from aiohttp.test_utils import TestClient, TestServer
from aiokafka.structs import TopicPartition
from faust.assignor.client_assignment import ClientAssignment

from detectors import load_policy
from streams.process import DEMO_POLICY
from streams.settings import Settings
from streams.worker import build_pipeline


def test_readyz_answers_503_until_the_worker_owns_partitions_and_reads_input_and_healthz_answers_200(
    tmp_path,
):
    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    app = pipeline.app
    keyed, hr = pipeline.topics.keyed.get_topic_name(), Settings().topics.hr

    async def probe() -> list[tuple[int, dict]]:
        async with TestClient(TestServer(app.web.web_app)) as client:

            async def get(path: str) -> tuple[int, dict]:
                response = await client.get(path)
                return response.status, orjson.loads(await response.read())

            answers = [await get("/readyz"), await get("/healthz")]
            app.assignor._assignment = ClientAssignment(actives={keyed: [0]}, standbys={})  # rebalance done
            answers.append(await get("/readyz"))  # the input hop's group has not answered yet
            await pipeline.input_reader.on_partitions_assigned(set())  # it has, with no partition here
            answers.append(await get("/readyz"))
            pipeline.input_reader.consumer = SimpleNamespace(assignment=lambda: {TopicPartition(hr, 2)})
            return [*answers, await get("/healthz")]

    answers = asyncio.run(probe())
    (
        (ready_status, ready),
        (health_status, health),
        (faust_status, faust),
        (later_status, later),
        (_, input_),
    ) = answers
    assert (ready_status, ready["ready"]) == (503, False)
    assert (health_status, health) == (200, ready)  # liveness stays 200 while the process answers
    assert (faust_status, faust["ready"]) == (503, False)
    assert (later_status, later["ready"], later["assigned"]) == (200, True, [f"{keyed}:0"])
    assert input_["assigned"] == sorted([f"{keyed}:0", f"{hr}:2"])  # the input partitions it reads too
