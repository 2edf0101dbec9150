#!/usr/bin/env python3
"""Regenerate the files that are derived from the CLI: completions/ and docs/commands.md.

    python scripts/generate.py           # write them
    python scripts/generate.py --check   # exit 1 when a checked-in file is stale

tests/test_generated.py runs the check, so help, completion and docs cannot drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def leaf_commands():
    """(path, command) for every command, in the order `vmss --help` lists them."""
    from typer.main import get_command

    from vmsscli.cli.app import build_app

    def walk(group, path):
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):
                yield from walk(cmd, [*path, name])
            else:
                yield [*path, name], cmd

    return list(walk(get_command(build_app()), []))


def commands_markdown() -> str:
    from vmsscli.cli.azparse import format_command_help

    lines = [
        "# Commands",
        "",
        "Generated from the CLI's own help by `scripts/generate.py`; do not edit by hand.",
        "Every command also takes the global arguments listed under each one.",
        "",
    ]
    leaves = leaf_commands()
    for path, _cmd in leaves:
        name = " ".join(path)
        lines.append(f"- [`vmss {name}`](#vmss-{'-'.join(path)})")
    for path, cmd in leaves:
        name = " ".join(path)
        lines += [
            "",
            f"## vmss {name}",
            "",
            "```text",
            format_command_help(f"vmss {name}", cmd).strip("\n"),
            "```",
        ]
    return "\n".join(lines) + "\n"


def generated() -> dict[Path, str]:
    from vmsscli.completion import FILE_NAMES, SCRIPTS

    files = {REPO / "completions" / FILE_NAMES[shell]: text for shell, text in SCRIPTS.items()}
    files[REPO / "docs" / "commands.md"] = commands_markdown()
    return files


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    for path, text in generated().items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(REPO))
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if check and stale:
        print("stale: " + ", ".join(map(str, stale)) + " (run python scripts/generate.py)")
        return 1
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
