"""Shared az-style parameters and value checks (with az's exact error texts).

Every value arrives as text and is checked here, so the messages are az's, not Click's.
"""

from typing import Annotated, Any

import typer

from vmsscli.cli.azparse import did_you_mean, option_display
from vmsscli.errors import CLIError, UsageError

TRUE_FALSE = ("true", "false")
AAZ_BOOL = ("true", "t", "yes", "y", "1", "false", "f", "no", "n", "0")


def _not_valid(ctx: Any, param: Any, value: str, allowed: tuple[str, ...]) -> UsageError:
    return UsageError(
        f"{ctx.command_path}: '{value}' is not a valid value for '{param.opts[0]}'. "
        f"Allowed values: {', '.join(allowed)}.",
        recommendations=did_you_mean(value, list(allowed)),
    )


def choice(*allowed: str):
    """A value from a fixed set, matched case-insensitively and given back in canonical case."""

    def check(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
        if value is None:
            return None
        for option in allowed:
            if option.lower() == value.lower():
                return option
        raise _not_valid(ctx, param, value, allowed)

    return check


def choices(*allowed: str):
    """Values (an option that takes several) from a fixed set, as `choice` checks one."""
    one = choice(*allowed)

    def check(ctx: typer.Context, param: typer.CallbackParam, values: list[str] | None):
        if not values:
            return values
        return [one(ctx, param, value) for value in values]

    return check


def three_state(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> bool | None:
    """az's three-state flag: absent (None), bare or `true` (True), `false` (False)."""
    if value is None:
        return None
    if value.lower() in TRUE_FALSE:
        return value.lower() == "true"
    raise _not_valid(ctx, param, value, TRUE_FALSE)


def aaz_bool(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> bool:
    """The boolean of az's generated commands (`--no-wait`, `--no-wait false`, `yes`, `0`...)."""
    if value is None:
        return False
    lowered = value.lower()
    if lowered in AAZ_BOOL:
        return lowered in AAZ_BOOL[:5]
    raise _not_valid(ctx, param, value, AAZ_BOOL)


def integer(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(
            f"argument {option_display(param)}: invalid int value: '{value}'"
        ) from None


# --- the resource arguments every command shares -------------------------------------------------

RG_HELP = "Name of resource group."
NAME_HELP = "Scale set name."

ResourceGroup = Annotated[str, typer.Option("--resource-group", "-g", help=RG_HELP)]
Name = Annotated[str, typer.Option("--name", "-n", help=NAME_HELP)]
OptResourceGroup = Annotated[str | None, typer.Option("--resource-group", "-g", help=RG_HELP)]
OptName = Annotated[str | None, typer.Option("--name", "-n", help=NAME_HELP)]
NO_WAIT_HELP = "Do not wait for the long-running operation to finish."
# az's custom commands take --no-wait as a plain flag; its generated ones as a boolean.
NoWaitFlag = Annotated[bool, typer.Option("--no-wait", help=NO_WAIT_HELP)]
NoWaitBool = Annotated[
    str | None,
    typer.Option(
        "--no-wait", help=NO_WAIT_HELP + " Allowed values: false, true.", callback=aaz_bool
    ),
]
Ids = Annotated[
    list[str] | None,
    typer.Option(
        "--ids",
        help="One or more resource IDs (space-delimited). It should be a complete resource "
        "ID containing all information of 'Resource Id' arguments. You should provide either --ids "
        "or other 'Resource Id' arguments.",
    ),
]


# --- --ids ---------------------------------------------------------------------------------------


def parse_resource_id(resource_id: str) -> dict[str, str]:
    """The parts of an ARM id: resource_group, name, and child_name_1 for an instance."""
    parts = resource_id.strip().strip("/").split("/")
    if (
        len(parts) < 8
        or parts[0].lower() != "subscriptions"
        or parts[2].lower() != "resourcegroups"
        or parts[4].lower() != "providers"
    ):
        raise CLIError(f"invalid resource ID: {resource_id}")
    out = {"subscription": parts[1], "resource_group": parts[3], "name": parts[7]}
    if len(parts) >= 10:
        out["child_name_1"] = parts[9]
    return out


def split_ids(ids: list[str]) -> list[str]:
    """`--ids` values may also arrive as one newline-separated string (piped from tsv)."""
    out = []
    for value in ids:
        out += [line.strip() for line in value.splitlines() if line.strip()]
    return out


def targets(
    rg: str | None,
    name: str | None,
    ids: list[str] | None,
    *,
    instance_id: str | None = None,
    need_instance: bool = False,
) -> list[tuple[str, str, str | None]]:
    """(resource group, name, instance id) per target, from names or from `--ids`.

    With `--ids`, the name arguments are ignored (with az's warning); without, both names are
    required, with az's "(--resource-group --name | --ids) are required" message.
    """
    from vmsscli.cli.context import warn

    if ids is not None and not split_ids(ids):
        raise CLIError("(--resource-group --name | --ids) are required: --ids names no resource")
    if ids:
        for flag, given in (
            ("--resource-group", rg),
            ("--name", name),
            ("--instance-id", instance_id),
        ):
            if given is not None:
                warn(f"option '{flag}' will be ignored due to use of '--ids'.")
        out = []
        for resource_id in split_ids(ids):
            parts = parse_resource_id(resource_id)
            child = parts.get("child_name_1")
            if need_instance and child is None:
                raise CLIError(
                    f"Argument --instance-id cannot be derived from ID {resource_id}. Please "
                    "provide a complete resource ID containing all information of 'Resource "
                    "Id' arguments. "
                )
            out.append((parts["resource_group"], parts["name"], child))
        return out
    missing = [
        flag for flag, given in (("--resource-group", rg), ("--name", name)) if given is None
    ]
    if missing:
        raise CLIError(f"({' '.join(missing)} | --ids) are required")
    assert rg is not None and name is not None
    return [(rg, name, instance_id)]


# --- the scale set policies `create` and `update` both set ----------------------------------------

ScaleInPolicy = Annotated[
    list[str] | None,
    typer.Option(
        "--scale-in-policy",
        help="Specify the scale-in policy (space delimited) that decides which virtual "
        "machines are chosen for removal when a Virtual Machine Scale Set is scaled-in. "
        "Allowed values: Default, NewestVM, OldestVM.",
        callback=choices("Default", "OldestVM", "NewestVM"),
    ),
]
RepairsGracePeriod = Annotated[
    str | None,
    typer.Option(
        "--automatic-repairs-grace-period",
        help="The amount of time (in minutes, between 30 and 90) for which automatic "
        "repairs are suspended due to a state change on VM.",
    ),
]
RepairsAction = Annotated[
    str | None,
    typer.Option(
        "--automatic-repairs-action",
        help="Type of repair action that will be used for repairing unhealthy virtual "
        "machines in the scale set. Allowed values: Replace, Restart, Reimage.",
        callback=choice("Replace", "Restart", "Reimage"),
    ),
]
