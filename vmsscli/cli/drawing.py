"""vmsscli's own reports drawn for a person on a terminal (Rich).

Only imported when stdout is a terminal and no output format was asked for: piped, the same
commands print the JSON scripts and graders read. Every drawing takes that same JSON-shaped
result, so the two can never tell different stories. Data is never read as markup.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

POWER_STYLE = {
    "running": "green",
    "starting": "yellow",
    "stopping": "yellow",
    "stopped": "yellow",
    "deallocating": "yellow",
    "deallocated": "red",
}
HEALTH_STYLE = {
    "healthy": "green",
    "unhealthy": "bold red",
    "unknown": "yellow",
    "not monitored": "dim",
}


# Cells up to this many characters never wrap; longer ones wrap at word boundaries.
SHORT = 24


def console() -> Console:
    return Console(file=sys.stdout, highlight=False, emoji=False, markup=False)


def inline(text: str, style: str = "") -> Text:
    """Plain text with `code spans` (commands in hints and objectives) set off."""
    out = Text(style=style)
    for index, part in enumerate(re.split(r"`([^`]*)`", text)):
        out.append(part, style="bold cyan" if index % 2 else "")
    return out


def _table(title: str | None = None, **kwargs: Any) -> Table:
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        **kwargs,
    )


def _cell(value: Any) -> Text:
    if value is None or value == "" or value == []:
        return Text("-", style="dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no", style="" if value else "dim")
    if isinstance(value, list):
        return Text(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return Text(", ".join(f"{k}={v}" for k, v in value.items()))
    return Text(str(value))


def _words(key: str) -> str:
    """`hintsUsed` -> `Hints used`: a person reads words, not camelCase."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key)
    return spaced[:1].upper() + spaced[1:].lower()


# --- generic shapes ---------------------------------------------------------------------------


def draw_records(result: Any, out: Console) -> None:
    """A list of flat objects as one table (a column per key); anything else as key: value."""
    if isinstance(result, list):
        if not result:
            out.print(Text("(none)", style="dim"))
            return
        keys = list(dict.fromkeys(k for row in result if isinstance(row, dict) for k in row))
        cells = [[_cell(row.get(k)) for k in keys] for row in result]
        table = _table()
        for index, key in enumerate(keys):
            # Short values (ids, states, names) keep their line; long ones wrap at words.
            widest = max(len(_words(key)), *(len(row[index].plain) for row in cells))
            table.add_column(
                _words(key), min_width=widest if widest <= SHORT else None, overflow="fold"
            )
        for row in cells:
            table.add_row(*row)
        out.print(table)
        return
    if isinstance(result, dict):
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for key, value in result.items():
            table.add_row(_words(key), _cell(value))
        out.print(table)
        return
    out.print(Text(str(result)))


# --- triage -----------------------------------------------------------------------------------


def draw_triage(result: dict[str, Any], out: Console) -> None:
    rows = result["rows"]
    unhealthy = sum(1 for r in rows if not r["serving"])
    out.print(Text(result["summary"], style="bold red" if unhealthy else "bold green"))
    table = _table()
    for name, justify in (
        ("Id", "right"),
        ("Zone", "center"),
        ("FD", "right"),
        ("UD", "right"),
        ("Power", "left"),
        ("Health", "left"),
        ("Model", "left"),
        ("Protected", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("Problems", min_width=12)
    for row in rows:
        protection = [
            label
            for label, on in (
                ("scale-in", row["protectFromScaleIn"]),
                ("set actions", row["protectFromScaleSetActions"]),
            )
            if on
        ]
        problems = row["problems"]
        table.add_row(
            Text(row["instanceId"], style="bold" if problems else ""),
            _cell(row["zone"]),
            str(row["faultDomain"]),
            str(row["updateDomain"]),
            Text(row["powerState"], style=POWER_STYLE.get(row["powerState"], "")),
            Text(row["health"], style=HEALTH_STYLE.get(row["health"], "")),
            Text("latest", style="green")
            if row["latestModelApplied"]
            else Text("behind", "yellow"),
            _cell(protection),
            Text("; ".join(problems), style="red" if not row["serving"] else "yellow")
            if problems
            else Text("-", style="dim"),
        )
    out.print(table)


def draw_scenarios(rows: list[dict[str, Any]], out: Console) -> None:
    """`scenario list` and `exercise list`."""
    table = _table()
    table.add_column("Name", no_wrap=True)
    table.add_column("Case", justify="center", no_wrap=True)
    table.add_column("Instances", justify="right", no_wrap=True)
    if rows and "objectives" in rows[0]:
        table.add_column("Objectives", justify="right", no_wrap=True)
    else:
        table.add_column("Exercise", justify="center", no_wrap=True)
    table.add_column("Title")
    for row in rows:
        last = str(row["objectives"]) if "objectives" in row else _cell(row["exercise"])
        table.add_row(
            Text(row["name"], style="bold"), _cell(row["fieldCase"]), str(row["instances"]),
            last, row["title"],
        )  # fmt: skip
    out.print(table)


def draw_faults(rows: list[dict[str, Any]], out: Console) -> None:
    """`fault list`: per scale set, where each fault is, what it is, and what repairs it."""
    if not rows:
        out.print(Text("No faults.", style="green"))
        return
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(f"{row['resourceGroup']}/{row['name']}", []).append(row)
    for number, (scale_set, members) in enumerate(groups.items()):
        if number:
            out.print()
        table = _table(scale_set)
        for name in ("Id", "Zone", "Kind"):
            table.add_column(name, no_wrap=True)
        table.add_column("Detail", ratio=3)
        table.add_column("Repaired by", ratio=2)
        for row in members:
            detail = Text(row["detail"] or row["message"] or "-")
            if row["external"]:
                detail.append(" (outside the guest)", style="yellow")
            table.add_row(
                row["instanceId"], _cell(row["zone"]), Text(row["kind"], "red"), detail,
                row["repairedBy"],
            )  # fmt: skip
        out.print(table)


# --- scenarios and exercises --------------------------------------------------------------------


def draw_briefing(result: dict[str, Any], out: Console) -> None:
    """`scenario show`, `exercise start` and `exercise reset`."""
    case = f" (field case {result['fieldCase']})" if result.get("fieldCase") else ""
    out.print(Text(f"{result['title']}{case}", style="bold"))
    out.print(Text(result["name"], style="dim"))
    out.print()
    out.print(Text(" ".join(result["description"].split())))
    out.print()
    fleet = _table("Fleet")
    for column in ("Resource group", "Scale set", "Capacity", "Zones", "Upgrade policy"):
        fleet.add_column(column, overflow="fold")
    for row in result["fleet"]:
        fleet.add_row(
            row["resourceGroup"],
            row["name"],
            str(row["capacity"]),
            _cell(row["zones"]),
            row["upgradePolicy"],
        )
    out.print(fleet)
    if result.get("objectives"):
        out.print()
        out.print(Text("Objectives", style="bold"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", no_wrap=True, min_width=3)
        grid.add_column(overflow="fold")
        for number, text in enumerate(result["objectives"], 1):
            grid.add_row(f"{number}.", inline(text))
        out.print(grid)
    faults = len(result.get("faults") or [])
    hints = result.get("hints", 0)
    note = f"{faults} fault(s) injected."
    if hints:
        note += f" {hints} hint(s): `vmss exercise hint`."
    out.print()
    out.print(inline(note, style="dim"))


def draw_check(result: dict[str, Any], out: Console) -> None:
    """`exercise check`: a line per objective with its evidence, the score, the debrief."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for objective in result["objectives"]:
        mark = (
            Text(" PASS ", style="bold black on green")
            if objective["passed"]
            else Text(" FAIL ", style="bold white on red")
        )
        grid.add_row(mark, inline(objective["objective"]))
        for evidence in objective["evidence"]:
            grid.add_row("", Text(evidence, style="dim"))
    out.print(grid)
    passed = result["passed"]
    out.print()
    out.print(
        Text(
            f"Score: {result['score']} objectives met" + (" - exercise passed" if passed else ""),
            style="bold green" if passed else "bold red",
        ),
        Text(f"  (hints used: {result['hintsUsed']})", style="dim"),
        sep="",
    )
    debrief = result["debrief"]
    out.print()
    out.print(Text("Debrief", style="bold"))
    out.print(Text("Timeline", style="underline"))
    if debrief["timeline"]:
        out.print(_details([("", line, "") for line in debrief["timeline"]], 2))
    else:
        out.print(Text("  no requests were made", style="dim"))
    whole = debrief["wholeFleetRequests"]
    out.print(Text("Whole-fleet requests", style="underline"))
    if whole:
        out.print(_details([("", line, "yellow") for line in whole], 2))
    else:
        out.print(Text("  none: every request named its instances", style="green"))
    low = debrief["capacityLowWaterMark"]
    style = "green" if low["percent"] >= 100 else ("yellow" if low["percent"] >= 80 else "red")
    out.print(
        Text("Serving capacity low-water mark: ", style="underline"),
        Text(f"{low['serving']} of {low['servingAtStart']} ({low['percent']}%)", style=style),
        sep="",
    )
    targeted = ", ".join(str(i) for i in debrief["targetedInstances"]) or "none"
    out.print(Text(f"Targeted instances: {targeted}", style="dim"))


def draw_status(result: dict[str, Any], out: Console) -> None:
    out.print(Text(f"{result['title']}", style="bold"), Text(f"  ({result['exercise']})", "dim"))
    out.print(f"Started {result['started']}")
    out.print(
        Text.assemble(
            "Objectives met so far: ",
            (result["objectivesMet"], "bold"),
            f"   requests made: {result['requests']}   hints used: {result['hintsUsed']}",
        )
    )
    out.print(Text("Grade it with `vmss exercise check`.", style="dim"))


def draw_hint(result: dict[str, Any], out: Console) -> None:
    out.print(Text.assemble((f"Hint {result['number']}: ", "bold"), inline(result["hint"])))


# --- rehearsal ----------------------------------------------------------------------------------


def _details(rows: list[tuple[str, str, str]], indent: int) -> Table:
    """Labelled lines under an item, wrapped lines hanging under their text, not the label."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(min_width=indent - 1, no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column()
    for label, text, style in rows:
        grid.add_row("", Text(label, style=style), Text(text, style=style))
    return grid


def draw_rehearsal(result: dict[str, Any], out: Console) -> None:
    failed = result["exitCode"] != 0
    out.print(
        Text.assemble(
            ("Rehearsal of ", "bold"),
            (result["runbook"], "bold"),
            (": exit code ", "bold"),
            (str(result["exitCode"]), "bold red" if failed else "bold green"),
        )
    )
    out.print()
    for number, row in enumerate(result["commands"], 1):
        code = row["exitCode"]
        out.print(
            Text.assemble(
                f"{number:>2}. ",
                (f"[{code}]", "red" if code else "green"),
                " ",
                (row["command"], "bold"),
            )
        )
        lines = [("touched:", f"{key} {', '.join(ids)}", "") for key, ids in row["touched"].items()]
        lines += [
            ("skipped:", f"{key} {', '.join(ids)}", "dim") for key, ids in row["skipped"].items()
        ]
        lines += [
            ("serving after:", f"{serving} ({key})", "")
            for key, serving in row.get("servingAfter", {}).items()
        ]
        lines += [("WARNING:", warning, "yellow") for warning in row["warnings"]]
        if lines:
            out.print(_details(lines, 6))
    if not result["commands"]:
        out.print(Text("(the runbook ran no az or vmss command)", style="dim"))
    out.print()
    if result["stateChanges"]:
        changes = _table("State changes (before -> after)")
        changes.add_column("Instance", no_wrap=True)
        changes.add_column("Change")
        for change in result["stateChanges"]:
            parts = [f"{name} {old} -> {new}" for name, (old, new) in change["changes"].items()]
            changes.add_row(f"{change['scaleSet']}/{change['instanceId']}", "; ".join(parts))
        out.print(changes)
    else:
        out.print(Text("State changes (before -> after): none", style="bold"))
    out.print()
    warnings = result["warnings"]
    out.print(Text(f"Warnings: {len(warnings)}", style="bold yellow" if warnings else "bold"))
    if warnings:
        out.print(_details([("-", warning, "yellow") for warning in warnings], 2))
    if result["failedCommand"]:
        out.print(Text(f"First failed command: {result['failedCommand']}", style="bold red"))
