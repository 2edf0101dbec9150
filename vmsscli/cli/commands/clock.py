"""`vmss clock ...`: the simulated clock (vmsscli's own commands)."""

from typing import Annotated, Any

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command, new_group
from vmsscli.cli.params import choice
from vmsscli.errors import CLIError


def clock_view(state) -> dict[str, Any]:
    import os

    from vmsscli.views import azure_time

    return {
        "mode": state.clock.mode,
        "now": azure_time(context.now(state)),
        "pinned": bool(os.environ.get("VMSSCLI_NOW")),
        "speed": state.clock.speed,
    }


def _move_to(state, when) -> None:
    from vmsscli.domain.clock import move_to

    move_to(state, context.now(state), when)


def register(app: typer.Typer) -> None:
    group = new_group("Show and move the simulated clock (vmsscli's own commands).")
    app.add_typer(group, name="clock")

    @command(group, "show", examples=[("Show the simulated time.", "vmss clock show")])
    def show() -> None:
        """Show the clock's mode (wall or manual) and the simulated time."""
        context.report(clock_view(context.read_state()))

    @command(
        group,
        "set",
        examples=[("Freeze the clock at a given time.", "vmss clock set 2026-11-23T18:00:00Z")],
    )
    def set_(time: Annotated[str, typer.Argument(help="ISO 8601 date and time.")]) -> None:
        """Set the simulated time (switches the clock to manual mode)."""
        from vmsscli.domain.clock import parse_time

        with context.write_state() as state:
            _move_to(state, parse_time(time))
            result = clock_view(state)
        context.report(result)

    @command(
        group,
        "advance",
        examples=[
            ("Let 90 seconds of simulated time pass.", "vmss clock advance 90s"),
            ("Let five minutes pass.", "vmss clock advance PT5M"),
        ],
    )
    def advance(
        duration: Annotated[
            str, typer.Argument(help="A duration: 90s, 5m, 1h30m or ISO 8601 (PT2M).")
        ],
    ) -> None:
        """Move simulated time forward; operations due complete in order.

        In wall mode the clock first switches to manual mode at the current time.
        """
        from vmsscli.durations import parse_duration

        try:
            delta = parse_duration(duration)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        with context.write_state() as state:
            if state.clock.mode == "wall":
                context.warn("The clock was in wall mode; it is now in manual mode.")
            _move_to(state, context.now(state) + delta)
            result = clock_view(state)
        context.report(result)

    @command(
        group,
        "mode",
        examples=[
            ("Let time move only when told.", "vmss clock mode manual"),
            ("Follow real time again.", "vmss clock mode wall"),
        ],
    )
    def mode(
        value: Annotated[
            str,
            typer.Argument(
                help="wall (follow real time) or manual (move only when told).",
                callback=choice("wall", "manual"),
            ),
        ],
    ) -> None:
        """Choose how simulated time moves. Manual mode starts from the current time."""
        with context.write_state() as state:
            if value == "manual" and state.clock.mode == "wall":
                state.clock.now = context.now(state)
            state.clock.mode = value  # type: ignore[assignment]
            result = clock_view(state)
        context.report(result)
