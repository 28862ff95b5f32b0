"""A stored connector and its config merge, on their own."""

from __future__ import annotations

from connectors_mock.connectors import merge_config


def test_merge_config_replaces_adds_and_removes_keys() -> None:
    stored = {"bucket": "docs", "region": "us-east-1", "prefix": "/a/"}
    assert merge_config(stored, {"prefix": "/b/", "endpoint": "https://minio.local", "region": None}) == {
        "bucket": "docs",
        "prefix": "/b/",
        "endpoint": "https://minio.local",
    }
    assert stored == {"bucket": "docs", "region": "us-east-1", "prefix": "/a/"}
