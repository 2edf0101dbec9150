"""`vmss state ...`: the state file itself (vmsscli's own commands; az has no equivalent)."""

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
        "activityLogEntries": state.activity_log.count(),
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
        context.report(summary(store.path, store.read()))

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
        context.report(summary(target, read_file(target)))

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
        context.report(summary(store.path, new))

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
        context.report(summary(target.path, state))

    @command(
        group,
        "import",
        examples=[
            (
                "Rehearse against a copy of a production scale set: save what az prints, then "
                "import it.",
                "vmss state import --vmss show.json --instances instances.json "
                "--instance-views views.json",
            ),
            (
                "Import into another resource group and name (the saved files are from "
                "rg-prod/web-vmss).",
                "vmss state import --vmss show.json --instances instances.json -g rg-rehearsal "
                "-n web-copy",
            ),
            (
                "Import from az's output piped in (one of the files may be '-').",
                "vmss state import --vmss - --instances instances.json < show.json",
            ),
        ],
    )
    def import_(
        vmss: Annotated[
            str,
            typer.Option(
                "--vmss",
                help="File with the output of 'az vmss show -g RG -n NAME -o json' "
                "('-': standard input).",
            ),
        ],
        instances: Annotated[
            str,
            typer.Option(
                "--instances",
                help="File with the output of 'az vmss list-instances -g RG -n NAME "
                "[--expand instanceView] -o json'.",
            ),
        ],
        instance_views: Annotated[
            str | None,
            typer.Option(
                "--instance-views",
                help='File with the output of "az vmss get-instance-view -g RG -n NAME '
                "--instance-id '*' -o json\": power states, health, extension statuses.",
            ),
        ] = None,
        resource_group: Annotated[
            str | None,
            typer.Option(
                "--resource-group",
                "-g",
                help="Resource group to import into. Default: the one in the --vmss file.",
            ),
        ] = None,
        name: Annotated[
            str | None,
            typer.Option(
                "--name", "-n", help="Scale set name to import as. Default: the one in --vmss."
            ),
        ] = None,
    ) -> None:
        """Import a real scale set from what az prints, to rehearse against a copy of it.

        Builds the scale set from the outputs of 'az vmss show', 'az vmss list-instances' and,
        optionally, "az vmss get-instance-view --instance-id '*'" (without it every instance
        is running and healthy), and puts it into the state file. A scale set of the same name
        is replaced; other scale sets and resource groups are left unchanged. Prints what was
        imported; whatever could not be imported is listed in 'notImported' and as warnings.
        See docs/import.md.
        """
        import sys

        from vmsscli.errors import CLIError
        from vmsscli.importer import import_scale_set, merge, parse_json

        files = [("--vmss", vmss), ("--instances", instances)]
        if instance_views is not None:
            files.append(("--instance-views", instance_views))
        if sum(1 for _flag, path in files if path == "-") > 1:
            raise CLIError("Only one of --vmss, --instances and --instance-views can be '-'.")
        parsed = []
        for flag, path in files:
            if path == "-":
                raw = sys.stdin.buffer.read()
                what = f"{flag} (standard input)"
            else:
                what = f"{flag} file '{path}'"
                try:
                    raw = Path(path).expanduser().read_bytes()
                except FileNotFoundError:
                    raise CLIError(f"{what} does not exist.") from None
                except IsADirectoryError:
                    raise CLIError(f"{what} is a directory.") from None
                except OSError as exc:
                    raise CLIError(f"Cannot read {what}: {exc.strerror}.") from None
            parsed.append(parse_json(raw, what))
        imported = import_scale_set(*parsed, resource_group=resource_group, name=name)
        with context.write_state((imported.resource_group, imported.name)) as state:
            rg, stored_name, replaced = merge(state, imported)
        if replaced:
            context.warn(
                f"Replaced scale set '{stored_name}' in resource group '{rg}' with the imported "
                "one; the other scale sets and resource groups are unchanged."
            )
        for note in imported.not_imported:
            context.warn(f"Not imported: {note}")
        scale_set = imported.scale_set
        context.report(
            {
                "instanceViews": imported.instance_views,
                "instances": scale_set.capacity,
                "location": scale_set.location,
                "name": stored_name,
                "notImported": imported.not_imported,
                "path": str(context.store().path),
                "replaced": replaced,
                "resourceGroup": rg,
            }
        )
