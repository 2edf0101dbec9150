"""Typed errors shared by every layer; the CLI turns them into az-style stderr text and exit codes.

The domain raises these and never prints: how an error looks (`ERROR: (Code) message`, the
`Code:`/`Message:`/`Target:` lines) and which exit code it maps to is decided here, once.
"""

from __future__ import annotations


class VmssError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code = 1
    # Lines printed after the error without a prefix (hints, reference links), as az does.
    recommendations: list[str] = []

    def lines(self) -> list[str]:
        """The text as az prints it, without the `ERROR: ` prefix of the first line."""
        return [str(self)]


class CLIError(VmssError):
    """A client-side validation error (az's CLIError): one line, exit 1."""

    def __init__(self, message: str, *, recommendations: list[str] | None = None) -> None:
        super().__init__(message)
        self.recommendations = recommendations or []


class StateFileError(CLIError):
    """The state file cannot be read, parsed, validated, locked or written; always one line,
    whatever the file holds."""

    def __init__(self, message: str, *, recommendations: list[str] | None = None) -> None:
        one_line = message.replace("\r", "\\r").replace("\n", "\\n")
        super().__init__(one_line, recommendations=recommendations)


class UsageError(VmssError):
    """An argparse-level error: exit 2, optionally followed by the command's examples."""

    exit_code = 2

    def __init__(
        self, message: str, *, recommendations: list[str] | None = None, examples: bool = True
    ) -> None:
        super().__init__(message)
        self.recommendations = recommendations or []
        self.examples = examples
        # (examples, typed flags) of the command being parsed, filled in by the parser.
        self.example_source: tuple[list[tuple[str, str]], list[str]] | None = None


class ServiceError(VmssError):
    """An error the Azure service would return, printed in azure-core's ODataV4 form."""

    def __init__(
        self, code: str, message: str, *, target: str | None = None, status: int = 400
    ) -> None:
        super().__init__(f"({code}) {message}")
        self.code = code
        self.message = message
        self.target = target
        self.status = status

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return 3 if self.status == 404 else 1

    def lines(self) -> list[str]:
        out = [f"({self.code}) {self.message}", f"Code: {self.code}", f"Message: {self.message}"]
        if self.target:
            out.append(f"Target: {self.target}")
        return out


def resource_not_found(resource_type: str, name: str, resource_group: str) -> ServiceError:
    return ServiceError(
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not "
        "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        status=404,
    )


def resource_group_not_found(resource_group: str) -> ServiceError:
    return ServiceError(
        "ResourceGroupNotFound",
        f"Resource group '{resource_group}' could not be found.",
        status=404,
    )


def invalid_instance_id(instance_id: str) -> ServiceError:
    """Azure's HTTP 400 for an id that is not an active instance, or not an id at all."""
    if instance_id.isdigit():
        message = (
            f"The provided instanceId {instance_id} is not an active Virtual Machine "
            "Scale Set VM instanceId."
        )
    else:
        message = (
            f"The provided instanceId {instance_id} is invalid. It must be a "
            'non-negative integer or the character "*".'
        )
    return ServiceError("InvalidParameter", message, target="instanceIds")
