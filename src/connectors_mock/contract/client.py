"""HTTP for the suite: a requests session that waits out 429s, and a client that sends
hand-made requests through schemathesis, so they get every check the generated ones get."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from connectors_mock.contract.checks import Check, response_data, sent_header
from connectors_mock.contract.ledger import Ledger, Owner
from connectors_mock.contract.safety import Safety

if TYPE_CHECKING:
    from schemathesis import Case, Response
    from schemathesis.specs.openapi.schemas import OpenApiSchema as BaseSchema

RATE_LIMIT_RETRIES = 8


class RateLimitRetry(Retry):
    """Retry a 429 after its `Retry-After` (any method: a 429 was not processed), waiting at
    most `max_wait` seconds each time, so a server asking for an hour cannot stall CI. Only a
    429: a 503 or 413 with `Retry-After` is an answer the checks must see."""

    RETRY_AFTER_STATUS_CODES = frozenset({429})
    max_wait: float = 60.0

    def new(self, **changes: Any) -> RateLimitRetry:
        # urllib3 makes a new Retry for every attempt; the cap must travel with it.
        retry: RateLimitRetry = super().new(**changes)
        retry.max_wait = self.max_wait
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.max_wait)


def patient_session(max_wait: float) -> requests.Session:
    retry = RateLimitRetry(
        total=RATE_LIMIT_RETRIES,
        connect=0,
        read=0,
        redirect=0,
        other=0,
        status=RATE_LIMIT_RETRIES,
        status_forcelist=(429,),
        allowed_methods=None,
        backoff_factor=0.5,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    retry.max_wait = max_wait
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass(frozen=True)
class Sender:
    """How the suite sends every request, generated or hand-made: made safe first, its created
    connector recorded even when a check then fails, and every check run on the answer."""

    base_url: str
    api_key: str = field(repr=False)
    session: requests.Session
    checks: Sequence[Check]
    safety: Safety

    def call(self, case: Case[Any], api_key: str | None = None) -> Response:
        """Send `case` as `api_key` (default: the first key), made safe, and record what it created."""
        team = sent_header(case, "X-Team-ID")
        owner = Owner(api_key or self.api_key, str(team) if team is not None else None)
        # Before sending: a create whose answer is lost is still swept up as this owner.
        self.safety.ledger.owners.add(owner)
        self.safety.prepare(case)
        response = case.call(base_url=self.base_url, session=self.session, headers=self.auth(api_key))
        self.safety.record(case, response, owner)
        return response

    def send(self, case: Case[Any], api_key: str | None = None) -> Response:
        """`call`, then every check on the answer."""
        response = self.call(case, api_key)
        case.validate_response(response, additional_checks=list(self.checks), headers=self.auth(api_key))
        return response

    def auth(self, api_key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key or self.api_key}"}


@dataclass(frozen=True)
class ApiClient:
    """One API key's view of the server under test."""

    schema: BaseSchema
    api_key: str = field(repr=False)
    sender: Sender

    def call(
        self,
        operation_id: str,
        *,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send one request and run every check on its answer; a failed check raises with the
        request as a curl command."""
        operation = self.schema.find_operation_by_id(operation_id)
        parts: dict[str, Any] = {"path_parameters": path or {}, "query": query, "headers": headers}
        if body is not None:
            parts["body"] = body
        return self.sender.send(operation.Case(**parts), self.api_key)

    def data(self, response: Response) -> Any:
        return response_data(response)


@dataclass
class CleanUp:
    deleted: int = 0
    left: list[str] = field(default_factory=list)


def clean_up(ledger: Ledger, base_url: str, session: requests.Session, keys: Sequence[str]) -> CleanUp:
    """Delete what the run created: every connector it recorded, then any other connector whose
    name carries the run's prefix (a create whose answer was lost), as whoever created it. A
    request that fails is counted, never the end of the sweep."""
    result = CleanUp()
    targets = dict(ledger.created)
    for owner in ledger.owners | {Owner(key, None) for key in keys}:
        try:
            listed = connectors_of(owner, base_url, session)
        except requests.RequestException:
            continue
        for connector in listed:
            if str(connector.get("name", "")).startswith(ledger.prefix):
                targets.setdefault(str(connector["id"]), owner)
    for connector_id, owner in targets.items():
        try:
            answer = session.delete(f"{base_url}/v1/connectors/{connector_id}", headers=_headers(owner), timeout=30)
        except requests.RequestException:
            result.left.append(connector_id)
            continue
        if answer.status_code in (200, 202, 204):
            result.deleted += 1
        elif answer.status_code != 404:
            result.left.append(connector_id)
    return result


def connectors_of(owner: Owner, base_url: str, session: requests.Session) -> list[dict[str, Any]]:
    """The connectors `owner` can list, read past any checks: for set-up and clean-up."""
    data = response_data(session.get(f"{base_url}/v1/connectors", headers=_headers(owner), timeout=30))
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _headers(owner: Owner) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {owner.api_key}"}
    if owner.team:
        headers["X-Team-ID"] = owner.team
    return headers
