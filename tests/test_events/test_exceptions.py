"""Every error class of the project derives from one root."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from events.exceptions import ComplianceMonitorError

PACKAGES = ("events", "detectors", "sinks", "streams", "infra")


def test_every_project_exception_derives_from_the_root():
    found = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if info.name.endswith(".__main__"):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                    found.append(cls)
    assert found
    assert [cls for cls in found if not issubclass(cls, ComplianceMonitorError)] == []
