"""``streams.app.App``: Faust's app, without feeding Faust's in-memory Monitor on every message."""

from __future__ import annotations

import faust

from streams.app import create_app
from streams.settings import Settings


def test_stock_faust_feeds_its_monitor_every_message(tmp_path):
    """Why ``App`` exists; when this fails Faust stopped adding its monitor and ``App`` can go."""
    app = faust.App("monitor-stock", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
    app.on_init_dependencies()
    assert app.monitor in set(app.sensors)


def test_the_worker_app_has_no_sensor_left_to_feed(tmp_path, monkeypatch):
    monkeypatch.setenv("CM_DATA_DIR", str(tmp_path))
    app = create_app(Settings())
    app.on_init_dependencies()
    assert list(app.sensors) == []
