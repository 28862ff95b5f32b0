"""Fixture files: the default one, replacements, faker fill-in, and clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from connectors_mock import resources
from connectors_mock.clock import MANUAL_EPOCH
from connectors_mock.fixtures import FixtureError, load_seed_data
from connectors_mock.spec import Spec
from tests.conftest import S3_CREATE, ClientFactory


def test_the_default_fixtures_hold_every_id_the_reference_uses(spec: Spec) -> None:
    seed_data = load_seed_data(resources.default_fixtures_path(), spec, MANUAL_EPOCH, seed=1)
    assert {"col_abc123", "col_xyz"} <= set(seed_data.collections)
    by_id = {c.id: c for c in seed_data.connectors}
    assert by_id["conn_abc123"].collection == "col_xyz"
    assert len({c.type for c in seed_data.connectors}) == 8
    assert {c.status for c in seed_data.connectors} == {"active", "error"}


def test_a_fixtures_last_job_ended_when_its_connector_says(make_client: ClientFactory) -> None:
    client = make_client()
    connector = client.get("/v1/connectors/conn_abc123").json()["data"]
    job = client.get("/v1/connectors/conn_abc123/sync/job_abc123").json()["data"]
    assert job["status"] == "completed"
    assert job["completedAt"] == connector["lastSync"]
    assert job["startedAt"] == "2024-01-20T13:58:00Z"
    assert job["progress"] == {"collected": 450, "parsed": 450, "indexed": 450}


def test_a_failed_connectors_last_job_failed_with_its_error(spec: Spec, tmp_path: Path) -> None:
    path = tmp_path / "failed.yaml"
    path.write_text(
        "collections: [col_a]\nconnectors:\n  - {type: github, collection: col_a, status: error, "
        "lastError: {code: credentials_rejected, message: refused, occurredAt: 2024-03-04T08:15:00Z}, "
        "lastJob: {id: job_failed1, documents: 100}}\n"
    )
    [job] = load_seed_data(path, spec, MANUAL_EPOCH, seed=1).jobs
    state = job.state(MANUAL_EPOCH)
    assert (state.status, state.error and state.error.code) == ("failed", "credentials_rejected")
    assert job.finished_at.isoformat() == "2024-03-04T08:15:00+00:00"
    assert 0 < state.progress.collected < 100


def test_faker_fills_what_a_fixture_leaves_out_and_the_seed_repeats_it(spec: Spec, tmp_path: Path) -> None:
    path = tmp_path / "mini.yaml"
    path.write_text("collections: [col_a]\nconnectors:\n  - {type: postgresql, collection: col_a}\n")
    [first] = load_seed_data(path, spec, MANUAL_EPOCH, seed=5).connectors
    [again] = load_seed_data(path, spec, MANUAL_EPOCH, seed=5).connectors
    [other] = load_seed_data(path, spec, MANUAL_EPOCH, seed=6).connectors
    assert first.to_json() == again.to_json()
    assert first.credentials == again.credentials
    assert first.to_json() != other.to_json()
    assert first.id.startswith("conn_")
    assert first.name.endswith("Postgres")
    assert set(first.config) == {"host", "port", "database", "schema"}
    assert set(first.credentials) == {"username", "password"}
    assert first.created_at < MANUAL_EPOCH


def test_fixtures_option_replaces_the_default_file(make_client: ClientFactory, tmp_path: Path) -> None:
    path = tmp_path / "own.yaml"
    path.write_text(
        "collections: [col_only]\nconnectors:\n  - {id: conn_mine, name: Mine, type: notion, collection: col_only}\n"
    )
    client = make_client(fixtures=path)
    assert [c["id"] for c in client.get("/v1/connectors").json()["data"]] == ["conn_mine"]
    assert client.get("/v1/connectors/conn_abc123").status_code == 404


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("connectors: []\n", "$: 'collections' is a required property"),
        (
            "collections: [col_a]\nconnectors:\n  - {type: ftp, collection: col_a}\n",
            "$.connectors[0].type: unknown type 'ftp'",
        ),
        (
            "collections: [col_a]\nconnectors:\n  - {type: s3, collection: col_b}\n",
            '$.connectors[0].collection: "col_b" is not listed',
        ),
        (
            "collections: [col_a]\nconnectors:\n"
            "  - {type: postgresql, collection: col_a, config: {host: h, database: d, port: 99999}}\n",
            "$.connectors[0].config.port: 99999 is greater than the maximum of 65535",
        ),
        (
            "collections: [col_a]\nconnectors:\n  - {type: s3, collection: col_a, credentials: {token: x}}\n",
            "$.connectors[0].credentials.accessKeyId: is required",
        ),
        (
            "collections: [col_a]\nconnectors:\n"
            "  - {id: conn_x, type: s3, collection: col_a}\n  - {id: conn_x, type: s3, collection: col_a}\n",
            "$.connectors[1].id: 'conn_x' is used twice",
        ),
        (
            "collections: [col_a]\nconnectors:\n  - {type: s3, collection: col_a, status: syncing}\n",
            "$.connectors[0].status",
        ),
        ("collections: [a b]\n", "$.collections[0]"),
        (
            "collections: [col_a]\nconnectors:\n  - {type: s3, collection: col_a, createdAt: yesterday}\n",
            "$.connectors[0].createdAt: 'yesterday' is not an ISO 8601 timestamp",
        ),
        (
            "collections: [col_a]\nconnectors:\n"
            "  - {type: s3, collection: col_a, status: error, lastError: {code: x}}\n",
            "$.connectors[0].lastError.message: is required",
        ),
        (
            "collections: [col_a]\nconnectors:\n  - {type: s3, collection: col_a, lastError: {code: x, message: m}}\n",
            "$.connectors[0].lastError: an active connector has no last error",
        ),
        (
            "collections: [col_a]\nconnectors:\n"
            "  - {type: s3, collection: col_a, createdAt: 2024-02-01T00:00:00Z, updatedAt: 2024-01-01T00:00:00Z}\n",
            "$.connectors[0].updatedAt: is earlier than createdAt",
        ),
        ("collections: [col_a\n", "while parsing"),
        (
            "collections: [col_a]\nconnectors:\n  - {type: s3, collection: col_a, lastJob: {id: job_x}}\n",
            "$.connectors[0].lastJob: only a connector with lastSync or lastError has a last job",
        ),
        (
            "collections: [col_a]\nconnectors:\n"
            "  - {type: s3, collection: col_a, lastSync: 2024-01-01T00:00:00Z, lastJob: {id: nope}}\n",
            '$.connectors[0].lastJob.id: "nope" does not match',
        ),
        (
            "collections: [col_a]\nconnectors:\n  - {type: s3, collection: col_a, lastSync: 2024-01-01T00:00:00Z,"
            " lastJob: {id: job_x, startedAt: 2024-01-01T00:00:00Z}}\n",
            "$.connectors[0].lastJob.startedAt: is later than 2023-12-31T23:59:55Z",
        ),
        (
            "collections: [col_a]\noauthFlows:\n  - {type: s3, state: st_a, code: c, collection: col_b}\n",
            "$.oauthFlows[0].type: 's3' is not an OAuth type",
        ),
        (
            "collections: [col_a]\noauthFlows:\n  - {type: notion, state: st_a, code: c, collection: col_b}\n",
            '$.oauthFlows[0].collection: "col_b" is not listed under collections',
        ),
        (
            "collections: [col_a]\noauthFlows:\n  - {type: notion, state: bad, code: c}\n",
            '$.oauthFlows[0].state: "bad" does not match',
        ),
        (
            "collections: [col_a]\noauthFlows:\n  - {type: notion, state: st_a, code: c}\n"
            "  - {type: google_drive, state: st_a, code: d}\n",
            "$.oauthFlows: a state is used twice",
        ),
    ],
)
def test_a_bad_fixture_file_names_the_file_and_the_place(spec: Spec, tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(FixtureError) as error:
        load_seed_data(path, spec, MANUAL_EPOCH, seed=1)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_filled_data_is_valid_whatever_the_seed(spec: Spec) -> None:
    """Faker's output varies by seed; every seed must still give fixtures the spec accepts."""
    for seed in range(60):
        load_seed_data(resources.default_fixtures_path(), spec, MANUAL_EPOCH, seed=seed)


def test_without_a_seed_the_filled_in_fixtures_stay_put_across_starts(spec: Spec) -> None:
    first = load_seed_data(resources.default_fixtures_path(), spec, MANUAL_EPOCH, seed=None)
    again = load_seed_data(resources.default_fixtures_path(), spec, MANUAL_EPOCH, seed=None)
    assert [c.to_json() for c in first.connectors] == [c.to_json() for c in again.connectors]


def test_connectors_are_listed_oldest_first(client: TestClient) -> None:
    created = [c["createdAt"] for c in client.get("/v1/connectors").json()["data"]]
    assert created == sorted(created)
    new = client.post("/v1/connectors", json=S3_CREATE).json()["data"]
    assert client.get("/v1/connectors").json()["data"][-1] == new


def test_the_guides_fixture_example_loads(spec: Spec, tmp_path: Path) -> None:
    guide = (Path(__file__).resolve().parents[1] / "docs" / "behaviour.md").read_text(encoding="utf-8")
    [example] = re.findall(r"^```yaml\n(.*?)^```", guide, flags=re.MULTILINE | re.DOTALL)
    path = tmp_path / "own.yaml"
    path.write_text(example)
    seed_data = load_seed_data(path, spec, MANUAL_EPOCH, seed=None)
    assert seed_data.connectors[0].id == "conn_wiki"
    assert len(seed_data.connectors) == 2
    [job] = seed_data.jobs
    assert (job.id, job.connector_id, job.script.total) == ("job_wiki1", "conn_wiki", 450)
    assert [consent.state for consent in seed_data.consents] == ["st_wiki1"]


def test_yaml_values_that_are_not_json_get_a_clear_error(spec: Spec, tmp_path: Path) -> None:
    """An unquoted date is a date to YAML, and a number key an integer: neither is JSON."""
    path = tmp_path / "dates.yaml"
    path.write_text("collections: [col_a, 2024-01-01]\n")
    with pytest.raises(FixtureError, match=r"dates\.yaml: \$\.collections\[1\]: .* is not of type 'string'"):
        load_seed_data(path, spec, MANUAL_EPOCH, seed=1)
    path.write_text("collections: [col_a]\nconnectors:\n  - {type: s3, collection: col_a, config: {1: x}}\n")
    with pytest.raises(FixtureError, match=r"\$\.connectors\[0\]\.config"):
        load_seed_data(path, spec, MANUAL_EPOCH, seed=1)
