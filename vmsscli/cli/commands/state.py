"""`vmss state ...`: the state file itself (vmsscli's own commands; az has no equivalent)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command, new_group


def summary(path: Path, state) -> dict[str, Any]:
    from vmsscli.model import SCHEMA_VERSION
    from vmsscli.store import file_format

    scale_sets = list(state.scale_sets())
    return {
        "activityLogEntries": len(state.activity_log),
        "clockMode": state.clock.mode,
        "format": file_format(path),
        "instances": sum(s.capacity for _, _, s in scale_sets),
        "path": str(path),
        "resourceGroups": len(state.resource_groups),
        "scaleSets": len(scale_sets),
        "schemaVersion": SCHEMA_VERSION,
    }


def register(app: typer.Typer) -> None:
    group = new_group("Inspect, check, reset and convert the state file (vmsscli's own commands).")
    app.add_typer(group, name="state")

    @command(
        group,
        "show",
        examples=[
            ("Show which state file is used and what it holds.", "vmss state show -o table"),
        ],
    )
    def show() -> None:
        """Show the state file's path, format, schema version and counts."""
        store = context.store()
        context.emit(summary(store.path, store.read()))

    @command(
        group,
        "validate",
        examples=[
            ("Check a hand-edited state file.", "vmss state validate my-fleet.toml"),
            ("Check the current state file.", "vmss state validate"),
        ],
    )
    def validate(
        path: Annotated[
            str | None, typer.Argument(help="The file to check; default: the current state file.")
        ] = None,
    ) -> None:
        """Validate a state file: syntax, schema version and every field.

        Exits 0 and prints the file's summary when it is valid; otherwise prints one error line
        naming the file and the field, and exits 1.
        """
        from vmsscli.store import file_format, read_file

        target = Path(path) if path else context.store().path
        file_format(target)
        context.emit(summary(target, read_file(target)))

    @command(
        group,
        "reset",
        examples=[
            ("Go back to the built-in demo fleet.", "vmss state reset"),
            ("Start from a prepared fleet file.", "vmss state reset --from state/demo.toml"),
        ],
    )
    def reset(
        from_file: Annotated[
            str | None,
            typer.Option(
                "--from",
                help="A state file (.json or .toml) to copy; default: the built-in demo fleet.",
            ),
        ] = None,
    ) -> None:
        """Replace the state with the demo fleet, or with a copy of another state file.

        The previous state is kept as <file>.bak.
        """
        from vmsscli.demo import demo_state
        from vmsscli.store import read_file

        new = read_file(Path(from_file)) if from_file else demo_state()
        store = context.store()
        store.replace(new)
        context.emit(summary(store.path, new))

    @command(
        group,
        "convert",
        examples=[
            ("Write a TOML copy of a JSON state file.", "vmss state convert fleet.json fleet.toml"),
        ],
    )
    def convert(
        src: Annotated[str, typer.Argument(help="The state file to read.")],
        dst: Annotated[
            str,
            typer.Argument(
                help="The file to write; its extension (.json or .toml) chooses the format."
            ),
        ],
    ) -> None:
        """Convert a state file between JSON and TOML, without loss."""
        from vmsscli.store import Store, read_file

        state = read_file(Path(src))
        target = Store(Path(dst))
        target.replace(state)
        context.emit(summary(target.path, state))
