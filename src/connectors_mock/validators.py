"""Compiled JSON Schemas that report failures the way the API does: one `FieldError` per
failing field, with its JSON path, values shown as JSON, and never a write-only value (a
credential) quoted back.

Each schema is compiled by two libraries. jsonschema-rs (Rust) says whether an instance is
valid in a few microseconds, and every valid request and response stops there. Only an
instance it rejects goes to jsonschema (Python), a hundred times slower, whose errors carry
what the report needs (the failing subschema, `oneOf` branches); its verdict stands. It is
imported and compiled only then: it costs start-up about a third of the time to first 200.
Both check formats with the same functions (for `date`, `date-time` and `email` the ones
jsonschema used before), so they agree on every format by construction, and
`tests/test_validators.py` holds their verdicts equal.

Four keywords of jsonschema's Draft 2020-12 validator are replaced, for reasons a client
would notice:
- `pattern`, to judge as jsonschema-rs does: Python's `$` also matches before a final newline,
  ECMA-262's (the dialect JSON Schema names) does not, so `"my-docs\\n"` would pass `^[a-z-]+$`.
- `uniqueItems`: jsonschema compares unhashable items pairwise; 30,000 objects in one list
  kept the server busy for minutes. Here each item is reduced to a hashable form once.
- `anyOf` and `oneOf`: jsonschema lists every error of every failing branch before it looks
  at the next. Here a branch stops at `MAX_FIELD_ERRORS`, as the whole report does: a list of
  100,000 wrong items costs the first hundred, not seconds and a gigabyte.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from functools import cache, cached_property
from itertools import islice
from typing import TYPE_CHECKING, Any

import jsonschema_rs
from rfc3339_validator import validate_rfc3339

from connectors_mock.errors import MAX_FIELD_ERRORS, FieldError, Location

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator as JsonschemaValidator
    from referencing import Registry

_QUOTE_LIMIT = 60
# Characters that change the direction of the text around them: with controls, what makes a
# name read differently from what it is. The contract's patterns refuse them where a person
# reads the value (`ConnectorName`); a refusal names the one it found.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Every format jsonschema-rs checks; an unknown format is ignored by both.
_FORMATS = (
    "date",
    "date-time",
    "duration",
    "email",
    "hostname",
    "idn-email",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "iri",
    "iri-reference",
    "json-pointer",
    "regex",
    "relative-json-pointer",
    "time",
    "uri",
    "uri-reference",
    "uri-template",
    "uuid",
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _is_date(value: str) -> bool:
    try:
        return bool(_DATE.fullmatch(value)) and bool(date.fromisoformat(value))
    except ValueError:
        return False


def _is_date_time(value: str) -> bool:
    return bool(validate_rfc3339(value.upper()))


def _is_email(value: str) -> bool:
    return "@" in value


# The checks jsonschema made before jsonschema-rs judged first, kept as they were: jsonschema-rs
# 0.60 takes "2-24-01-20" for a date, and its email check refuses addresses clients have used.
# Both engines call these; the other formats are jsonschema-rs's own, in both.
_OWN_FORMATS: dict[str, Callable[[str], bool]] = {
    "date": _is_date,
    "date-time": _is_date_time,
    "email": _is_email,
    "idn-email": _is_email,
}


@cache
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    # Outside a character class an unescaped `$` means end of input, which Python spells `\Z`.
    return re.compile(re.sub(r"(?<!\\)\$(?=\)*$)", r"\\Z", pattern))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _ecma_regex(pattern).search(instance):
        yield _jsonschema().ValidationError(f"{instance!r} does not match {pattern!r}")


def _hashable(value: Any) -> Any:
    """Equal JSON values give equal results: `1` and `1.0` alike, `true` apart from `1`."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return ("list", tuple(_hashable(item) for item in value))
    if isinstance(value, dict):
        return ("dict", frozenset((key, _hashable(item)) for key, item in value.items()))
    return value


def _unique_items(validator: Any, unique: bool, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[Any] = set()
    for item in instance:
        key = _hashable(item)
        if key in seen:
            yield _jsonschema().ValidationError(f"{instance!r} has non-unique elements")
            return
        seen.add(key)


def _first_branch(validator: Any, branches: list[Any], instance: Any) -> tuple[int | None, list[ValidationError]]:
    """The index of the first branch `instance` is valid under (None if none is), and the
    errors of the branches before it, at most `MAX_FIELD_ERRORS` of each."""
    errors: list[ValidationError] = []
    for index, branch in enumerate(branches):
        found = list(islice(validator.descend(instance, branch, schema_path=index), MAX_FIELD_ERRORS))
        if not found:
            return index, errors
        errors += found
    return None, errors


def _any_of(validator: Any, branches: list[Any], instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    valid, errors = _first_branch(validator, branches, instance)
    if valid is None:
        # Not `{instance!r}`: the instance may be a megabyte; the report describes it its own way.
        yield _jsonschema().ValidationError("is not valid under any of the given schemas", context=errors)


def _one_of(validator: Any, branches: list[Any], instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    valid, errors = _first_branch(validator, branches, instance)
    if valid is None:
        yield _jsonschema().ValidationError("is not valid under any of the given schemas", context=errors)
        return
    if any(validator.evolve(schema=branch).is_valid(instance) for branch in branches[valid + 1 :]):
        yield _jsonschema().ValidationError("is valid under more than one of the given schemas")


def _format_check(name: str) -> Callable[[object], bool]:
    check = _OWN_FORMATS.get(name)
    if check is not None:
        return lambda value: not isinstance(value, str) or check(value)
    validator = jsonschema_rs.validator_for({"format": name}, validate_formats=True)
    return lambda value: bool(validator.is_valid(value))


@cache
def _jsonschema() -> Any:
    """The jsonschema package, imported when the first instance fails (see the top)."""
    import jsonschema  # noqa: PLC0415 - on purpose, for start-up time

    return jsonschema


@cache
def _explaining_draft() -> tuple[Any, Any]:
    """jsonschema's Draft 2020-12 with the two keywords above, and its format checker."""
    jsonschema = _jsonschema()
    checker = jsonschema.FormatChecker(())
    for name in _FORMATS:
        checker.checks(name)(_format_check(name))
    draft = jsonschema.validators.extend(
        jsonschema.Draft202012Validator,
        {"pattern": _pattern, "uniqueItems": _unique_items, "anyOf": _any_of, "oneOf": _one_of},
    )
    return draft, checker


class SchemaDocuments:
    """The JSON documents that schemas may `$ref` into, by URI, for both validators."""

    def __init__(self, documents: Mapping[str, Any] | None = None) -> None:
        self._items = list((documents or {}).items())
        self.compiled = jsonschema_rs.Registry(self._items) if self._items else None

    @cached_property
    def referencing(self) -> Registry[Any]:
        """The documents for jsonschema (whose `referencing` comes with it, when it is imported)."""
        _jsonschema()
        import referencing.jsonschema  # noqa: PLC0415 - on purpose, for start-up time

        registry: Registry[Any] = referencing.Registry()
        return registry.with_resources(
            (uri, referencing.jsonschema.DRAFT202012.create_resource(doc)) for uri, doc in self._items
        )


NO_DOCUMENTS = SchemaDocuments()


class Validator:
    """A compiled schema that reports every failure as a `FieldError`."""

    def __init__(
        self, schema: Mapping[str, Any], location: Location = "body", documents: SchemaDocuments = NO_DOCUMENTS
    ) -> None:
        self._schema = dict(schema)
        self._documents = documents
        self.location = location

    @cached_property
    def _fast(self) -> Any:
        # Compiled on first use, once: start-up compiles only what the fixtures are checked
        # with, not the fifty-odd schemas of every operation and response.
        return jsonschema_rs.validator_for(
            self._schema, registry=self._documents.compiled, validate_formats=True, formats=_OWN_FORMATS
        )

    @cached_property
    def _explaining(self) -> JsonschemaValidator:
        draft, checker = _explaining_draft()
        validator: JsonschemaValidator = draft(
            self._schema, registry=self._documents.referencing, format_checker=checker
        )
        return validator

    def is_valid(self, instance: object) -> bool:
        try:
            return bool(self._fast.is_valid(instance))
        except ValueError:
            return False  # not JSON: YAML's dates, integer keys in a fixture

    def errors(self, instance: object) -> list[FieldError]:
        return [] if self.is_valid(instance) else self.full_errors(instance)

    def full_errors(self, instance: object) -> list[FieldError]:
        """The errors jsonschema finds, without asking jsonschema-rs first: at most one more
        than `MAX_FIELD_ERRORS`, so a report can say there are more without finding them all.
        jsonschema finds errors one by one, so the cost is that of the errors reported."""
        found: list[ValidationError] = sorted(
            islice(self._explaining.iter_errors(instance), MAX_FIELD_ERRORS + 1),  # type: ignore[arg-type]
            key=lambda e: list(map(str, e.absolute_path)),
        )
        if any(e.validator != "unevaluatedProperties" for e in found):
            # When a branch of `allOf` fails, its properties count as unevaluated: that report
            # repeats the real failure as noise about every field.
            found = [e for e in found if e.validator != "unevaluatedProperties"]
        return list(islice((error for e in found for error in _field_errors(e, self.location)), MAX_FIELD_ERRORS + 1))


class DiscriminatedValidator:
    """A `oneOf` with a discriminator: check the discriminator, then only the chosen shape,
    so errors name the real field instead of 'not valid under any of the given schemas'."""

    def __init__(self, selector: Validator, prop: str, variants: Mapping[str, Validator]) -> None:
        self.selector = selector
        self._prop = prop
        self.variants = variants
        self.location = selector.location

    def errors(self, instance: object) -> list[FieldError]:
        selected = self.selector.errors(instance)
        if selected:
            return selected
        assert isinstance(instance, dict)
        return self.variants[instance[self._prop]].errors(instance)


AnyValidator = Validator | DiscriminatedValidator


def _field_errors(error: ValidationError, location: Location) -> list[FieldError]:
    """Split errors that name fields in their message (`required`, `additionalProperties`)
    into one error per field, each with that field's own path."""
    if error.validator in ("oneOf", "anyOf") and error.context and _required_sets(error.validator_value) is None:
        # "not valid under any of the given schemas" names no field; the closest branch does,
        # and a branch that only wanted another type (`null`) is not the one the client meant.
        branches = [e for e in error.context if e.validator != "type"] or error.context
        return _field_errors(_jsonschema().exceptions.best_match(branches), location)
    found = _leaf_errors(error, location)
    schema_path = list(error.absolute_schema_path)
    if "dependentSchemas" in schema_path:
        # A rule that holds only because another field was sent: say which, or the failing
        # field seems fine on its own (`sync_mode` is required only with `file_filter`).
        cause = schema_path[max(i for i, key in enumerate(schema_path) if key == "dependentSchemas") + 1]
        found = [FieldError(e.location, e.path, f"{e.message}, because {cause} is sent") for e in found]
    return found


def _required_sets(schemas: object) -> list[list[str]] | None:
    """`[{"required": [a, b]}, {"required": [c]}]` as `[[a, b], [c]]`, or None for other shapes."""
    if not isinstance(schemas, list) or not all(isinstance(s, dict) and set(s) == {"required"} for s in schemas):
        return None
    return [list(s["required"]) for s in schemas]


def _leaf_errors(error: ValidationError, location: Location) -> list[FieldError]:
    parts = list(error.absolute_path)
    instance = error.instance
    here = field_path(location, parts)
    if error.validator == "not" and isinstance(instance, dict) and isinstance(error.validator_value, dict):
        # `not: {anyOf: [{required: [a, b]}]}`: fields that exclude each other.
        sets = _required_sets(error.validator_value.get("anyOf"))
        clash = next((names for names in sets or [] if all(n in instance for n in names)), None)
        if clash:
            return [FieldError(location, here, f"cannot have both {' and '.join(clash)}: give one")]
    if error.validator in ("oneOf", "anyOf") and isinstance(instance, dict):
        # `oneOf: [{required: [a]}, {required: [b]}]`: a choice of fields.
        sets = _required_sets(error.validator_value)
        if sets:
            choices = " or ".join("+".join(names) for names in sets)
            given = [names for names in sets if all(n in instance for n in names)]
            exactly = "exactly one of" if error.validator == "oneOf" else "at least one of"
            found = f"; it has {', '.join('+'.join(g) for g in given)}" if given else ""
            return [FieldError(location, here, f"needs {exactly} {choices}{found}")]
    secret = isinstance(error.schema, dict) and bool(error.schema.get("writeOnly"))
    if error.validator == "required" and isinstance(instance, dict):
        # jsonschema reports each missing property as its own error, named in the message.
        required: list[str] = error.validator_value  # type: ignore[assignment]
        name = next(p for p in required if error.message.startswith(repr(p)))
        message = "is required"
        expected = error.schema.get("properties", {}).get(name, {}) if isinstance(error.schema, dict) else {}
        if "const" in expected:
            message += f" (as {json.dumps(expected['const'], ensure_ascii=False)})"
        return [FieldError(location, field_path(location, [*parts, name]), message)]
    if error.validator == "additionalProperties" and isinstance(instance, dict) and isinstance(error.schema, dict):
        if secret:
            # A secret may have been sent as a key: name no key.
            return [FieldError(location, field_path(location, parts), "has fields that are not allowed (not shown)")]
        known = error.schema.get("properties", {})
        extra = islice((key for key in instance if key not in known), MAX_FIELD_ERRORS + 1)
        return [FieldError(location, field_path(location, [*parts, key]), "is not a known field here") for key in extra]
    return [FieldError(location, field_path(location, parts), _describe(error, secret))]


def _describe(error: ValidationError, secret: bool) -> str:
    """Why a value failed, with the value as JSON (briefly), or not at all when it is secret."""
    rule = error.validator_value
    reasons = {
        # The rule in full, unlike the value: a client needs every allowed choice.
        "type": f"is not of type {json.dumps(rule)}",
        "enum": f"is not one of {json.dumps(rule, ensure_ascii=False)}",
        "const": f"is not {json.dumps(rule, ensure_ascii=False)}",
        "pattern": f"does not match {rule}",
        "format": f"is not a valid {rule}",
        "minLength": f"is shorter than {rule} characters",
        "maxLength": f"is longer than {rule} characters",
        "minimum": f"is less than the minimum of {rule}",
        "maximum": f"is greater than the maximum of {rule}",
        "minItems": f"has fewer than {rule} items",
        "maxItems": f"has more than {rule} items",
        "uniqueItems": "has repeated items",
        "minProperties": f"has fewer than {rule} fields",
        "maxProperties": f"has more than {rule} fields",
    }
    reason = reasons.get(str(error.validator), f"fails the {error.validator!r} rule")
    if error.validator == "pattern" and isinstance(error.instance, str):
        if len(str(rule)) > _QUOTE_LIMIT:
            # A name's pattern spells out every character it refuses: say what was found instead.
            reason = "does not match the field's pattern"
        reason += _unreadable(error.instance)
    return f"the value {reason} (not shown)" if secret else f"{quoted(error.instance)} {reason}"


def _unreadable(text: str) -> str:
    """Why a value that failed its pattern may not read as it is, when it holds a control or
    a direction character: the pattern alone would not tell the client."""
    found = next((c for c in text if c in BIDI_CONTROLS or unicodedata.category(c) == "Cc"), None)
    if found is None:
        return ": it starts or ends with white space" if text != text.strip() else ""
    kind = "a control character" if unicodedata.category(found) == "Cc" else "it changes the direction of text"
    name = unicodedata.name(found, "")
    return f": it has U+{ord(found):04X}{f' {name}' if name else ''} ({kind}, so it would not read as it is)"


# Written as JSON escapes in a quoted value, so a message cannot turn the text around it.
_ESCAPED = {ord(c): f"\\u{ord(c):04x}" for c in [*map(chr, range(0x7F, 0xA0)), *BIDI_CONTROLS]}


def quoted(value: object) -> str:
    """A value as the client wrote it (JSON), cut short: a 1 MB string would drown the reason."""
    if isinstance(value, list | dict) and len(value) > _QUOTE_LIMIT:
        # Not written out whole to be cut: half a million items take a while to write.
        start = value[:_QUOTE_LIMIT] if isinstance(value, list) else dict(islice(value.items(), _QUOTE_LIMIT))
        kind = "items" if isinstance(value, list) else "fields"
        return f"{quoted(start)[:_QUOTE_LIMIT]}... ({len(value)} {kind})"
    text = json.dumps(value, ensure_ascii=False, default=str).translate(_ESCAPED)  # str: a YAML date
    if len(text) > _QUOTE_LIMIT:
        return f"{text[:_QUOTE_LIMIT]}... ({len(text)} characters)"
    return text


def field_path(location: Location, parts: list[str | int]) -> str:
    """A body is addressed by JSON path (`$.config.repos[0]`), a parameter by its name."""
    if location != "body":
        return str(parts[0]) if parts else ""
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.isidentifier():
            path += f".{part}"
        else:
            path += f"[{json.dumps(part, ensure_ascii=False)}]"
    return path
