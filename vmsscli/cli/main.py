"""Entry point of the `vmss` console script and `python -m vmsscli`."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from vmsscli import __version__

        sys.stdout.write(f"vmsscli {__version__}\n")
        sys.exit(0)
    if args[:1] == ["az"] and args[1:2] not in (["--help"], ["-h"]):
        # Every argument after `az` is the real az's: none of vmsscli's parsing applies.
        from vmsscli.arm.server import run_az
        from vmsscli.errors import VmssError

        try:
            sys.exit(run_az(args[1:]))
        except VmssError as exc:
            sys.stderr.write(f"ERROR: {exc}\n")
            sys.exit(exc.exit_code)
    # A short-lived process: the cyclic garbage collector only costs time here (it triples
    # the cost of validating a large state).
    import gc

    gc.disable()
    if args[:1] == ["__complete"]:
        # Called by the shell on every <TAB>: answered without building the CLI when it can.
        from vmsscli.completion import main as complete

        complete(args[1:])
        gc.freeze()
        sys.exit(0)
    from typer.main import get_command

    from vmsscli.cli.app import build_app

    group = get_command(build_app(args))
    try:
        group.main(args=args, prog_name="vmss")
    finally:
        # The interpreter's last collection on the way out would walk every object made
        # since start-up (the collector was off): a tenth of a run on a large state, to
        # reclaim memory the process is about to give back. Frozen objects are skipped.
        gc.freeze()
