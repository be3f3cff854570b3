"""Typed errors of the Paperspace API client.

Each carries the API's `message`, `code` and zod `issues` (when the server sent them) and maps to
an exit code through the DeployError family. Messages never contain the API key or a raw body.
"""

from __future__ import annotations

from typing import Any

from paperspace_deploy.errors import DeployError, ExitCode, InputError, Unavailable


class ApiError(DeployError):
    """The API answered with an error the user must act on (exit 1 unless a subclass says)."""

    exit_code = ExitCode.INVALID

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        issues: list[dict[str, Any]] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        self.issues = issues or []


class AuthenticationFailed(ApiError, InputError):
    """401/403: the key is wrong, expired or lacks access. Never retried."""


class NotFound(ApiError):
    """404: unknown route or resource."""


class ValidationFailed(ApiError, InputError):
    """400 `Input validation failed` with zod issues (paths like ["config","image"])."""


class ApiUnavailable(ApiError, Unavailable):
    """Connection errors, 5xx or 429 that outlasted the retries or the deadline."""

    exit_code = ExitCode.UNAVAILABLE


class AmbiguousWrite(ApiUnavailable):
    """A non-idempotent request may have reached the server but we saw no answer.

    Raised instead of retrying; the caller reconciles by reading the resource back.
    """
