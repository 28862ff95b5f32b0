"""The contract, loaded once: its operations by `operationId`, and validators (see
`validators.py`) for their parameters, bodies and responses, compiled at start-up.

Schemas are compiled as `{"$ref": "urn:connectors-mock:openapi#/<pointer>"}` against a registry
holding the whole document, so the spec's own `#/components/...` references resolve unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from connectors_mock import resources
from connectors_mock.errors import Location
from connectors_mock.validators import AnyValidator, DiscriminatedValidator, SchemaDocuments, Validator

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


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    requires_auth: bool
    parameter_validators: Mapping[Location, Validator]
    body_required: bool = False
    body_media_types: tuple[str, ...] = ()
    body_validator: AnyValidator | None = None
    response_validators: Mapping[str, AnyValidator] = field(default_factory=dict)


class Spec:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.documents = SchemaDocuments({DOCUMENT_URI: document})
        self.operations: dict[str, Operation] = {}
        for path, item in document["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    operation = self._compile_operation(path, method, item)
                    if operation.operation_id in self.operations:
                        raise SpecMismatch(f"operationId {operation.operation_id!r} is used twice")
                    self.operations[operation.operation_id] = operation
        self.connector_check = self.schema_validator("Connector")
        # By type: where the config a connector has is declared, its validator, and the
        # credentials a create request takes.
        self.config_pointers = self._by_discriminator("Connector", "config")
        self.config_validators = {kind: self._validator(at) for kind, at in self.config_pointers.items()}
        self.credential_validators = {
            kind: self._validator(at)
            for kind, at in self._by_discriminator("CreateConnectorRequest", "credentials").items()
        }
        # A type a connector can have but a create request cannot name is connected by OAuth.
        self.oauth_types = frozenset(self.config_validators) - frozenset(self.credential_validators)

    @classmethod
    def load(cls, path: Path | None = None) -> Spec:
        return cls(read_document(path or resources.spec_path()))

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
            node = _at(self.document, pointer)
        return pointer, node

    def _compile_operation(self, path: str, method: str, item: dict[str, Any]) -> Operation:
        raw = item[method]
        op_pointer = _pointer("paths", path, method)
        if "operationId" not in raw:
            raise SpecMismatch(f"{method.upper()} {path} has no operationId")
        parameters: list[Parameter] = []
        schemas: dict[Location, dict[str, Any]] = {}
        declared = [(_pointer("paths", path, "parameters", i), p) for i, p in enumerate(item.get("parameters", []))]
        declared += [(f"{op_pointer}/parameters/{i}", p) for i, p in enumerate(raw.get("parameters", []))]
        # An operation's parameter replaces the path's of the same name and place (OpenAPI 3.1,
        # "Path Item Object"): the later of the two wins.
        by_place: dict[tuple[str, Location], tuple[str, dict[str, Any]]] = {}
        for declared_at, node in declared:
            pointer, param = self._deref(declared_at, node)
            location: Location = param["in"]
            # Header names are matched case-insensitively, so they are kept lower-cased.
            name = param["name"].lower() if location == "header" else param["name"]
            by_place[(name, location)] = (pointer, param)
        for (name, location), (pointer, param) in by_place.items():
            required = bool(param.get("required", False))
            parameters.append(Parameter(name, location, required))
            # All parameters in one place form one object schema, so one pass reports them all.
            schema = schemas.setdefault(location, {"type": "object", "properties": {}, "required": []})
            schema["properties"][name] = _ref(f"{pointer}/schema")
            if required:
                schema["required"].append(name)
        body: dict[str, Any] = {}
        if "requestBody" in raw:
            pointer, request_body = self._deref(f"{op_pointer}/requestBody", raw["requestBody"])
            media_types = tuple(request_body["content"])
            body = {
                "body_required": bool(request_body.get("required", False)),
                "body_media_types": media_types,
                "body_validator": self._compile(f"{pointer}/content/{_escape(media_types[0])}/schema"),
            }
        responses = {}
        for status, response in raw.get("responses", {}).items():
            pointer, resolved = self._deref(f"{op_pointer}/responses/{status}", response)
            if "application/json" in resolved.get("content", {}):
                responses[status] = self._compile(f"{pointer}/content/application~1json/schema")
        security = raw.get("security", self.document.get("security", []))
        return Operation(
            operation_id=raw["operationId"],
            method=method.upper(),
            path=path,
            parameters=tuple(parameters),
            # An empty requirement (`{}`) in the list makes authentication optional.
            requires_auth=bool(security) and {} not in security,
            parameter_validators={loc: Validator(schema, loc, self.documents) for loc, schema in schemas.items()},
            response_validators=responses,
            **body,
        )

    def _compile(self, pointer: str, location: Location = "body") -> AnyValidator:
        """A validator of the schema at `pointer`, choosing by discriminator where it has one."""
        _, schema = self._deref(pointer, _at(self.document, pointer))
        discriminator = schema.get("discriminator")
        if not discriminator or "mapping" not in discriminator:
            return Validator(_ref(pointer), location, self.documents)
        prop = discriminator["propertyName"]
        mapping = discriminator["mapping"]
        selector = {"type": "object", "required": [prop], "properties": {prop: {"enum": list(mapping)}}}
        return DiscriminatedValidator(
            Validator(selector, location, self.documents),
            prop,
            {value: Validator(_ref(ref.split("#", 1)[1]), location, self.documents) for value, ref in mapping.items()},
        )

    def schema_at(self, pointer: str) -> dict[str, Any]:
        """The schema at `pointer`, its `$ref`s followed."""
        return self._deref(pointer, _at(self.document, pointer))[1]

    def _validator(self, pointer: str) -> Validator:
        return Validator(_ref(pointer), "body", self.documents)

    def _by_discriminator(self, schema_name: str, prop: str) -> dict[str, str]:
        """For each value of a schema's discriminator, where one property of the shape it
        selects is declared."""
        mapping = self.document["components"]["schemas"][schema_name]["discriminator"]["mapping"]
        return {value: self._property_pointer(ref.split("#", 1)[1], prop) for value, ref in mapping.items()}

    def _property_pointer(self, pointer: str, prop: str) -> str:
        """Where a schema declares a property: in its own `properties`, or in a member of its
        `allOf` (a connector's `config` is in the part that adds it to `ConnectorCommon`)."""
        pointer, schema = self._deref(pointer, _at(self.document, pointer))
        if prop in schema.get("properties", {}):
            return f"{pointer}/properties/{_escape(prop)}"
        for index, _ in enumerate(schema.get("allOf", [])):
            try:
                return self._property_pointer(f"{pointer}/allOf/{index}", prop)
            except KeyError:
                continue
        raise KeyError(f"{pointer} declares no property {prop!r}")


def _at(document: Any, pointer: str) -> Any:
    """The value at a JSON pointer (RFC 6901) in the spec as read, its keys in the spec's order
    (error messages list a discriminator's values in that order)."""
    node = document
    for escaped in pointer.split("/")[1:]:
        token = escaped.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _ref(pointer: str) -> dict[str, str]:
    # A URI fragment cannot hold `{id}` as it is (RFC 6901, section 6): percent-encoded.
    return {"$ref": f"{DOCUMENT_URI}#{quote(pointer, safe='/~')}"}


def read_document(path: Path) -> dict[str, Any]:
    """The contract as plain data, before anything is compiled from it."""
    with open(path, encoding="utf-8") as handle:
        # libyaml's loader, where PyYAML was built with it, reads the spec several times faster.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader, in C
        return document


@cache
def default_spec() -> Spec:
    """The packaged contract, loaded once per process."""
    return Spec.load()
