"""Compiled JSON Schemas that report failures the way the API does: one `FieldError` per
failing field, with its JSON path, and never quoting a write-only value (a credential)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry

from connectors_mock.errors import FieldError, Location

_QUOTE_LIMIT = 60


class Validator:
    """A compiled schema that reports every failure as a `FieldError`."""

    def __init__(self, registry: Registry[Any], ref: str, location: Location) -> None:
        self._validator = Draft202012Validator(
            {"$ref": ref}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        self.location = location

    def errors(self, instance: object) -> list[FieldError]:
        found = sorted(self._validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
        if any(e.validator != "unevaluatedProperties" for e in found):
            # When a branch of `allOf` fails, its properties count as unevaluated: that report
            # repeats the real failure as noise about every field.
            found = [e for e in found if e.validator != "unevaluatedProperties"]
        return [error for e in found for error in _field_errors(e, self.location)]


class DiscriminatedValidator:
    """A `oneOf` with a discriminator: check the discriminator, then only the chosen shape,
    so errors name the real field instead of 'not valid under any of the given schemas'."""

    def __init__(self, selector: Validator, prop: str, variants: Mapping[str, Validator]) -> None:
        self._selector = selector
        self._prop = prop
        self._variants = variants
        self.location = selector.location

    def errors(self, instance: object) -> list[FieldError]:
        selected = self._selector.errors(instance)
        if selected:
            return selected
        assert isinstance(instance, dict)
        return self._variants[instance[self._prop]].errors(instance)


AnyValidator = Validator | DiscriminatedValidator


def _field_errors(error: ValidationError, location: Location) -> list[FieldError]:
    """Split errors that name fields in their message (`required`, `additionalProperties`)
    into one error per field, each with that field's own path."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        # "not valid under any of the given schemas" names no field; the closest branch does,
        # and a branch that only wanted another type (`null`) is not the one the client meant.
        branches = [e for e in error.context if e.validator != "type"] or error.context
        return _field_errors(best_match(branches), location)
    parts = list(error.absolute_path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        # jsonschema reports each missing property as its own error, named in the message.
        required: list[str] = error.validator_value  # type: ignore[assignment]
        name = next(p for p in required if error.message.startswith(repr(p)))
        return [FieldError(location, _path(location, [*parts, name]), "is required")]
    if error.validator == "additionalProperties" and isinstance(error.schema, dict) and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        extra = [key for key in instance if key not in known]
        return [FieldError(location, _path(location, [*parts, key]), "is not a known field here") for key in extra]
    if isinstance(error.schema, dict) and error.schema.get("writeOnly"):
        return [FieldError(location, _path(location, parts), _without_value(error))]
    return [FieldError(location, _path(location, parts), _shorten(error.message, instance))]


def _without_value(error: ValidationError) -> str:
    """jsonschema's message quotes the value; a write-only value (a credential) must not be
    sent back, not even in an error."""
    rule = error.validator_value
    reasons = {
        "type": f"must be of type {rule!r}",
        "pattern": f"must match {rule!r}",
        "minLength": f"must be at least {rule} characters long",
        "maxLength": f"must be at most {rule} characters long",
        "format": f"must be a valid {rule}",
    }
    return reasons.get(str(error.validator), f"fails the {error.validator!r} rule") + " (the value is not shown)"


def _path(location: Location, parts: list[str | int]) -> str:
    """A JSON path into a body (`$.config.repos[0]`); a parameter goes by its own name."""
    if location != "body":
        return str(parts[0]) if parts else ""
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.isidentifier():
            path += f".{part}"
        else:
            path += f"[{part!r}]"
    return path


def _shorten(message: str, instance: object) -> str:
    """jsonschema quotes the offending value in full; a 1 MB string would drown the reason."""
    quoted = repr(instance)
    if len(quoted) > _QUOTE_LIMIT:
        message = message.replace(quoted, quoted[:_QUOTE_LIMIT] + f"... ({len(quoted)} characters)")
    return message
