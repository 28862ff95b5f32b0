"""The contract, loaded once: its operations by `operationId`, and validators (see
`validators.py`) for their parameters, bodies and responses, compiled at start-up.

Schemas are compiled as `{"$ref": "urn:connectors-mock:openapi#/<pointer>"}` against a registry
holding the whole document, so the spec's own `#/components/...` references resolve unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from connectors_mock import resources
from connectors_mock.errors import Location
from connectors_mock.validators import AnyValidator, DiscriminatedValidator, Validator

DOCUMENT_URI = "urn:connectors-mock:openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class SpecMismatch(Exception):
    """The spec and the handlers disagree: start-up must stop."""


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(*tokens: str | int) -> str:
    return "".join("/" + _escape(str(token)) for token in tokens)


@dataclass(frozen=True)
class Parameter:
    name: str
    location: Location
    required: bool


@dataclass
class Operation:
    operation_id: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    requires_auth: bool
    body_required: bool
    body_media_types: tuple[str, ...]
    parameter_validators: dict[Location, Validator] = field(default_factory=dict)
    body_validator: AnyValidator | None = None
    response_validators: dict[str, AnyValidator] = field(default_factory=dict)


class Spec:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
        self._resolver = self.registry.resolver(base_uri=DOCUMENT_URI)
        self._derived = 0
        self.operations: dict[str, Operation] = {}
        for path, item in document["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    operation = self._compile_operation(path, method, item)
                    if operation.operation_id in self.operations:
                        raise SpecMismatch(f"operationId {operation.operation_id!r} is used twice")
                    self.operations[operation.operation_id] = operation
        self.connector_check = self.schema_validator("Connector")
        self.config_validators = self._compile_discriminated("Connector", "config")
        self.credential_validators = self._compile_discriminated("CreateConnectorRequest", "credentials")

    @classmethod
    def load(cls, path: Path | None = None) -> Spec:
        with open(path or resources.spec_path(), encoding="utf-8") as handle:
            # libyaml's loader, where PyYAML was built with it, reads the spec several times faster.
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            return cls(yaml.load(handle, Loader=loader))  # noqa: S506 - a safe loader, in C

    def bind(self, handlers: Mapping[str, Callable[..., Any]]) -> list[tuple[Operation, Callable[..., Any]]]:
        """Pair each operation with its handler; anything unpaired stops start-up."""
        unhandled = sorted(set(self.operations) - set(handlers))
        orphans = sorted(set(handlers) - set(self.operations))
        problems = [f"operation {name!r} in openapi.yaml has no handler" for name in unhandled]
        problems += [f"handler {name!r} has no operation in openapi.yaml" for name in orphans]
        if problems:
            raise SpecMismatch("; ".join(problems))
        return [(operation, handlers[name]) for name, operation in self.operations.items()]

    def schema_validator(self, name: str, location: Location = "body") -> AnyValidator:
        """A validator for one named schema under `components/schemas`."""
        return self._compile(_pointer("components", "schemas", name), location)

    def _deref(self, pointer: str, node: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Follow `$ref`s of a parameter, request body or response object to where it lives."""
        while "$ref" in node:
            ref = node["$ref"]
            pointer = ref.split("#", 1)[1]
            node = self._resolver.lookup(f"{DOCUMENT_URI}{ref}").contents
        return pointer, node

    def _compile_operation(self, path: str, method: str, item: dict[str, Any]) -> Operation:
        raw = item[method]
        op_pointer = _pointer("paths", path, method)
        if "operationId" not in raw:
            raise SpecMismatch(f"{method.upper()} {path} has no operationId")
        parameters: list[Parameter] = []
        schema_pointers: dict[Location, dict[str, str]] = {}
        declared = [(_pointer("paths", path, "parameters", i), p) for i, p in enumerate(item.get("parameters", []))]
        declared += [(f"{op_pointer}/parameters/{i}", p) for i, p in enumerate(raw.get("parameters", []))]
        for declared_at, node in declared:
            pointer, param = self._deref(declared_at, node)
            location: Location = param["in"]
            # Header names are matched case-insensitively, so they are kept lower-cased.
            name = param["name"].lower() if location == "header" else param["name"]
            parameters.append(Parameter(name, location, bool(param.get("required", False))))
            schema_pointers.setdefault(location, {})[name] = f"{pointer}/schema"
        security = raw.get("security", self.document.get("security", []))
        body_required, media_types, body_pointer = False, tuple[str, ...](), None
        if "requestBody" in raw:
            pointer, body = self._deref(f"{op_pointer}/requestBody", raw["requestBody"])
            body_required = bool(body.get("required", False))
            media_types = tuple(body["content"])
            body_pointer = f"{pointer}/content/{_escape(media_types[0])}/schema"
        operation = Operation(
            operation_id=raw["operationId"],
            method=method.upper(),
            path=path,
            parameters=tuple(parameters),
            # An empty requirement (`{}`) in the list makes authentication optional.
            requires_auth=bool(security) and {} not in security,
            body_required=body_required,
            body_media_types=media_types,
        )
        for location, pointers in schema_pointers.items():
            operation.parameter_validators[location] = self._parameters_validator(location, pointers, parameters)
        if body_pointer is not None:
            operation.body_validator = self._compile(body_pointer)
        for status, response in raw.get("responses", {}).items():
            pointer, resolved = self._deref(f"{op_pointer}/responses/{status}", response)
            if "application/json" in resolved.get("content", {}):
                operation.response_validators[status] = self._compile(f"{pointer}/content/application~1json/schema")
        return operation

    def _parameters_validator(
        self, location: Location, pointers: Mapping[str, str], parameters: Iterable[Parameter]
    ) -> Validator:
        """One object schema for all parameters in one place, so a single pass reports all."""
        schema = {
            "type": "object",
            "properties": {name: {"$ref": f"{DOCUMENT_URI}#{ptr}"} for name, ptr in pointers.items()},
            "required": [p.name for p in parameters if p.location == location and p.required],
        }
        return self._register(schema, location)

    def _compile(self, pointer: str, location: Location = "body") -> AnyValidator:
        """A validator of the schema at `pointer`, choosing by discriminator where it has one."""
        _, schema = self._deref(pointer, self._resolver.lookup(f"{DOCUMENT_URI}#{pointer}").contents)
        discriminator = schema.get("discriminator")
        if not discriminator or "mapping" not in discriminator:
            return self._at(pointer, location)
        prop = discriminator["propertyName"]
        selector = self._register(
            {"type": "object", "required": [prop], "properties": {prop: {"enum": list(discriminator["mapping"])}}},
            location,
        )
        variants = {value: self._at(ref.split("#", 1)[1], location) for value, ref in discriminator["mapping"].items()}
        return DiscriminatedValidator(selector, prop, variants)

    def _at(self, pointer: str, location: Location = "body") -> Validator:
        """A validator of the schema at `pointer` in the document."""
        return Validator(self.registry, f"{DOCUMENT_URI}#{pointer}", location)

    def _register(self, schema: dict[str, Any], location: Location = "body") -> Validator:
        """Compile a schema made here (not in the document) against the same registry."""
        self._derived += 1
        uri = f"urn:connectors-mock:derived/{self._derived}"
        self.registry = self.registry.with_resource(uri, DRAFT202012.create_resource(schema))
        return Validator(self.registry, uri, location)

    def _compile_discriminated(self, schema_name: str, prop: str) -> dict[str, Validator]:
        """For each type value of a discriminated schema, a validator of one of its properties
        (the `config` of a Connector, the `credentials` of a create request)."""
        mapping = self.document["components"]["schemas"][schema_name]["discriminator"]["mapping"]
        validators = {}
        for value, ref in mapping.items():
            variant = self._resolver.lookup(f"{DOCUMENT_URI}{ref}").contents
            target = variant["properties"][prop]["$ref"]
            validators[value] = self._at(target.split("#", 1)[1])
        return validators


@cache
def default_spec() -> Spec:
    """The packaged contract, loaded once per process."""
    return Spec.load()
