"""`--record FILE`: what the upstream answered, as a fixtures file `serve --fixtures FILE` loads.

Every connector an answer showed (created, read, listed, updated) is kept as last shown, by id,
and one that was deleted is dropped; the collections are those the connectors are in. No
credential is ever written: a connector's `credentials` are not part of what a server shows,
and an answer that carried one anyway (a leak the judge reports) is not recorded. The file is
written once, at shutdown, atomically: one file per run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from connectors_mock.connectors import comparable_name
from connectors_mock.contract.checks import Exchange
from connectors_mock.contract.ledger import Ledger, string_leaves
from connectors_mock.proxy.memory import Bounded

# The fields of a fixture's connector (fixtures.FIXTURE_SCHEMA) a server's answer can fill.
FIXTURE_FIELDS = (
    "id",
    "name",
    "type",
    "status",
    "collection",
    "config",
    "createdAt",
    "updatedAt",
    "lastSync",
    "lastError",
)


class Recorder:
    def __init__(self, path: Path, ledger: Ledger, limit: int) -> None:
        self.path = path
        self.ledger = ledger
        self.connectors: Bounded[str, dict[str, Any]] = Bounded(limit)
        self.left_out = 0

    def observe(self, exchange: Exchange, path_params: dict[str, str]) -> None:
        if not 200 <= exchange.status < 300:
            return
        operation, data = exchange.operation_id, exchange.data
        if operation == "deleteConnector" and "id" in path_params:
            self.connectors.pop(path_params["id"], None)
        elif operation == "listConnectors" and isinstance(data, list):
            for item in data:
                self._keep(item)
        elif operation in ("createConnector", "getConnector", "updateConnector", "completeOAuth"):
            self._keep(data)

    def _keep(self, connector: Any) -> None:
        if not isinstance(connector, dict) or not isinstance(connector.get("id"), str):
            return
        if any(value in self.ledger.secrets for value in string_leaves(connector)):
            self.left_out += 1
            return
        kept = {name: connector[name] for name in FIXTURE_FIELDS if name in connector}
        if kept.get("status") not in ("active", "error"):
            # `syncing` needs a running job, which a fixture cannot hold.
            kept["status"] = "error" if kept.get("lastError") else "active"
        self.connectors[connector["id"]] = kept

    def document(self) -> dict[str, Any] | None:
        """The fixtures file's content; None when no connector was seen (a fixtures file needs a
        collection)."""
        connectors = list(self.connectors.values())
        # A fixture's names are unique within a collection, as the API keeps them; the latest wins.
        by_name: dict[tuple[Any, Any], dict[str, Any]] = {}
        for connector in connectors:
            by_name[(connector.get("collection"), comparable_name(str(connector.get("name", ""))))] = connector
        connectors = [
            c for c in connectors if by_name.get((c.get("collection"), comparable_name(str(c.get("name", ""))))) is c
        ]
        collections = sorted({c["collection"] for c in connectors if isinstance(c.get("collection"), str)})
        if not collections:
            return None
        return {"collections": collections, "connectors": connectors}

    def write(self) -> int | None:
        """Write the file; how many connectors it holds, or None when there was nothing to write."""
        document = self.document()
        if document is None:
            return None
        header = "# Recorded by connectors-mock proxy --record: what the upstream answered, without credentials.\n"
        text = header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        directory = self.path.parent if str(self.path.parent) else Path()
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return len(document["connectors"])
