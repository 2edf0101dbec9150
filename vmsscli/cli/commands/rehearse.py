"""`vmss rehearse RUNBOOK.sh`: run a runbook against a throwaway copy of the state, with an `az`
that only knows `az vmss`, and report what it did (vmsscli's own command)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command
from vmsscli.cli.params import integer

SHIM = """#!/bin/sh
exec "{python}" -m vmsscli.cli.rehearsal_shim {program} "$@"
"""


def _write_shims(folder: Path) -> None:
    folder.mkdir()
    for program in ("az", "vmss"):
        shim = folder / program
        shim.write_text(SHIM.format(python=sys.executable, program=program))
        shim.chmod(0o755)


def _run(
    runbook: Path, shell: str, state_path: Path, work: Path, extra: dict[str, str] | None = None
) -> tuple[int, list[dict]]:
    import json
    import os
    import subprocess

    from vmsscli.cli.rehearsal_shim import JOURNAL

    journal = work / "journal.jsonl"
    journal.touch()
    env = dict(os.environ)
    env["PATH"] = f"{work / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VMSSCLI_STATE"] = str(state_path)
    env[JOURNAL] = str(journal)
    env.pop("VMSSCLI_OUTPUT", None)
    env.update(extra or {})
    # The runbook's own output goes to stderr: stdout is the report's.
    done = subprocess.run(
        [shell, str(runbook)], env=env, stdout=sys.stderr, stderr=sys.stderr, check=False
    )
    steps = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return done.returncode, steps


def _run_with_real_az(
    runbook: Path, shell: str, state_path: Path, work: Path
) -> tuple[int, list[dict]]:
    """The runbook's `az` is the real az, driving a throwaway endpoint on the copy; az's
    config folder and the endpoint's certificates live in the rehearsal's folder."""
    from vmsscli.arm.server import az_executable, launch
    from vmsscli.cli.rehearsal_shim import REAL_AZ

    az = az_executable()  # before the shims come first on PATH
    home = work / "vmsscli-home"
    launched = launch(state_path, home, advance_on_poll=True)
    try:
        return _run(
            runbook,
            shell,
            state_path,
            work,
            {REAL_AZ: "1", "VMSSCLI_AZ": az, "VMSSCLI_HOME": str(home)},
        )
    finally:
        launched.stop()


def register(app: typer.Typer) -> None:
    @command(
        app,
        "rehearse",
        examples=[
            (
                "Rehearse a runbook against a scenario.",
                "vmss rehearse runbooks/fix-18.sh --scenario search-bad-backend",
            ),
            (
                "Rehearse against a copy of a state file and keep the result.",
                "vmss rehearse runbook.sh --state prod-copy.json --keep after.json",
            ),
            ("The report as JSON.", "vmss rehearse runbook.sh -o json"),
        ],
    )
    def rehearse(
        runbook: Annotated[str, typer.Argument(help="The shell script to rehearse.")],
        scenario: Annotated[
            str | None,
            typer.Option("--scenario", help="Start from this scenario instead of the state file."),
        ] = None,
        keep: Annotated[
            str | None,
            typer.Option("--keep", help="Write the resulting state to this file (.json/.toml)."),
        ] = None,
        threshold: Annotated[
            str | None,
            typer.Option(
                "--threshold",
                help="Warn when serving capacity falls below this percentage. Default: 80.",
                callback=integer,
            ),
        ] = None,
        shell: Annotated[
            str, typer.Option("--shell", help="The shell that runs the runbook.")
        ] = "bash",
        real_az: Annotated[
            bool,
            typer.Option(
                "--real-az",
                help="Run the runbook's az lines with the real az (first on PATH, or "
                "$VMSSCLI_AZ) against a throwaway endpoint (vmss serve) on the copy.",
            ),
        ] = False,
    ) -> None:
        """Run a shell runbook against a throwaway copy of the state and report what it did.

        `az` on the runbook's PATH runs `az vmss ...` with vmss and refuses every other az
        command, so nothing can reach a real subscription. The report lists each command, its
        exit code, the instances it touched or skipped, the state changes per instance, and
        warnings for the field manual's common mistakes: whole-fleet or wildcard actions,
        acting on protected or stateful instances, serving capacity below the threshold. The
        state file itself is never changed (use --keep to save the result elsewhere). Exits
        with the runbook's exit code.
        """
        import shutil
        import tempfile

        from vmsscli.domain.rehearsal import report as build_report
        from vmsscli.domain.rehearsal import snapshot
        from vmsscli.errors import CLIError
        from vmsscli.store import Store, file_format

        script = Path(runbook)
        if not script.is_file():
            raise CLIError(f"Runbook '{runbook}' does not exist or is not a file.")
        if shutil.which(shell) is None:
            raise CLIError(f"The shell '{shell}' was not found on PATH.")
        limit = 80 if threshold is None else threshold
        if not 0 <= limit <= 100:
            raise CLIError("--threshold must be between 0 and 100.")
        if keep:
            file_format(Path(keep))
        if scenario:
            from vmsscli.domain.exercise import start_state
            from vmsscli.scenarios import load_named

            start = start_state(load_named(scenario))
        else:
            start = context.read_state()
        with tempfile.TemporaryDirectory(prefix="vmss-rehearsal-") as folder:
            work = Path(folder)
            _write_shims(work / "bin")
            state_path = work / "state.json"
            throwaway = Store(state_path)
            throwaway.replace(start)
            copied = throwaway.read()
            initial = snapshot(copied, context.now(copied))
            if real_az:
                exit_code, steps = _run_with_real_az(script, shell, state_path, work)
            else:
                exit_code, steps = _run(script, shell, state_path, work)
            final_state = throwaway.read()
            from vmsscli.domain.operations import settle

            settle(final_state, context.now(final_state))
            result = build_report(
                steps,
                initial,
                snapshot(final_state, context.now(final_state)),
                runbook=str(script),
                exit_code=exit_code,
                threshold=limit,
            )
            if keep:
                Store(Path(keep)).replace(final_state)
        context.report(result, "rehearsal")
        if exit_code != 0:
            raise typer.Exit(1)
