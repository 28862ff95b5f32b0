"""Hypothesis strategies for the property tests: valid requests whose every value the test
can recognise again (names under the run's prefix, credentials unique to one example)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import strategies as st

# A valid config and credentials per type created with credentials; `{secret}` is replaced by
# a value no other example uses, so finding it in a response can only be a leak.
CREDENTIAL_TYPES: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "s3": (
        {"bucket": "contract-suite-docs", "region": "us-east-1", "prefix": "/documents/"},
        {"accessKeyId": "AKIA{secret}", "secretAccessKey": "{secret}"},
    ),
    "confluence": (
        {"instanceUrl": "https://contract-suite.atlassian.net/wiki", "spaceKeys": ["ENG"]},
        {"email": "contract-suite@example.com", "apiToken": "{secret}"},
    ),
    "github": ({"repos": ["acme/handbook"], "branch": "main"}, {"token": "ghp_{secret}"}),
    "slack": ({"channels": ["#general"]}, {"botToken": "xoxb-{secret}"}),
    "salesforce": ({"objects": ["Account", "Case"]}, {"username": "suite@example.com", "password": "{secret}"}),
    "postgresql": ({"host": "db.example.com", "database": "docs"}, {"username": "suite", "password": "{secret}"}),
}
NON_OAUTH_TYPES = tuple(CREDENTIAL_TYPES)
OAUTH_TYPES = ("google_drive", "notion")

_secret_serial = itertools.count()
_name_serial = itertools.count()

# The characters that change the direction of text, which the name's schema refuses with the
# controls (openapi.yaml, `ConnectorName`).
DIRECTION_CHARACTERS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# One line of any script, without leading or trailing white space (the name's schema).
name_text = (
    st.text(
        st.characters(exclude_categories=["Cc", "Cs", "Zl", "Zp"], exclude_characters=DIRECTION_CHARACTERS),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


def names(prefix: str) -> st.SearchStrategy[str]:
    return name_text.map(lambda text: prefix + text)


@st.composite
def secrets(draw: st.DrawFn) -> str:
    """A credential value that appears nowhere else: a serial number and random letters."""
    letters = draw(st.text("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=12, max_size=12))
    return f"S{next(_secret_serial):04d}{letters}"


@st.composite
def create_bodies(draw: st.DrawFn, prefix: str, collection: str) -> dict[str, Any]:
    connector_type = draw(st.sampled_from(NON_OAUTH_TYPES))
    config, credentials = CREDENTIAL_TYPES[connector_type]
    secret = draw(secrets())
    return {
        # Unique in the run, so no example runs into the name an earlier one took.
        "name": f"{draw(names(prefix))} {next(_name_serial)}",
        "type": connector_type,
        "collection": collection,
        "config": dict(config),
        "credentials": {key: value.format(secret=secret) for key, value in credentials.items()},
    }


def s3_body(prefix: str, collection: str, name: str = "connector") -> dict[str, Any]:
    """A valid s3 connector, its name unique in the run (a name may be taken only once)."""
    config, credentials = CREDENTIAL_TYPES["s3"]
    return {
        "name": f"{prefix}{name} {next(_name_serial)}",
        "type": "s3",
        "collection": collection,
        "config": dict(config),
        "credentials": {key: value.format(secret="S3SECRETVALUE") for key, value in credentials.items()},  # noqa: S106
    }


# Changes to an s3 connector: a new name, and `prefix` or `endpoint` set or (None) removed.
# Any character UTF-8 can carry: all but the surrogates (Cs), said so rather than with
# `codec="utf-8"`, which makes hypothesis test every code point first (a second per process).
s3_config_changes = st.fixed_dictionaries(
    {},
    optional={
        "prefix": st.none() | st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
        "endpoint": st.none() | st.sampled_from(["https://minio.example.com", "https://r2.example.com/bucket"]),
    },
)
