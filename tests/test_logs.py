"""`serve --log-format json`: every line is one JSON object, an API request's line says what the
journal says of it, and no line holds a key, a credential, an OAuth code or a body."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.conftest import S3_CREATE
from tests.test_cli import call, get

KEY = "sk_live_never_logged"


def test_json_lines_for_log_tooling_with_nothing_secret_in_them() -> None:
    process = subprocess.Popen(
        [*(sys.executable, "-m", "connectors_mock", "serve", "--port", "0"), "--log-format", "json", "--access-log"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    started = json.loads(process.stderr.readline())
    url = started["url"]
    assert started["message"] == f"connectors-mock listening on {url}"
    assert call("POST", f"{url}/v1/connectors", KEY, S3_CREATE)[0] == 201
    assert get(f"{url}/v1/connectors/conn_nope", KEY)[0] == 404
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(f"{url}/_mock/oauth/callback?code=code_never_logged&state=st_x", timeout=5)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)

    lines = [json.loads(line) for line in (out + err).splitlines()]
    requests = [line for line in lines if line["logger"] == "connectors_mock.requests"]
    assert [(r["operation"], r["status"], r["method"], r["path"]) for r in requests] == [
        ("createConnector", 201, "POST", "/v1/connectors"),
        ("getConnector", 404, "GET", "/v1/connectors/conn_nope"),
    ]
    created = requests[0]
    assert created["requestId"].startswith("req_")
    assert created["tenant"].startswith("key_")
    assert isinstance(created["durationMs"], float)
    assert requests[1]["errorCode"] == "not_found"
    assert {"time", "level", "scenario", "fault"} <= set(created)
    control = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert [line["message"].split('"')[1] for line in control] == ["GET /_mock/oauth/callback HTTP/1.1"]
    everything = out + err
    for secret in (KEY, "AKIA", "secretAccessKey", "code_never_logged", S3_CREATE["name"]):
        assert secret not in everything, secret
