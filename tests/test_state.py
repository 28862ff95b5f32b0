"""The state model on its own, with no HTTP: what the handlers stand on."""

from __future__ import annotations

from typing import Any

import pytest

from connectors_mock.clock import ManualClock
from connectors_mock.errors import ApiError
from connectors_mock.spec import Spec
from connectors_mock.state import Backend, SeedData, Tenant, merge_config

S3: dict[str, Any] = {
    "name": "Docs",
    "connector_type": "s3",
    "collection": "col_a",
    "config": {"bucket": "docs", "region": "us-east-1"},
    "credentials": {"accessKeyId": "a", "secretAccessKey": "s"},
}


@pytest.fixture
def backend(spec: Spec) -> Backend:
    return Backend(
        SeedData(collections=("col_a", "col_b"), connectors=()), ManualClock(), spec.config_validators, seed=3
    )


@pytest.fixture
def tenant(backend: Backend) -> Tenant:
    return backend.tenant("key-a")


def test_merge_config_replaces_adds_and_removes_keys() -> None:
    stored = {"bucket": "docs", "region": "us-east-1", "prefix": "/a/"}
    assert merge_config(stored, {"prefix": "/b/", "endpoint": "https://minio.local", "region": None}) == {
        "bucket": "docs",
        "prefix": "/b/",
        "endpoint": "https://minio.local",
    }
    assert stored == {"bucket": "docs", "region": "us-east-1", "prefix": "/a/"}


def test_create_keeps_credentials_but_does_not_render_them(tenant: Tenant) -> None:
    connector = tenant.create_connector(**S3)
    assert connector.credentials == S3["credentials"]
    assert "credentials" not in connector.to_json()
    assert "secretAccessKey" not in repr(connector)


def test_ids_are_unique_and_repeat_under_the_same_seed(spec: Spec, backend: Backend) -> None:
    first = [backend.tenant("key-a").create_connector(**{**S3, "name": f"n{i}"}).id for i in range(50)]
    assert len(set(first)) == 50
    again = Backend(backend.seed_data, ManualClock(), spec.config_validators, seed=3).tenant("key-a")
    assert [again.create_connector(**{**S3, "name": f"n{i}"}).id for i in range(50)] == first


def test_a_tenants_ids_do_not_depend_on_other_tenants(spec: Spec, backend: Backend) -> None:
    backend.tenant("key-b").create_connector(**S3)
    alone = Backend(backend.seed_data, ManualClock(), spec.config_validators, seed=3)
    assert backend.tenant("key-a").create_connector(**S3).id == alone.tenant("key-a").create_connector(**S3).id


def test_update_is_all_or_nothing(tenant: Tenant) -> None:
    connector = tenant.create_connector(**S3)
    tenant.create_connector(**{**S3, "name": "Taken"})
    with pytest.raises(ApiError) as refused:
        tenant.update_connector(connector.id, {"name": "Taken", "config": {"prefix": "/x/"}})
    assert refused.value.status == 409
    assert (connector.name, connector.config) == ("Docs", {"bucket": "docs", "region": "us-east-1"})
    with pytest.raises(ApiError) as invalid:
        tenant.update_connector(connector.id, {"name": "New", "config": {"region": "moon"}})
    assert invalid.value.status == 422
    assert [e.path for e in invalid.value.field_errors] == ["$.config.region"]
    assert connector.name == "Docs"


def test_rename_frees_the_old_name(tenant: Tenant) -> None:
    connector = tenant.create_connector(**S3)
    tenant.update_connector(connector.id, {"name": "Renamed"})
    assert tenant.create_connector(**S3).name == "Docs"
    with pytest.raises(ApiError):
        tenant.create_connector(**{**S3, "name": "Renamed"})


def test_the_same_name_may_live_in_two_collections(tenant: Tenant) -> None:
    tenant.create_connector(**S3)
    assert tenant.create_connector(**{**S3, "collection": "col_b"}).collection == "col_b"


def test_update_time_comes_from_the_clock(spec: Spec) -> None:
    clock = ManualClock()
    tenant = Backend(SeedData(("col_a",), ()), clock, spec.config_validators).tenant("k")
    connector = tenant.create_connector(**S3)
    clock.advance(3600)
    tenant.update_connector(connector.id, {"name": "Later"})
    assert connector.to_json()["updatedAt"] == "2025-01-01T01:00:00Z"
    assert connector.to_json()["createdAt"] == "2025-01-01T00:00:00Z"


def test_the_manual_clock_does_not_go_backwards() -> None:
    with pytest.raises(ValueError, match="backwards"):
        ManualClock().advance(-1)
