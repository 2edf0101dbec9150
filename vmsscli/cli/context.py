"""What one invocation knows besides its command's own flags: the global arguments, the state
file, "now", and the helpers every command uses to print results, warnings and logs."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vmsscli.output import Transformer


@dataclass
class Invocation:
    output: str = "json"
    # Whether -o or $VMSSCLI_OUTPUT chose the format (else vmsscli's own reports are drawn for a
    # person on a terminal).
    output_given: bool = False
    query_text: str | None = None
    query: Any = None
    state: str | None = None
    only_show_errors: bool = False
    # --what-if: run the command on the state in memory, report its effect, save nothing.
    what_if: bool = False
    verbose: bool = False
    debug: bool = False
    argv: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)


current = Invocation()


def reset(argv: list[str]) -> Invocation:
    """Fresh globals for one run (tests run many invocations in one process)."""
    global current
    chosen = os.environ.get("VMSSCLI_OUTPUT")
    current = Invocation(output=(chosen or "json").lower(), output_given=bool(chosen), argv=argv)
    return current


def command_line() -> str:
    import shlex

    return " ".join(["vmss", *(shlex.quote(arg) for arg in current.argv)])


# --- stderr ------------------------------------------------------------------------------------


def warn(message: str) -> None:
    if not current.only_show_errors:
        sys.stderr.write(f"WARNING: {message}\n")


def info(message: str) -> None:
    if current.verbose or current.debug:
        sys.stderr.write(f"INFO: {message}\n")


def debug(logger: str, message: str) -> None:
    if current.debug:
        sys.stderr.write(f"DEBUG: {logger}: {message}\n")


# --- the state file and the clock ----------------------------------------------------------------


def session():
    """The unit of work of this invocation: its state file, pinned "now", command line, and
    warnings printed as they arise."""
    from vmsscli.service.session import Session
    from vmsscli.store import resolve_path

    path, is_default = resolve_path(current.state)
    debug("vmsscli.store", f"state file: {path}")
    return Session(
        path,
        is_default=is_default,
        pinned_now=os.environ.get("VMSSCLI_NOW"),
        command=command_line(),
        caller=os.environ.get("VMSSCLI_CALLER", "").strip(),
        on_warning=warn,
        on_created=_note_created,
        discard=_what_if if current.what_if else None,
    )


def _what_if(before, after) -> Exception:
    from vmsscli.cli.what_if import WhatIf

    return WhatIf(before, after)


def store():
    return session().store()


def read_state(focus: tuple[str, str] | None = None):
    """The state brought up to "now" (pending operations due are completed), not saved.
    A command about one scale set names it as `focus`: the others are not loaded."""
    return session().read(focus)


def write_state(focus: tuple[str, str] | None = None):
    """Read, bring up to "now", let the command change, and save, under the writer lock;
    with --what-if, report what would change and save nothing."""
    return session().write(focus)


def _note_created(path) -> None:
    warn(f"State file '{path}' did not exist; created it with the built-in demo fleet.")


def now(state) -> datetime:
    from vmsscli.domain.clock import resolve_now

    return resolve_now(state.clock, os.environ.get("VMSSCLI_NOW"), datetime.now(UTC))


# --- stdout ------------------------------------------------------------------------------------


def emit(result: Any, *, transformer: Transformer = None) -> None:
    """Apply --query, then print in the chosen format (nothing at all for a None result)."""
    from vmsscli import output

    query_active = current.query is not None
    if query_active:
        try:
            result = output.apply_query(current.query, result)
        except Exception as exc:  # jmespath runtime errors (unknown function, bad types)
            raise output.query_error(exc) from exc
    stream = sys.stdout
    fmt = current.output
    if fmt == "table":
        color = _is_tty(stream) and not os.environ.get("NO_COLOR")
    else:
        color = _is_tty(stream) and _is_tty(sys.stderr) and not os.environ.get("NO_COLOR")
    output.write(
        result, fmt, stream, query_active=query_active, transformer=transformer, color=color
    )


def for_person() -> bool:
    """Whether vmsscli's own reports are drawn for a person: stdout is a terminal and neither
    an output format (-o, $VMSSCLI_OUTPUT) nor --query was given. az's commands never are."""
    return not current.output_given and current.query is None and _is_tty(sys.stdout)


def report(
    result: Any, drawing: str = "records", *, transformer: Transformer = None, drawn: Any = None
) -> None:
    """Print one of vmsscli's own reports: for a person, drawn with Rich by
    `drawing.draw_<drawing>` (from `drawn` when the picture needs more than the JSON holds; a
    plain record list from the table transformer's rows, when there is one); else as `emit`."""
    if not for_person():
        emit(result, transformer=transformer)
        return
    from vmsscli.cli import drawing as drawings

    if drawn is None:
        drawn = transformer(result) if drawing == "records" and transformer else result
    getattr(drawings, f"draw_{drawing}")(drawn, drawings.console())


def combine_jobs(results: list[Any], errors: list[tuple[str, Any]]) -> Any:
    """az's rule for several `--ids`: each failure becomes a warning and the survivors are
    printed (a single one unwrapped); when every job failed, nothing is printed and the exit
    code is 1."""
    import typer

    for target, exc in errors:
        warn(f'{target}: "{chr(10).join(exc.lines())}"')
    if errors:
        warn("Encountered more than one exception.")
        if not results:
            raise typer.Exit(1)
    return results[0] if len(results) == 1 else results


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
