"""``bench.floor``: the stock floor is Faust as released, the worker's floor has our patches."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import bench.floor
from streams.settings import Settings
from streams.app import create_app
app = (bench.floor.stock_app if sys.argv[1] == "stock" else create_app)(Settings())
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
print(hasattr(Consumer._drain_messages, "_cm_original"),
      getattr(AIOKafkaConsumerThread._create_worker_consumer, "_cm_patched", False),
      app.conf.producer_max_batch_size)
"""


def patched(kind: str, tmp_path) -> str:
    env = {"CM_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, kind], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_the_stock_floor_runs_faust_without_any_of_our_patches_or_settings(tmp_path):
    assert patched("stock", tmp_path) == ["False", "False", "16384"]


def test_the_workers_floor_runs_our_patches(tmp_path):
    assert patched("worker", tmp_path) == ["True", "True", str(512 * 1024)]
