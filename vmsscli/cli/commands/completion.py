"""`vmss completion SHELL`: print the shell completion script (vmsscli's own command)."""

from typing import Annotated

import typer

from vmsscli.cli.app import command
from vmsscli.cli.params import choice
from vmsscli.completion import SHELLS


def register(app: typer.Typer) -> None:
    @command(
        app,
        "completion",
        examples=[
            (
                "Enable completion in the current bash session.",
                "vmss completion bash > /tmp/vmss.bash && source /tmp/vmss.bash",
            ),
            ("Install zsh completion.", "vmss completion zsh > ~/.zfunc/_vmss"),
        ],
    )
    def completion(
        shell: Annotated[
            str, typer.Argument(help="bash, zsh, fish or powershell.", callback=choice(*SHELLS))
        ],
    ) -> None:
        """Print the tab-completion script for a shell (vmsscli's own command).

        Commands, flags, resource groups, scale sets in the typed group, instance ids of the
        typed scale set (with power state and health) and run-command ids complete from the
        state file named on the line (--state, VMSSCLI_STATE=...) or the default one.
        """
        import sys

        from vmsscli.completion import SCRIPTS

        sys.stdout.write(SCRIPTS[shell])
