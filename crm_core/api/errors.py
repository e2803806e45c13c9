"""Errors in Salesforce's REST shape: an HTTP status and a JSON list of ``{message, errorCode}``."""

from __future__ import annotations

RESOURCE_MISSING = "The requested resource does not exist"


class ApiError(Exception):
    """An error answered as Salesforce answers it: `status` and ``[{"message", "errorCode"}]``."""

    def __init__(self, status: int, error_code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.headers = headers or {}

    def body(self) -> list[dict[str, object]]:
        return [{"message": self.message, "errorCode": self.error_code}]


def not_found(message: str = RESOURCE_MISSING) -> ApiError:
    """404 ``NOT_FOUND``: an unknown object, record, path or version."""
    return ApiError(404, "NOT_FOUND", message)


def invalid_session() -> ApiError:
    """401 ``INVALID_SESSION_ID``: a missing, wrong, expired or revoked token."""
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def read_only(message: str = "insufficient access rights on object id") -> ApiError:
    """What a user without create/edit/delete permission gets for a write."""
    return ApiError(403, "INSUFFICIENT_ACCESS_OR_READONLY", message)
