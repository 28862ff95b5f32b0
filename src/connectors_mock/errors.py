"""Error codes and the typed errors that become the error envelope (in `responses.py`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

ErrorCode = Literal[
    "unauthorized",
    "token_expired",
    "invalid_token",
    "forbidden",
    "team_access_denied",
    "resource_access_denied",
    "invalid_request",
    "missing_parameter",
    "invalid_parameter",
    "validation_failed",
    "not_found",
    "already_exists",
    "resource_deleted",
    "sync_in_progress",
    "invalid_state",
    "state_expired",
    "state_already_used",
    "state_mismatch",
    "access_denied",
    "invalid_grant",
    "rate_limit_exceeded",
    "quota_exceeded",
    "internal_error",
    "service_unavailable",
    "timeout",
]

Location = Literal["body", "path", "query", "header"]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One failing field: where it is (`$.config.port`, or a parameter's name) and why."""

    location: Location
    path: str
    message: str

    def under(self, prefix: str) -> FieldError:
        """The same error, found in a sub-document (`$.port`), at its place in the whole (`$.config.port`)."""
        return FieldError(self.location, prefix + self.path.removeprefix("$"), self.message)

    def to_json(self) -> dict[str, str]:
        return {"location": self.location, "path": self.path, "message": self.message}


class ApiError(Exception):
    """An error the client caused or must hear about; rendered as the error envelope."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        *,
        field_errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field_errors = tuple(field_errors)
        self.headers = dict(headers or {})
        # Seconds to wait: sent as `Retry-After`, and in the body as `retryAfter` on a 429.
        self.retry_after = retry_after
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f'{what} "{ident}" not found')


# A body of 75,000 unknown keys once made a 5.7 MB answer, and finding 100,000 wrong items
# held the server for seconds: enough to act on is enough. Validators stop one error past it.
MAX_FIELD_ERRORS = 100


def validation_failed(intro: str, field_errors: Sequence[FieldError]) -> ApiError:
    """A 422 whose message names the first failing field and counts the rest (past
    `MAX_FIELD_ERRORS`, the validators stopped looking: "at least")."""
    first = field_errors[0]
    message = f"{intro}: {first.path}: {first.message}"
    if len(field_errors) > MAX_FIELD_ERRORS:
        message += f" (and at least {MAX_FIELD_ERRORS} more; details.errors lists the first {MAX_FIELD_ERRORS})"
    elif len(field_errors) > 1:
        message += f" (and {len(field_errors) - 1} more)"
    return ApiError(422, "validation_failed", message, field_errors=field_errors[:MAX_FIELD_ERRORS])
