"""What the guide shows from outside `docs/`, so each stays in one place: the OpenAPI
documents (the control API's as the fake serves it), the scenario schema, the shipped example
scenarios, and ARCHITECTURE.md. MkDocs calls these functions (`hooks:` in mkdocs.yml)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

from connectors_mock import resources
from connectors_mock.control import control_document
from connectors_mock.scenarios.loader import schema_document

ROOT = Path(__file__).resolve().parents[2]
# Where the control API's document is written for the API reference page to render.
SOURCES = ROOT / "build" / "guide-sources"


def on_pre_build(config: Any) -> None:
    SOURCES.mkdir(parents=True, exist_ok=True)
    (SOURCES / "control.openapi.json").write_text(json.dumps(control_document(), indent=2), encoding="utf-8")


def on_files(files: Files, config: Any) -> Files:
    generated = {
        "openapi.yaml": resources.spec_path().read_text(encoding="utf-8"),
        "control.openapi.json": json.dumps(control_document(), indent=2),
        "scenario.schema.json": json.dumps(schema_document(), indent=2),
        "ARCHITECTURE.md": (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8"),
    }
    for name, path in resources.example_scenarios().items():
        generated[f"examples/{name}.yaml"] = path.read_text(encoding="utf-8")
    for uri, content in generated.items():
        files.append(File.generated(config, uri, content=content))
    return files
