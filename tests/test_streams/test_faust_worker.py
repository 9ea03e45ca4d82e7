"""``streams.worker.faust_worker``: Faust's worker leaves the root logger at the level asked for."""

from __future__ import annotations

import logging

import faust
import pytest

from streams.worker import faust_worker


@pytest.fixture
def root_logger():
    """Faust's worker configures the root logger: put it back as it was."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield root
    root.setLevel(level)
    root.handlers[:] = handlers


def test_stock_faust_leaves_the_root_logger_at_debug_for_its_spinner(root_logger, tmp_path):
    """Why ``faust_worker`` exists; when this fails Faust has fixed it and the override can go."""
    app = faust.App("spinner-stock", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
    faust.Worker(app, loglevel="warning", quiet=True)._setup_logging()
    assert logging.getLogger("aiokafka").isEnabledFor(logging.DEBUG)


def test_the_workers_debug_calls_build_no_records(root_logger, tmp_path):
    app = faust.App("spinner-ours", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
    faust_worker(app, "warning")._setup_logging()
    assert root_logger.level == logging.WARNING
    assert not logging.getLogger("aiokafka").isEnabledFor(logging.DEBUG)
