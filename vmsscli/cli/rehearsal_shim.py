"""The `az` (and `vmss`) a rehearsed runbook finds on its PATH.

`az vmss ...` and `az monitor activity-log ...` run as `vmss ...` against the rehearsal's
throwaway state; every other `az` command is refused with the reason, so nothing can reach a
real subscription. With `--real-az`, `az ...` is the real
az, logged in to a cloud that is the rehearsal's own endpoint on that state (its config folder
is the rehearsal's, not the user's). Each call appends one line to the rehearsal's journal:
the arguments, the exit code, snapshots before and after, and the activity-log entries it
added.
"""

from __future__ import annotations

import json
import os
import sys

JOURNAL = "VMSSCLI_REHEARSAL_JOURNAL"
# Set by `vmss rehearse --real-az`: `az ...` is the real az against the rehearsal's endpoint.
REAL_AZ = "VMSSCLI_REHEARSAL_REAL_AZ"


def _state():
    """The throwaway state ($VMSSCLI_STATE) brought up to now, read as any command reads it."""
    from vmsscli.cli import context

    context.reset([])
    return context.read_state()


def twin_command(args: list[str]) -> tuple[list[str] | None, str]:
    """The `vmss` arguments an `az` command line runs as here, or None and why it cannot."""
    if args[:1] == ["vmss"]:
        return args[1:], ""
    if args[:2] == ["monitor", "activity-log"]:
        if args[2:3] in (["list"], []) or args[2:3] == ["--help"]:
            return args, ""
        return None, (
            f"'az monitor activity-log {args[2]}' (activity-log alerts) is not simulated: only "
            "'az monitor activity-log list' runs here"
        )
    if args[:1] == ["monitor"]:
        what = " ".join(["az", *args[:2]])
        return None, (
            f"'{what}' is not simulated yet: of 'az monitor', only 'activity-log list' runs here"
        )
    what = " ".join(["az", *args[:2]]) if args else "az"
    return None, (
        f"'{what}' is outside the twin: only 'az vmss' and 'az monitor activity-log' commands "
        "run here"
    )


def _append(record: dict) -> None:
    with open(os.environ[JOURNAL], "a", encoding="utf-8") as journal:
        journal.write(json.dumps(record) + "\n")


def main(program: str) -> None:
    args = sys.argv[1:]
    typed = [program, *args]
    real = program == "az" and os.environ.get(REAL_AZ) == "1"
    if program == "az" and not real:
        runs, reason = twin_command(args)
        if runs is None:
            sys.stderr.write(
                f"ERROR: not allowed in a rehearsal: {reason}, against a throwaway copy of the "
                "state. Nothing was sent to Azure.\n"
            )
            _append({"argv": typed, "exitCode": 2, "refused": True, "reason": reason})
            sys.exit(2)
        args = runs
    from vmsscli.cli.context import now
    from vmsscli.domain.rehearsal import snapshot
    from vmsscli.schema import dump

    before_state = _state()
    before = snapshot(before_state, now(before_state))
    log_length = before_state.activity_log.end
    code = 0
    if real:
        import subprocess

        code = subprocess.run(
            [sys.executable, "-m", "vmsscli", "az", *args], check=False
        ).returncode
    else:
        try:
            from vmsscli.cli.main import main as vmss_main

            vmss_main(args)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        finally:
            sys.stdout.flush()
    after_state = _state()
    _append(
        {
            "argv": typed,
            "exitCode": code,
            "before": before,
            "after": snapshot(after_state, now(after_state)),
            "entries": [dump(e, mode="json") for e in after_state.activity_log.since(log_length)],
        }
    )
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv.pop(1) if len(sys.argv) > 1 else "az")
