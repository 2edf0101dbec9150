"""`az vmss wait`: poll a scale set (or one instance) until a condition holds, as az 2.91 does.

az's loop (`WaitCommandOperation.wait` in azure-cli-core) is kept step for step, because scripts
depend on its quirks:
- it polls `range(0, timeout, interval)` times and sleeps `interval` after every poll;
- a resource that is not there (404) ends `--deleted`, is "not yet" for `--created`, `--exists`
  and `--custom`, and is the error for `--updated`;
- a provisioning state of Failed stops with "The operation failed";
- `--custom` is a JMESPath expression over the resource as `show` prints it; a bad expression
  is reported only once a resource is there to test it against, and az words it as a --query
  error;
- on time-out az *returns* its "Wait operation timed-out" error instead of raising it, so it
  prints `{}` and exits 0. So does this.

Each poll reads the state afresh, so operations due by then (wall clock) have completed; with a
manual clock nothing moves unless another process moves the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vmsscli.errors import CLIError, ServiceError

USAGE = "incorrect usage: --created | --updated | --deleted | --exists | --custom JMESPATH"


@dataclass(frozen=True)
class Condition:
    created: bool = False
    updated: bool = False
    deleted: bool = False
    exists: bool = False
    custom: str | None = None

    def check(self) -> None:
        if not (self.created or self.updated or self.deleted or self.exists or self.custom):
            raise CLIError(USAGE)


def wait(
    get: Callable[[], dict[str, Any]],
    condition: Condition,
    *,
    timeout: int,
    interval: int,
    sleep: Callable[[float], None],
) -> dict[str, Any] | None:
    """None when the condition was met; `{}` (az's returned time-out error) when it was not
    within `timeout` seconds."""
    condition.check()
    if interval <= 0:
        # az itself fails here with a Python traceback (range() with a zero step).
        raise CLIError("--interval must be a positive number of seconds.")
    for _ in range(0, timeout, interval):
        try:
            resource = get()
            if condition.exists:
                return None
            state = str(resource.get("provisioningState") or "").lower()
            if state == "failed":
                raise CLIError("The operation failed")
            if (condition.created or condition.updated) and state == "succeeded":
                return None
            if condition.custom and _holds(condition.custom, resource):
                return None
        except ServiceError as exc:
            if exc.status != 404:
                raise
            if condition.deleted:
                return None
            if not (condition.created or condition.exists or condition.custom):
                raise
        sleep(interval)
    return {}


def _holds(expression: str, resource: dict[str, Any]) -> bool:
    import jmespath
    from jmespath.exceptions import JMESPathError

    from vmsscli.output import query_error

    try:
        return bool(jmespath.search(expression, resource))
    except JMESPathError as exc:
        raise query_error(exc) from None
