"""`vmss scenario ...` and `vmss exercise ...`: field scenarios and graded exercises
(vmsscli's own commands)."""

from typing import Annotated, Any

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command, new_group

NameArg = Annotated[str, typer.Argument(help="The scenario's name (see `vmss scenario list`).")]


def _fleet(state) -> list[dict[str, Any]]:
    return [
        {
            "capacity": scale_set.capacity,
            "name": key,
            "resourceGroup": rg,
            "upgradePolicy": scale_set.upgrade_policy.mode,
            "zones": scale_set.zones,
        }
        for rg, key, scale_set in state.scale_sets()
    ]


def _listing(name: str, scenario) -> dict[str, Any]:
    return {
        "exercise": scenario.is_exercise,
        "fieldCase": scenario.field_case,
        "instances": sum(s.capacity for _, _, s in scenario.state.scale_sets()),
        "name": name,
        "title": scenario.title,
    }


def _briefing(name: str, scenario, *, with_objectives: bool) -> dict[str, Any]:
    from vmsscli.schema import dump

    out: dict[str, Any] = {
        "description": scenario.description.strip(),
        "faults": [dump(f, exclude_defaults=True) for f in scenario.faults],
        "fieldCase": scenario.field_case,
        "fleet": _fleet(scenario.state),
        "hints": len(scenario.hints),
        "name": name,
        "title": scenario.title,
    }
    if with_objectives:
        out["objectives"] = [o.text for o in scenario.objectives]
    return out


def _replace_state(new) -> dict[str, Any]:
    from vmsscli.cli.commands.state import summary

    store = context.store()
    store.replace(new)
    return summary(store.path, new)


def _current_exercise():
    """The exercise under way in the state file, with its scenario."""
    from vmsscli.errors import CLIError
    from vmsscli.scenarios import load_named

    state = context.read_state()
    if state.exercise is None:
        raise CLIError(
            "No exercise is under way in this state file. Start one with "
            "'vmss exercise start NAME' (see 'vmss exercise list')."
        )
    return state, load_named(state.exercise.name)


def register(app: typer.Typer) -> None:  # noqa: C901 - one place that lists the commands
    scenario_group = new_group(
        "Field scenarios: realistic incidents to rehearse (vmsscli's own commands)."
    )
    app.add_typer(scenario_group, name="scenario")

    @command(
        scenario_group, "list", examples=[("List the scenarios.", "vmss scenario list -o table")]
    )
    def scenario_list() -> None:
        """List the scenarios (built in, and in $VMSSCLI_SCENARIOS)."""
        from vmsscli.scenarios import available, load

        context.report(
            [_listing(name, load(path)) for name, path in available().items()], "scenarios"
        )

    @command(
        scenario_group,
        "show",
        examples=[("Read a scenario's briefing.", "vmss scenario show search-bad-backend")],
    )
    def scenario_show(name: NameArg) -> None:
        """Show a scenario: its story, fleet, injected faults, and objectives if it has any."""
        from vmsscli.scenarios import load_named

        context.report(_briefing(name, load_named(name), with_objectives=True), "briefing")

    @command(
        scenario_group,
        "load",
        examples=[
            ("Replace the state with a scenario.", "vmss scenario load search-bad-backend"),
            (
                "Load a scenario into its own state file.",
                "vmss scenario load iot-buffered-scale-in --state /tmp/iot.json",
            ),
        ],
    )
    def scenario_load(name: NameArg) -> None:
        """Replace the state with a scenario's starting fleet (faults injected). The previous
        state is kept as <file>.bak."""
        from vmsscli.domain.exercise import start_state
        from vmsscli.scenarios import load_named

        context.report(_replace_state(start_state(load_named(name))))

    exercise_group = new_group(
        "Graded exercises: a scenario with objectives, checked against what you did "
        "(vmsscli's own commands)."
    )
    app.add_typer(exercise_group, name="exercise")

    @command(
        exercise_group, "list", examples=[("List the exercises.", "vmss exercise list -o table")]
    )
    def exercise_list() -> None:
        """List the exercises (scenarios with objectives)."""
        from vmsscli.scenarios import available, load

        rows = []
        for name, path in available().items():
            scenario = load(path)
            if scenario.is_exercise:
                row = _listing(name, scenario)
                row["objectives"] = len(scenario.objectives)
                rows.append(row)
        context.report(rows, "scenarios")

    @command(
        exercise_group,
        "start",
        examples=[("Start an exercise.", "vmss exercise start search-bad-backend")],
    )
    def exercise_start(name: NameArg) -> None:
        """Start an exercise: load its scenario into the state file (the previous state is kept
        as <file>.bak) and print the briefing with the objectives."""
        from vmsscli.domain.exercise import begin, start_state
        from vmsscli.errors import CLIError
        from vmsscli.scenarios import load_named

        scenario = load_named(name)
        if not scenario.is_exercise:
            raise CLIError(
                f"Scenario '{name}' has no objectives, so it is not an exercise. Load it with "
                f"'vmss scenario load {name}'."
            )
        state = start_state(scenario)
        begin(state, name, context.now(state))
        _replace_state(state)
        context.report(_briefing(name, scenario, with_objectives=True), "briefing")

    @command(
        exercise_group,
        "status",
        examples=[("See how the exercise is going.", "vmss exercise status")],
    )
    def exercise_status() -> None:
        """Show the exercise under way: objectives met so far, requests made, hints used."""
        from vmsscli.domain.exercise import check
        from vmsscli.views import azure_time

        state, scenario = _current_exercise()
        run = state.exercise
        report = check(state, scenario, run.name)
        context.report(
            {
                "exercise": run.name,
                "hintsUsed": f"{run.hints_shown}/{len(scenario.hints)}",
                "objectivesMet": report.score,
                "requests": len(report.timeline),
                "started": azure_time(run.started),
                "title": scenario.title,
            },
            "status",
        )

    @command(exercise_group, "hint", examples=[("Get the next hint.", "vmss exercise hint")])
    def exercise_hint() -> None:
        """Show the next hint of the exercise under way (each hint shown is counted)."""
        from vmsscli.errors import CLIError
        from vmsscli.scenarios import load_named

        with context.write_state() as state:
            run = state.exercise
            if run is None:
                raise CLIError(
                    "No exercise is under way in this state file. Start one with "
                    "'vmss exercise start NAME'."
                )
            hints = load_named(run.name).hints
            if not hints:
                raise CLIError(f"Exercise '{run.name}' has no hints.")
            shown = min(run.hints_shown + 1, len(hints))
            run.hints_shown = shown
        context.report({"hint": hints[shown - 1], "number": f"{shown}/{len(hints)}"}, "hint")

    @command(
        exercise_group,
        "check",
        examples=[
            ("Grade the exercise.", "vmss exercise check"),
            ("Only the failed objectives.", 'vmss exercise check --query "objectives[?!passed]"'),
        ],
    )
    def exercise_check() -> None:
        """Check every objective against the state and the activity log, with the evidence, a
        score and a debrief. Exits 0 only when every objective passes."""
        from vmsscli.domain.exercise import check

        state, scenario = _current_exercise()
        report = check(state, scenario, state.exercise.name)
        lowest, start = report.low_water
        context.report(
            {
                "debrief": {
                    "capacityLowWaterMark": {
                        "percent": round(100 * lowest / start) if start else 100,
                        "serving": lowest,
                        "servingAtStart": start,
                    },
                    "targetedInstances": report.targeted,
                    "timeline": report.timeline,
                    "wholeFleetRequests": report.whole_fleet,
                },
                "exercise": report.exercise,
                "hintsUsed": state.exercise.hints_shown,
                "objectives": [
                    {"evidence": r.evidence, "objective": r.text, "passed": r.passed}
                    for r in report.results
                ],
                "passed": report.passed,
                "score": report.score,
            },
            "check",
            transformer=lambda result: (
                [
                    {
                        "Result": "PASS" if o["passed"] else "FAIL",
                        "Objective": o["objective"],
                        "Evidence": "; ".join(o["evidence"][:2])
                        + (f" (+{len(o['evidence']) - 2} more)" if len(o["evidence"]) > 2 else ""),
                    }
                    for o in result["objectives"]
                ]
                if isinstance(result, dict) and "objectives" in result
                else result
            ),
        )
        if not report.passed:
            raise typer.Exit(1)

    @command(
        exercise_group,
        "reset",
        examples=[("Start the exercise under way again.", "vmss exercise reset")],
    )
    def exercise_reset() -> None:
        """Start the exercise under way again from its scenario (the previous state is kept as
        <file>.bak)."""
        from vmsscli.domain.exercise import begin, start_state

        _state, scenario = _current_exercise()
        name = _state.exercise.name
        state = start_state(scenario)
        begin(state, name, context.now(state))
        _replace_state(state)
        context.report(_briefing(name, scenario, with_objectives=True), "briefing")
