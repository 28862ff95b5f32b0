"""The reference's flows, as an SDK built with openapi-python-client makes them: every call
through the generated functions, every answer parsed into the generated models. Imported only
once `connectors_client` has been generated (`test_python_clients.py`), which also type-checks
this file against it with mypy."""

from __future__ import annotations

from connectors_client import AuthenticatedClient
from connectors_client.api.connectors import (
    create_connector,
    delete_connector,
    get_connector,
    list_connectors,
    update_connector,
)
from connectors_client.api.o_auth import authorize_o_auth, complete_o_auth
from connectors_client.api.sync import get_sync_status, trigger_sync
from connectors_client.models import (
    CompleteOAuthRequest,
    ConfluenceConnector,
    ConnectorEnvelope,
    ConnectorListEnvelope,
    ConnectorStatus,
    ConnectorType,
    CreateS3Connector,
    ErrorCode,
    ErrorDetails,
    ErrorEnvelope,
    GoogleDriveConnector,
    OAuthAuthorizationEnvelope,
    S3Config,
    S3ConfigUpdate,
    S3Connector,
    S3Credentials,
    SyncJobEnvelope,
    SyncJobStatus,
    UpdateConnectorRequest,
)

from tests.clients.fake_controls import advance_clock, approve_consent


def s3_example() -> CreateS3Connector:
    """The reference's create example."""
    return CreateS3Connector(
        name="Document Storage",
        type_="s3",
        collection="col_abc123",
        config=S3Config(bucket="my-documents", region="us-east-1", prefix="/documents/"),
        credentials=S3Credentials(access_key_id="AKIA...", secret_access_key="..."),
    )


def connector_of(answer: ConnectorEnvelope | ErrorEnvelope | None) -> S3Connector:
    assert isinstance(answer, ConnectorEnvelope), answer
    assert isinstance(answer.data, S3Connector), answer.data
    return answer.data


def error_of(answer: object, code: ErrorCode) -> ErrorEnvelope:
    assert isinstance(answer, ErrorEnvelope), answer
    assert answer.error.code == code, answer.error
    return answer


def run(base_url: str, api_key: str) -> None:
    client = AuthenticatedClient(base_url=base_url, token=api_key, raise_on_unexpected_status=True)

    listed = list_connectors.sync_detailed(client=client).parsed
    assert isinstance(listed, ConnectorListEnvelope), listed
    [confluence] = [c for c in listed.data if c.id == "conn_abc123"]
    assert isinstance(confluence, ConfluenceConnector)
    assert confluence.config.instance_url == "https://acme.atlassian.net/wiki"

    created = create_connector.sync_detailed(client=client, body=s3_example())
    assert created.status_code == 201
    connector = connector_of(created.parsed)
    assert (connector.config.bucket, connector.status) == ("my-documents", ConnectorStatus.ACTIVE)
    assert connector_of(get_connector.sync_detailed(connector.id, client=client).parsed) == connector

    change = UpdateConnectorRequest(name="Updated Name", config=S3ConfigUpdate(prefix="/new-prefix/"))
    updated = connector_of(update_connector.sync_detailed(connector.id, client=client, body=change).parsed)
    assert (updated.name, updated.config.prefix, updated.config.bucket) == (
        "Updated Name",
        "/new-prefix/",
        "my-documents",
    )

    started = trigger_sync.sync_detailed(connector.id, client=client).parsed
    assert isinstance(started, SyncJobEnvelope), started
    job = started.data
    assert job.status == SyncJobStatus.QUEUED
    while job.status in (SyncJobStatus.QUEUED, SyncJobStatus.RUNNING):
        advance_clock(base_url, 1)
        polled = get_sync_status.sync_detailed(connector.id, job.job_id, client=client).parsed
        assert isinstance(polled, SyncJobEnvelope), polled
        assert polled.data.progress.collected >= job.progress.collected
        job = polled.data
    assert job.status == SyncJobStatus.COMPLETED
    assert job.progress.collected == job.progress.parsed == job.progress.indexed > 0
    assert connector_of(get_connector.sync_detailed(connector.id, client=client).parsed).last_sync == job.completed_at

    authorization = authorize_o_auth.sync_detailed(
        ConnectorType.GOOGLE_DRIVE,
        client=client,
        collection="col_abc123",
        name="Team Drive",
        redirect_uri="http://localhost:3000/oauth/callback",
    ).parsed
    assert isinstance(authorization, OAuthAuthorizationEnvelope), authorization
    code, state = approve_consent(authorization.data.auth_url)
    assert state == authorization.data.state
    completed = complete_o_auth.sync_detailed(
        ConnectorType.GOOGLE_DRIVE, client=client, body=CompleteOAuthRequest(code=code, state=state)
    ).parsed
    assert isinstance(completed, ConnectorEnvelope), completed
    assert isinstance(completed.data, GoogleDriveConnector)
    assert (completed.data.name, completed.data.collection) == ("Team Drive", "col_abc123")

    assert delete_connector.sync_detailed(connector.id, client=client).status_code == 204
    missing = error_of(get_connector.sync_detailed(connector.id, client=client).parsed, ErrorCode.NOT_FOUND)
    assert connector.id in missing.error.message

    create_connector.sync_detailed(client=client, body=s3_example())
    error_of(create_connector.sync_detailed(client=client, body=s3_example()).parsed, ErrorCode.ALREADY_EXISTS)

    invalid = s3_example()
    invalid.config.region = "Mars"
    invalid.name = "Elsewhere"
    refused = error_of(create_connector.sync_detailed(client=client, body=invalid).parsed, ErrorCode.VALIDATION_FAILED)
    assert isinstance(refused.error.details, ErrorDetails), refused.error
    assert isinstance(refused.error.details.errors, list), refused.error
    assert [e.path for e in refused.error.details.errors] == ["$.config.region"]

    stranger = AuthenticatedClient(base_url=base_url, token="not-a-key-of-this-fake")
    error_of(list_connectors.sync_detailed(client=stranger).parsed, ErrorCode.UNAUTHORIZED)
