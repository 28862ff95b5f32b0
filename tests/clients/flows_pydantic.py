"""The reference's flows, as an SDK made of datamodel-code-generator's pydantic v2 models and
httpx makes them: bodies built from the models, every answer validated into one. Imported only
once `connectors_models` has been generated (`test_python_clients.py`), which also type-checks
this file against it with mypy."""

from __future__ import annotations

from typing import TypeVar

import httpx
from connectors_models import (
    CompleteOAuthRequest,
    ConfluenceConnector,
    ConnectorEnvelope,
    ConnectorListEnvelope,
    ConnectorStatus,
    CreateS3Connector,
    ErrorCode,
    ErrorEnvelope,
    GoogleDriveConnector,
    OAuthAuthorizationEnvelope,
    S3Config,
    S3ConfigUpdate,
    S3Connector,
    S3Credentials,
    S3Prefix,
    SyncJobEnvelope,
    SyncJobStatus,
    UpdateConnectorRequest,
)
from pydantic import BaseModel

from tests.clients.fake_controls import advance_clock, approve_consent

Model = TypeVar("Model", bound=BaseModel)


def parsed(response: httpx.Response, status: int, model: type[Model]) -> Model:
    assert response.status_code == status, response.text
    return model.model_validate_json(response.content)


def body(model: BaseModel) -> bytes:
    """As the API reads it: by its JSON names, and only what was set (a `None` set on purpose
    is a JSON `null`, which removes a config key)."""
    return model.model_dump_json(by_alias=True, exclude_unset=True).encode()


def s3_example() -> CreateS3Connector:
    return CreateS3Connector(
        name="Document Storage",
        type="s3",
        collection="col_abc123",
        config=S3Config(bucket="my-documents", region="us-east-1", prefix="/documents/"),
        credentials=S3Credentials(access_key_id="AKIA...", secret_access_key="..."),
    )


def s3_connector(envelope: ConnectorEnvelope) -> S3Connector:
    assert isinstance(envelope.data, S3Connector), envelope.data
    return envelope.data


def run(base_url: str, api_key: str) -> None:
    json = {"Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}) as http:
        listed = parsed(http.get("/v1/connectors"), 200, ConnectorListEnvelope)
        [confluence] = [c for c in listed.data if c.id == "conn_abc123"]
        assert isinstance(confluence, ConfluenceConnector)
        assert confluence.config.instance_url == "https://acme.atlassian.net/wiki"

        created = parsed(http.post("/v1/connectors", content=body(s3_example()), headers=json), 201, ConnectorEnvelope)
        connector = s3_connector(created)
        assert (connector.config.bucket, connector.status) == ("my-documents", ConnectorStatus.active)
        path = f"/v1/connectors/{connector.id}"
        assert s3_connector(parsed(http.get(path), 200, ConnectorEnvelope)) == connector

        change = UpdateConnectorRequest(name="Updated Name", config=S3ConfigUpdate(prefix=S3Prefix("/new-prefix/")))
        updated = s3_connector(parsed(http.put(path, content=body(change), headers=json), 200, ConnectorEnvelope))
        assert (updated.name, updated.config.prefix, updated.config.bucket) == (
            "Updated Name",
            "/new-prefix/",
            "my-documents",
        )

        job = parsed(http.post(f"{path}/sync"), 202, SyncJobEnvelope).data
        assert job.status == SyncJobStatus.queued
        while job.status in (SyncJobStatus.queued, SyncJobStatus.running):
            advance_clock(base_url, 1)
            polled = parsed(http.get(f"{path}/sync/{job.job_id}"), 200, SyncJobEnvelope).data
            assert polled.progress.collected >= job.progress.collected
            job = polled
        assert job.status == SyncJobStatus.completed
        assert job.progress.collected == job.progress.parsed == job.progress.indexed > 0
        assert s3_connector(parsed(http.get(path), 200, ConnectorEnvelope)).last_sync == job.completed_at

        query = {
            "collection": "col_abc123",
            "name": "Team Drive",
            "redirect_uri": "http://localhost:3000/oauth/callback",
        }
        authorize = http.get("/v1/connectors/oauth/google_drive/authorize", params=query)
        authorization = parsed(authorize, 200, OAuthAuthorizationEnvelope).data
        code, state = approve_consent(authorization.auth_url)
        assert state == authorization.state
        callback = CompleteOAuthRequest(code=code, state=state)
        answer = http.post("/v1/connectors/oauth/google_drive/callback", content=body(callback), headers=json)
        drive = parsed(answer, 201, ConnectorEnvelope).data
        assert isinstance(drive, GoogleDriveConnector)
        assert (drive.name, drive.collection) == ("Team Drive", "col_abc123")

        assert http.delete(path).status_code == 204
        missing = parsed(http.get(path), 404, ErrorEnvelope)
        assert missing.error.code == ErrorCode.not_found
        assert connector.id in missing.error.message

        http.post("/v1/connectors", content=body(s3_example()), headers=json)
        twice = parsed(http.post("/v1/connectors", content=body(s3_example()), headers=json), 409, ErrorEnvelope)
        assert twice.error.code == ErrorCode.already_exists

        invalid = s3_example().model_dump(by_alias=True, exclude_unset=True)
        invalid["name"], invalid["config"]["region"] = "Elsewhere", "Mars"
        refused = parsed(http.post("/v1/connectors", json=invalid), 422, ErrorEnvelope)
        assert refused.error.code == ErrorCode.validation_failed
        assert refused.error.details is not None
        assert refused.error.details.errors is not None
        assert [e.path for e in refused.error.details.errors] == ["$.config.region"]

    stranger = httpx.get(f"{base_url}/v1/connectors", headers={"Authorization": "Bearer not-a-key-of-this-fake"})
    assert parsed(stranger, 401, ErrorEnvelope).error.code == ErrorCode.unauthorized
