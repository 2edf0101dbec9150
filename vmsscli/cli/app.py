"""Building the Typer application: only the command modules a command line needs are imported.

Each module under `vmsscli.cli.commands` registers its commands with `register(app)`. The top
level names map to the module that defines them, so `vmss list-instances` imports one module
and `vmss --help` (or a misspelled name) imports them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import typer

from vmsscli.cli.azparse import AzCommand, AzGroup

# Top-level name -> module defining it.
MODULES: dict[str, str] = {
    "create": "vmsscli.cli.commands.vmss",
    "delete": "vmsscli.cli.commands.vmss",
    "list": "vmsscli.cli.commands.vmss",
    "show": "vmsscli.cli.commands.vmss",
    "wait": "vmsscli.cli.commands.vmss",
    "list-instance-connection-info": "vmsscli.cli.commands.vmss",
    "list-instance-public-ips": "vmsscli.cli.commands.vmss",
    "list-instances": "vmsscli.cli.commands.vmss",
    "get-instance-view": "vmsscli.cli.commands.vmss",
    "triage": "vmsscli.cli.commands.vmss",
    "start": "vmsscli.cli.commands.actions",
    "stop": "vmsscli.cli.commands.actions",
    "restart": "vmsscli.cli.commands.actions",
    "deallocate": "vmsscli.cli.commands.actions",
    "reimage": "vmsscli.cli.commands.actions",
    "delete-instances": "vmsscli.cli.commands.actions",
    "update-instances": "vmsscli.cli.commands.actions",
    "scale": "vmsscli.cli.commands.actions",
    "update": "vmsscli.cli.commands.update",
    "rolling-upgrade": "vmsscli.cli.commands.rolling_upgrade",
    "activity-log": "vmsscli.cli.commands.activity_log",
    "monitor": "vmsscli.cli.commands.monitor",
    "set-orchestration-service-state": "vmsscli.cli.commands.repairs",
    "clock": "vmsscli.cli.commands.clock",
    "state": "vmsscli.cli.commands.state",
    "completion": "vmsscli.cli.commands.completion",
    "run-command": "vmsscli.cli.commands.run_command",
    "nic": "vmsscli.cli.commands.nic",
    "extension": "vmsscli.cli.commands.extension",
    "get-os-upgrade-history": "vmsscli.cli.commands.upgrade_history",
    "list-skus": "vmsscli.cli.commands.maintenance",
    "perform-maintenance": "vmsscli.cli.commands.maintenance",
    "simulate-eviction": "vmsscli.cli.commands.maintenance",
    "fault": "vmsscli.cli.commands.fault",
    "scenario": "vmsscli.cli.commands.scenario",
    "exercise": "vmsscli.cli.commands.scenario",
    "rehearse": "vmsscli.cli.commands.rehearse",
    "serve": "vmsscli.cli.commands.serve",
    "az": "vmsscli.cli.commands.serve",
}

ROOT_HELP = (
    "Manage groups of VMs in a simulated virtual machine scale set: a local, offline "
    "twin of `az vmss`."
)


def new_group(help_text: str) -> typer.Typer:
    return typer.Typer(
        cls=AzGroup,
        help=help_text,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )


def command(
    app: typer.Typer,
    name: str,
    *,
    examples: list[tuple[str, str]],
    optional_value: tuple[str, ...] = (),
    missing: str = "argparse",
    what_if: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an az-style command: its examples feed `--help` and usage errors.

    When the command line names one top-level command, the others of its module are not
    registered at all: Typer builds every registered command's parameters on each run.
    """
    if _only is not None and app is _only[0] and name != _only[1]:
        return lambda function: function
    cls = type(
        f"AzCommand_{name.replace('-', '_')}",
        (AzCommand,),
        {
            "examples": examples,
            "optional_value": frozenset(optional_value),
            "missing_style": missing,
            "what_if": what_if,
        },
    )
    return app.command(name, cls=cls, context_settings={"help_option_names": []})


_only: tuple[typer.Typer, str] | None = None
GROUPS = (
    "nic",
    "extension",
    "state",
    "clock",
    "activity-log",
    "monitor",
    "run-command",
    "rolling-upgrade",
    "fault",
    "scenario",
    "exercise",
)


def build_app(argv: list[str] | None = None) -> typer.Typer:
    global _only
    app = new_group(ROOT_HELP)

    @app.callback()
    def _root() -> None:
        """Manage groups of VMs in a simulated virtual machine scale set."""

    first = next((a for a in (argv or []) if not a.startswith("-")), None)
    if argv is not None and first in MODULES:
        modules = [MODULES[first]]
        if first not in GROUPS:
            _only = (app, first)
    else:
        modules = list(dict.fromkeys(MODULES.values()))
    try:
        for module in modules:
            importlib.import_module(module).register(app)
    finally:
        _only = None
    return app
