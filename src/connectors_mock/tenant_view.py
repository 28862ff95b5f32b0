"""What `/_mock` shows a person of the tenants (`GET /_mock/tenants`, the dashboard): plain
data built from the state, named by label and never by key, with no credentials and no OAuth
codes. Lists are cut to what a person reads, so a tenant of 30,000 connectors costs what one of
200 does to show, and a dashboard watching it costs the API little.
"""

from __future__ import annotations

from datetime import datetime
from itertools import islice
from typing import Any

from connectors_mock.auth import tenant_label
from connectors_mock.clock import isoformat
from connectors_mock.connectors import Connector
from connectors_mock.jobs import ACTIVE, Job
from connectors_mock.oauth import OAuthFlows, consent_path, provider_name
from connectors_mock.scenarios.engine import ScenarioLibrary
from connectors_mock.state import Backend, Tenant
from connectors_mock.tenancy import TenantRoster

MAX_TENANTS_LISTED = 200
MAX_CONNECTORS_SHOWN = 200
# Every running or queued job up to this many, then the latest ended ones.
MAX_ACTIVE_JOBS_SHOWN = 50
RECENT_JOBS_SHOWN = 20


class TenantDirectory:
    """Finds tenants by label, as the journal and snapshots name them."""

    def __init__(self, roster: TenantRoster, backend: Backend, library: ScenarioLibrary, flows: OAuthFlows) -> None:
        self.roster = roster
        self.backend = backend
        self.library = library
        self.flows = flows

    def find(self, label: str) -> Tenant | None:
        """The tenant of a key the fake has seen (as a read would find it), or an imported
        tenant no key has reached yet; None for a label neither."""
        key = self.roster.key_for(label)
        if key is not None:
            return self.backend.peek(key)
        return self.backend.imported_tenant(label)

    def listing(self) -> dict[str, Any]:
        """The tenants seen, most recently first, then the imported ones no key has reached."""
        keys = list(islice(self.roster.most_recent(), MAX_TENANTS_LISTED))
        seen = {tenant_label(key) for key in keys}
        shown = [self._summary(tenant_label(key), self.backend.peek(key)) for key in keys]
        imported = [label for label in self.backend.imported_labels() if label not in seen]
        for label in imported[: MAX_TENANTS_LISTED - len(shown)]:
            tenant = self.backend.imported_tenant(label)
            assert tenant is not None
            shown.append(self._summary(label, tenant))
        return {"tenants": shown, "total": len(self.roster) + len(imported)}

    def _summary(self, label: str, tenant: Tenant) -> dict[str, Any]:
        return {"tenant": label, "connectors": len(tenant.connectors), "scenario": self.library.binding(tenant.key)}

    def view(self, label: str, tenant: Tenant) -> dict[str, Any]:
        """One tenant as the dashboard shows it: its newest connectors, its running and latest
        sync jobs with their progress, and the OAuth flows waiting for the user."""
        now = tenant.clock.now()
        connectors = _newest_connectors(tenant)
        names = {connector.id: connector.name for connector in connectors}
        return {
            "tenant": label,
            "scenario": self.library.binding(tenant.key),
            "now": isoformat(now),
            "connectorCount": len(tenant.connectors),
            "connectors": [connector.to_json() for connector in connectors],
            "jobs": [_job_json(job, now, names.get(job.connector_id)) for job in _jobs_shown(tenant, now)],
            "oauthFlows": [
                {
                    "state": flow.state,
                    "type": flow.connector_type,
                    "provider": provider_name(flow.connector_type),
                    "name": flow.name,
                    "collection": flow.collection,
                    "expiresAt": isoformat(flow.expires_at),
                    "consentUrl": f"{consent_path(flow.connector_type)}?state={flow.state}",
                }
                for flow in self.flows.pending(label)
            ],
        }


def _newest_connectors(tenant: Tenant) -> list[Connector]:
    """The newest `MAX_CONNECTORS_SHOWN`, oldest first, each as a read finds it now (a sync
    that ended since is settled first, as the API's own reads settle it)."""
    # A copy of the references, at C speed: 30,000 take a tenth of a millisecond.
    newest = list(tenant.connectors.values())[-MAX_CONNECTORS_SHOWN:]
    return [tenant.get_connector(c.id) if c.current_job is not None else c for c in newest]


def _jobs_shown(tenant: Tenant, now: datetime) -> list[Job]:
    """The running and queued jobs, then the latest that ended, newest first."""
    active: list[Job] = []
    ended: list[Job] = []
    for job in reversed(tenant.jobs()):
        if job.state(now).status in ACTIVE:
            if len(active) < MAX_ACTIVE_JOBS_SHOWN:
                active.append(job)
        elif len(ended) < RECENT_JOBS_SHOWN:
            ended.append(job)
        if len(active) >= MAX_ACTIVE_JOBS_SHOWN and len(ended) >= RECENT_JOBS_SHOWN:
            break
    return active + ended


def _job_json(job: Job, now: datetime, connector_name: str | None) -> dict[str, Any]:
    """The API's job, with what a progress bar needs: the documents in all (each counter
    runs up to it) and when the job will end (null for one that never does)."""
    never = job.script.stuck_at is not None
    return {
        **job.to_json(now),
        "connectorName": connector_name,
        "total": job.script.total,
        "endsAt": None if never else isoformat(job.finished_at),
    }
