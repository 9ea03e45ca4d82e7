"""Log output of every process: Python's plain text (the default), or one JSON object per line.

``CM_LOG_FORMAT=json`` gives each record ``time``, ``level``, ``logger`` and ``message``, and the
fields a call site passes with ``extra=`` (``topic``, ``partition``, ``offset``, ``rule_id``,
``alert_id``, ``error`` …), so a log collector can filter on them. The Faust worker sets up
logging itself at start; :func:`faust_logging_config` is the same configuration in the form
its ``logging_config`` takes, so Faust's and mode's own records come out as JSON too.
"""

from __future__ import annotations

import logging
import logging.config
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]


class JsonLineFormatter(JsonFormatter):
    """``{"time", "level", "logger", "message", …extra}`` on one line; non-ASCII text kept as is."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "traceback"},
            timestamp="time",
            json_ensure_ascii=False,
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {"time": log_data.pop("time"), **log_data}


def json_logging_config(level: int | str) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` configuration: every record to stderr as a JSON line."""
    return {
        "version": 1,
        "disable_existing_loggers": False,  # module loggers exist before the worker configures
        "formatters": {"json": {"()": JsonLineFormatter}},
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
        },
        "root": {
            "level": logging.getLevelName(level) if isinstance(level, int) else level.upper(),
            "handlers": ["default"],
        },
    }


def configure_logging(log_format: LogFormat, level: int | str = logging.WARNING) -> None:
    """Set up the root logger of a process that is not a Faust worker; text leaves Python's default."""
    if log_format == "json":
        logging.config.dictConfig(json_logging_config(level))


def faust_logging_config(log_format: LogFormat, level: int | str) -> dict[str, Any] | None:
    """The Faust worker's ``logging_config``: None keeps Faust's own (coloured) text output."""
    return json_logging_config(level) if log_format == "json" else None


def position(message: Any) -> dict[str, Any]:
    """A Kafka record's ``topic``, ``partition`` and ``offset`` as log fields (``extra=``)."""
    return {"topic": message.topic, "partition": message.partition, "offset": message.offset}
