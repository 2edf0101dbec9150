"""ARM's error responses: `{"error": {"code", "message", "target"?, "details": [...]}}` with
the status Azure gives, from the same typed errors the command line prints."""

from __future__ import annotations

from typing import Any


class ArmError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        error["details"] = []
        return {"error": error}


def from_domain(exc: Exception) -> ArmError:
    """A domain or store error as the service would answer it."""
    from vmsscli.errors import CLIError, ServiceError, StateFileError

    if isinstance(exc, ServiceError):
        return ArmError(exc.status, exc.code, exc.message, target=exc.target)
    if isinstance(exc, StateFileError):
        # The twin's own store is unusable (locked by a long change, or edited into an invalid
        # file): the request conflicts with the resource's current state.
        return ArmError(409, "Conflict", str(exc))
    if isinstance(exc, CLIError):
        return ArmError(400, "BadRequest", str(exc))
    raise exc


def not_found(message: str, code: str = "NotFound") -> ArmError:
    return ArmError(404, code, message)


def bad_request(message: str, code: str = "InvalidRequestContent", target: str | None = None):
    return ArmError(400, code, message, target=target)
