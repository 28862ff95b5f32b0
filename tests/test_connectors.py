"""A stored connector and its config merge, on their own."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import orjson

from connectors_mock.connectors import Connector, merge_config


def test_merge_config_replaces_adds_and_removes_keys() -> None:
    stored = {"bucket": "docs", "region": "us-east-1", "prefix": "/a/"}
    assert merge_config(stored, {"prefix": "/b/", "endpoint": "https://minio.local", "region": None}) == {
        "bucket": "docs",
        "prefix": "/b/",
        "endpoint": "https://minio.local",
    }
    assert stored == {"bucket": "docs", "region": "us-east-1", "prefix": "/a/"}


def _connector() -> Connector:
    created = datetime(2024, 1, 15, 10, tzinfo=UTC)
    return Connector(
        id="conn_abc123",
        name="Docs",
        type="s3",
        collection="col_xyz",
        config={"bucket": "docs", "region": "us-east-1"},
        status="active",
        created_at=created,
        updated_at=created,
        credentials={"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "hidden"},
    )


def test_the_rendered_json_follows_every_change() -> None:
    """The kept JSON is what `to_json` says after any attribute is set, whichever it is."""
    later = datetime(2024, 3, 1, 6, tzinfo=UTC)
    changes = {
        "name": "Renamed",
        "status": "error",
        "config": {"bucket": "other", "region": "eu-west-1"},
        "updated_at": later,
        "last_sync": later,
        "last_error": {"code": "source_unreachable", "message": "down", "occurredAt": "2024-03-01T06:00:00Z"},
    }
    connector = _connector()
    for name, value in changes.items():
        before = orjson.loads(orjson.dumps(connector.rendered()))
        setattr(connector, name, value)
        after = orjson.loads(orjson.dumps(connector.rendered()))
        assert after == connector.to_json() != before, name


def test_the_rendered_json_never_holds_credentials() -> None:
    rendered = orjson.dumps(_connector().rendered())
    assert b"credentials" not in rendered
    assert b"hidden" not in rendered


def test_a_rendered_connector_copies_as_a_tenant_seed_does() -> None:
    connector = _connector()
    connector.rendered()
    copied = copy.deepcopy(connector)
    assert copied == connector
    assert orjson.loads(orjson.dumps(copied.rendered())) == connector.to_json()
