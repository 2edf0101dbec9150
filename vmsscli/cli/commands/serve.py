"""`vmss serve`: the ARM endpoint; `vmss az`: the real az against it (vmsscli's own commands).

`vmss az ARGS...` is answered in `vmsscli.cli.main` before any of vmsscli's argument parsing,
so every argument (`-o`, `--query`, ...) is az's; the command registered here gives it help
and a place in the command list.
"""

import contextlib
from typing import Annotated

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command
from vmsscli.cli.params import integer


def register(app: typer.Typer) -> None:
    @command(
        app,
        "serve",
        examples=[
            ("Serve the default state file on https://localhost:8443/.", "vmss serve"),
            (
                "Serve a scenario's state on another port.",
                "vmss serve --state /tmp/search.json --port 9443",
            ),
        ],
    )
    def serve(
        port: Annotated[
            str,
            typer.Option(
                "--port", help="TCP port (0 picks a free one). Default: 8443.", callback=integer
            ),
        ] = "8443",
        host: Annotated[
            str,
            typer.Option("--host", help="Address to listen on. Default: 127.0.0.1 (loopback)."),
        ] = "127.0.0.1",
        speed: Annotated[
            str,
            typer.Option(
                "--speed",
                help="With a wall clock, how many times faster than their simulated durations "
                "operations started through the endpoint run. Default: 30.",
            ),
        ] = "30",
        advance_on_poll: Annotated[
            bool,
            typer.Option(
                "--advance-on-poll",
                help="With a manual clock, a client polling an operation moves the clock to "
                "the operation's end, as vmss's own commands do when they wait (without it, "
                "only `vmss clock advance` completes operations).",
            ),
        ] = False,
    ) -> None:
        """Serve Azure Resource Manager's REST API for the simulated scale sets, over HTTPS,
        until interrupted.

        The real az (`vmss az ...`), the Azure SDKs and any ARM client drive the same state
        file as the command line, at the same time. Start-up prints the URL and the CA
        certificate clients must trust (created on first use in ~/.vmsscli/endpoint).
        """
        import gc

        from vmsscli.arm.server import serve as run
        from vmsscli.errors import CLIError

        try:
            factor = float(speed)
        except ValueError:
            factor = 0.0
        if not 0 < factor <= 10_000:
            raise CLIError("--speed must be a number between 0 and 10000 (1 is real time).")
        if not 0 <= int(port) <= 65535:  # type: ignore[arg-type]
            raise CLIError("--port must be between 0 and 65535.")
        store = context.store()
        if not store.path.exists():
            context.read_state()  # creates the demo fleet, with the usual note
        # Every other command is a short-lived process that runs with the cyclic garbage
        # collector off; a server runs for hours and must reclaim what its requests leave.
        gc.enable()
        with contextlib.suppress(KeyboardInterrupt):
            run(
                store.path,
                host=host,
                port=int(port),  # type: ignore[arg-type]
                speed=factor,
                advance_on_poll=advance_on_poll,
            )

    @command(
        app,
        "az",
        examples=[
            ("List the scale sets with the real az.", "vmss az vmss list -o table"),
            (
                "Protect an instance through the endpoint.",
                "vmss az vmss update -g rg-web -n web-vmss --instance-id 3 "
                "--protect-from-scale-in true",
            ),
        ],
    )
    def az(
        args: Annotated[
            list[str] | None, typer.Argument(help="The az command line, as you would type it.")
        ] = None,
    ) -> None:
        """Run the real az (the first on PATH, or $VMSSCLI_AZ) against the running endpoint.

        az runs with its own config folder (~/.vmsscli/az), the endpoint's CA, the endpoint
        registered as a cloud and a service-principal login done on first use; your own
        ~/.azure is never touched. Every argument after `az` is az's.
        """
        from vmsscli.arm.server import run_az

        raise typer.Exit(run_az(list(args or [])))
