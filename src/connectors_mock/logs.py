"""How `serve` logs: for a person (uvicorn's lines, the default), or for log tooling
(`--log-format json`: one JSON object per line, written by python-json-logger through the
standard `logging` machinery).

With `--access-log`, each API request is one line: in text, uvicorn's (address, method, path,
status); in JSON, the journal's entry for it (request id, tenant fingerprint, operation,
status, duration, scenario and fault), and uvicorn's for the other paths. Never a key, a
query string (where OAuth codes travel), a header or a body.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import uvicorn.config

from connectors_mock.journal import Entry, JournalEntry

LOG_FORMATS = ("text", "json")
REQUESTS = logging.getLogger("connectors_mock.requests")
API_PREFIX = "/v1/"


def without_query(record: logging.LogRecord) -> bool:
    """Query strings carry OAuth codes and states (`/_mock/oauth/callback?code=...`): the
    access log keeps the path only. uvicorn's args are (client, method, path, version, status)."""
    if isinstance(record.args, tuple) and len(record.args) == 5:
        client, method, path, version, status = record.args
        record.args = (client, method, str(path).split("?", 1)[0], version, status)
    return True


def not_the_api(record: logging.LogRecord) -> bool:
    """In JSON, the API's requests are logged from the journal, with more to say."""
    return not (isinstance(record.args, tuple) and len(record.args) == 5 and str(record.args[2]).startswith(API_PREFIX))


def log_config(log_format: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn's `log_config`: uvicorn's own, with the fake's
    loggers added (text), or every handler writing JSON (json)."""
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {
        "without_query": {"()": "connectors_mock.logs.QueryFilter"},
        "not_the_api": {"()": "connectors_mock.logs.ApiFilter"},
    }
    config["handlers"]["access"]["filters"] = ["without_query"]
    if log_format == "json":
        config["formatters"] = {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(message)s",
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",
            }
        }
        config["handlers"]["default"]["formatter"] = "json"
        config["handlers"]["access"]["formatter"] = "json"
        config["handlers"]["access"]["filters"] = ["without_query", "not_the_api"]
        config["handlers"]["requests"] = {
            "formatter": "json",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
        }
        config["loggers"]["connectors_mock.requests"] = {"handlers": ["requests"], "level": "INFO", "propagate": False}
    config["loggers"]["connectors_mock"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


class QueryFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return without_query(record)


class ApiFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not_the_api(record)


def log_request(entry: Entry) -> None:
    """One line for an API request the journal kept (a `Journal` listener)."""
    if not isinstance(entry, JournalEntry):
        return
    status = entry.status if entry.status is not None else "-"
    REQUESTS.info(
        "%s %s %s",
        entry.method,
        entry.path,
        status,
        extra={
            "requestId": entry.request_id,
            "tenant": entry.tenant,
            "operation": entry.operation_id,
            "method": entry.method,
            "path": entry.path,
            "status": entry.status,
            "durationMs": entry.duration_ms,
            "scenario": entry.scenario,
            "fault": entry.fault,
            "errorCode": entry.error_code,
            "note": entry.note,
        },
    )
