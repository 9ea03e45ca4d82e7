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


def test_late_services_start_after_faust_s_own_and_stop_before_them(tmp_path, monkeypatch):
    """The input reader's last batch needs Faust's producer: mode starts an app's dependencies in
    order and stops them in reverse, so the late services come last."""
    from mode import Service

    monkeypatch.setenv("CM_DATA_DIR", str(tmp_path))
    app = create_app(Settings())
    late = Service()
    app.late_services.append(late)

    dependencies = list(app.on_init_dependencies())

    assert dependencies[-1] is late
    assert dependencies.index(app.producer) < dependencies.index(late)
