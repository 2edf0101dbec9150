"""az-compatible argument handling on top of Typer (and the Click it vendors).

az parses with argparse; operators paste its command lines. Before Click sees the arguments,
`AzCommand` rewrites them the way argparse would read them: unique prefixes of long options
(`--inst 0`), several values after one flag (`--instance-ids 0 1 2`), optional values
(`--protect-from-scale-in` alone means true), the global arguments anywhere on the line, and
argparse's error texts for missing, unknown and malformed arguments (exit 2). `AzGroup` adds
az-style help, the "misspelled" error, and turns every error into az's stderr form and exit code.
"""

from __future__ import annotations

import os
import sys
import textwrap
from typing import Any

import typer
from typer import _click as click
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from vmsscli.cli import context
from vmsscli.errors import CLIError, UsageError, VmssError
from vmsscli.output import FORMATS, QUERY_HELP

# What az prints after an error, with or without examples before it.
REFERENCE_LINK = ["", "https://aka.ms/cli_ref", "Read more about the command in reference docs"]

HELP_WIDTH = 100

GLOBAL_ARGUMENTS: list[tuple[tuple[str, ...], str, bool]] = [
    # (option strings, help, takes a value)
    (("--debug",), "Increase logging verbosity to show all debug logs.", False),
    (("--only-show-errors",), "Only show errors, suppressing warnings.", False),
    (
        ("--output", "-o"),
        "Output format. Allowed values: json, jsonc, none, table, tsv, yaml, "
        "yamlc. Default: json (or $VMSSCLI_OUTPUT).",
        True,
    ),
    (
        ("--query",),
        "JMESPath query string. See http://jmespath.org/ for more information and examples.",
        True,
    ),
    (
        ("--state",),
        "State file (.json or .toml). Default: $VMSSCLI_STATE, else "
        "~/.vmsscli/state.json, created from the demo fleet when missing.",
        True,
    ),
    (("--subscription",), "Accepted for compatibility; the simulation has one subscription.", True),
    (("--verbose",), "Increase logging verbosity. Use --debug for full debug logs.", False),
]
_GLOBAL_BY_OPT = {opt: spec for spec in GLOBAL_ARGUMENTS for opt in spec[0]}
_GLOBAL_LONGS = [opt for spec in GLOBAL_ARGUMENTS for opt in spec[0] if opt.startswith("--")]


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def looks_like_option(token: str) -> bool:
    """As argparse decides: a dash-led token that is not a negative number."""
    return token.startswith("-") and len(token) > 1 and not _is_number(token)


def did_you_mean(value: str, choices: list[str]) -> list[str]:
    import difflib

    match = difflib.get_close_matches(value, choices, n=1, cutoff=0.7)
    return [f"Did you mean '{match[0]}' ?"] if match else []


def option_display(param: Any) -> str:
    """argparse's name for an option: its option strings joined by '/'."""
    return "/".join(param.opts)


def apply_global(name: str, value: str | None, command_path: str) -> None:
    inv = context.current
    if name == "--output":
        assert value is not None
        fmt = value.lower()
        if fmt not in FORMATS:
            raise UsageError(
                f"{command_path}: '{value}' is not a valid value for '--output'. "
                f"Allowed values: {', '.join(FORMATS)}.",
                recommendations=did_you_mean(fmt, list(FORMATS)),
            )
        inv.output = fmt
        inv.output_given = True
    elif name == "--query":
        assert value is not None
        from vmsscli.output import compile_query

        try:
            inv.query = compile_query(value)
        except Exception:
            raise UsageError(
                f"argument --query: invalid jmespath_type value: '{value}'",
                recommendations=[QUERY_HELP],
                examples=False,
            ) from None
        inv.query_text = value
    elif name == "--state":
        inv.state = value
    elif name == "--only-show-errors":
        inv.only_show_errors = True
    elif name == "--verbose":
        inv.verbose = True
    elif name == "--debug":
        inv.debug = True
    # --subscription: accepted and ignored (one simulated subscription).


class AzCommand(TyperCommand):
    """A leaf command whose arguments are read the way az (argparse) reads them."""

    examples: list[tuple[str, str]] = []
    # Parameter names whose value may be omitted ("--flag" alone means "true").
    optional_value: frozenset[str] = frozenset()
    # "argparse": missing required arguments are a usage error (exit 2), as in az's custom
    # commands; "aaz": az's generated commands report the first one as a field error (exit 1).
    missing_style: str = "argparse"
    # Whether the command takes --what-if (every command that changes the state does).
    what_if: bool = False

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            if any(tok in ("-h", "--help") for tok in args[: _end(args)]):
                sys.stdout.write(self.get_help(ctx) + "\n")
                raise typer.Exit(0)
            if self.what_if and WHAT_IF in args[: _end(args)]:
                context.current.what_if = True
                end = _end(args)
                args = [a for a in args[:end] if a != WHAT_IF] + args[end:]
            translated = self.translate(ctx, args)
            _check_verbosity(context.current)
            return super().parse_args(ctx, translated)
        except UsageError as exc:
            if exc.example_source is None:
                exc.example_source = (self.examples, [a for a in args if a.startswith("-")])
            raise

    def translate(self, ctx: Any, args: list[str]) -> list[str]:
        params = self.get_params(ctx)
        options: dict[str, Any] = {}
        positional = []
        for param in params:
            if isinstance(param, TyperOption):
                for opt in [*param.opts, *param.secondary_opts]:
                    options[opt] = param
            elif isinstance(param, TyperArgument):
                positional.append(param)
        longs = list(dict.fromkeys([o for o in options if o.startswith("--")] + _GLOBAL_LONGS))
        out: list[str] = []
        positionals: list[str] = []
        unknown: list[str] = []
        given: set[str] = set()
        i = 0
        while i < len(args):
            token = args[i]
            i += 1
            if token == "--":
                positionals.extend(args[i:])
                break
            if not looks_like_option(token):
                positionals.append(token)
                continue
            name, inline = token, None
            if token.startswith("--"):
                if "=" in token:
                    name, inline = token.split("=", 1)
                name = self._expand_prefix(name, options, longs)
            elif len(token) > 2:
                name, inline = token[:2], token[2:]
            if name in _GLOBAL_BY_OPT:
                opts, _help, takes_value = _GLOBAL_BY_OPT[name]
                value = None
                if takes_value:
                    if inline is None:
                        if i < len(args) and not looks_like_option(args[i]):
                            inline = args[i]
                            i += 1
                        else:
                            raise UsageError(f"argument {'/'.join(opts)}: expected one argument")
                    value = inline
                apply_global(opts[0], value, ctx.command_path)
                continue
            param = options.get(name)
            if param is None:
                unknown.append(token)
                continue
            given.add(param.name)
            display = option_display(param)
            if param.is_flag:
                if inline is not None:
                    raise UsageError(f"argument {display}: ignored explicit argument '{inline}'")
                out.append(name)
            elif param.name in self.optional_value:
                if inline is None and i < len(args) and not looks_like_option(args[i]):
                    inline = args[i]
                    i += 1
                out += [name, "true" if inline is None else inline]
            elif param.multiple:
                values = [inline] if inline is not None else []
                if inline is None:
                    while i < len(args) and not looks_like_option(args[i]):
                        values.append(args[i])
                        i += 1
                if not values:
                    raise UsageError(f"argument {display}: expected at least one argument")
                for value in values:
                    out += [name, value]
            else:
                if inline is None:
                    if i < len(args) and not looks_like_option(args[i]):
                        inline = args[i]
                        i += 1
                    else:
                        raise UsageError(f"argument {display}: expected one argument")
                out += [name, inline]
        slots = len(positional)
        unknown += positionals[slots:]
        positionals = positionals[:slots]
        for param in positional[: len(positionals)]:
            given.add(param.name)
        self._check_required(params, given)
        if unknown:
            # az reports these from its top-level parser, which has no examples to show: only
            # the reference link follows (az 2.91, observed).
            raise UsageError(
                f"unrecognized arguments: {' '.join(unknown)}",
                recommendations=REFERENCE_LINK,
                examples=False,
            )
        return out + (["--", *positionals] if positionals else [])

    def _expand_prefix(self, name: str, options: dict[str, Any], longs: list[str]) -> str:
        if name in options or name in _GLOBAL_BY_OPT:
            return name
        matches = [opt for opt in longs if opt.startswith(name)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise UsageError(f"ambiguous option: {name} could match {', '.join(matches)}")
        return name

    def _check_required(self, params: list[Any], given: set[str]) -> None:
        missing = [p for p in params if getattr(p, "required", False) and p.name not in given]
        if not missing:
            return
        if self.missing_style == "aaz":
            raise CLIError(f"InvalidArgumentValue: Missing required field: {missing[0].opts[0]}")
        names = [option_display(p) if isinstance(p, TyperOption) else p.name for p in missing]
        raise UsageError(f"the following arguments are required: {', '.join(names)}")

    # --- help in az's layout ---------------------------------------------------------------

    def get_help(self, ctx: Any) -> str:
        return format_command_help(ctx.command_path, self)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        formatter.write(self.get_help(ctx))


def _end(args: list[str]) -> int:
    return args.index("--") if "--" in args else len(args)


def _wrap_rows(rows: list[tuple[str, str]], indent: int = 4) -> list[str]:
    if not rows:
        return []
    left = max(len(name) for name, _ in rows)
    width = max(HELP_WIDTH - indent - left - 3, 30)
    lines = []
    for name, text in rows:
        wrapped = textwrap.wrap(text, width) or [""]
        lines.append(" " * indent + name.ljust(left) + " : " + wrapped[0])
        lines += [" " * (indent + left + 3) + more for more in wrapped[1:]]
    return lines


def _summary(text: str | None) -> str:
    return (text or "").strip().split("\n\n")[0].replace("\n", " ")


WHAT_IF = "--what-if"
WHAT_IF_HELP = (
    "Show which instances would be affected or skipped and the serving capacity afterwards; "
    "change nothing."
)


def format_command_help(path: str, command: AzCommand) -> str:
    lines = ["", "Command", f"    {path} : {_summary(command.help)}"]
    details = (command.help or "").strip().split("\n\n")[1:]
    for paragraph in details:
        lines += [""] + [
            "        " + line for line in textwrap.wrap(" ".join(paragraph.split()), HELP_WIDTH - 8)
        ]
    rows = []
    for param in command.params:
        if isinstance(param, TyperOption) and not param.hidden:
            marker = " [Required]" if param.required else ""
            rows.append((" ".join(param.opts) + marker, param.help or ""))
        elif isinstance(param, TyperArgument):
            rows.append((param.name.upper(), getattr(param, "help", "") or ""))
    if command.what_if:
        rows.append((WHAT_IF, WHAT_IF_HELP))
    if rows:
        lines += ["", "Arguments"] + _wrap_rows(rows)
    lines += ["", "Global Arguments"] + _wrap_rows(
        [(" ".join(opts), text) for opts, text, _ in GLOBAL_ARGUMENTS]
    )
    if command.examples:
        lines += ["", "Examples"]
        for description, example in command.examples:
            lines += [f"    {description}", f"        {example}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


class AzGroup(TyperGroup):
    """A command group: az-style help, az's "misspelled" error, and (at the root) the one place
    where every error becomes az's stderr text and exit code."""

    description: str = ""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or args[0] in ("-h", "--help"):
            sys.stdout.write(self.get_help(ctx) + "\n")
            raise typer.Exit(0)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]):
        name = args[0]
        command = self.get_command(ctx, name)
        if command is None:
            raise UsageError(
                f"'{name}' is misspelled or not recognized by the system.",
                recommendations=did_you_mean(name, list(self.commands)),
                examples=False,
            )
        return name, command, args[1:]

    def get_help(self, ctx: Any) -> str:
        path = ctx.command_path
        lines = ["", "Group", f"    {path} : {_summary(self.help)}"]
        groups = [(n, c) for n, c in self.commands.items() if isinstance(c, TyperGroup)]
        commands = [(n, c) for n, c in self.commands.items() if not isinstance(c, TyperGroup)]
        if groups:
            lines += ["", "Subgroups:"] + _wrap_rows([(n, _summary(c.help)) for n, c in groups])
        if commands:
            lines += ["", "Commands:"] + _wrap_rows([(n, _summary(c.help)) for n, c in commands])
        return "\n".join(lines) + "\n"

    def format_help(self, ctx: Any, formatter: Any) -> None:
        formatter.write(self.get_help(ctx))

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        code = run(self, argv, prog_name or "vmss", extra)
        if standalone_mode:
            sys.exit(code)
        return code


# --- running a command line and reporting errors --------------------------------------------


def expand_file_arguments(argv: list[str]) -> list[str]:
    """az's first step: `@path` (or `name=@path`) is replaced by the file's text, trailing
    newlines removed; `@-` reads standard input. Unreadable files are left as written."""
    out = []
    for token in argv:
        prefix, _, rest = token.partition("=@") if "=@" in token else ("", "", "")
        target = rest if prefix else (token[1:] if token.startswith("@") else None)
        if target is None:
            out.append(token)
            continue
        try:
            if target == "-":
                content = sys.stdin.read()
            else:
                with open(os.path.expanduser(target), encoding="utf-8-sig") as handle:
                    content = handle.read()
        except (OSError, UnicodeDecodeError):
            out.append(token)
            continue
        content = content.rstrip("\r\n")
        out.append(f"{prefix}={content}" if prefix else content)
    return out


def run(group: AzGroup, argv: list[str], prog_name: str, extra: dict[str, Any]) -> int:
    """Parse and run one command line; every failure becomes az's text and exit code."""
    inv = context.reset(argv)
    try:
        try:
            args = hoist_leading_globals(expand_file_arguments(argv))
            with group.make_context(prog_name, args, **extra) as ctx:
                group.invoke(ctx)
            if inv.verbose or inv.debug:
                import time

                elapsed = time.perf_counter() - inv.started
                context.info(f"Command ran in {elapsed:.3f} seconds.")
            return 0
        finally:
            sys.stdout.flush()
    except typer.Exit as exc:
        return exc.exit_code
    except WhatIfReport as done:
        done.show()
        return 0
    except VmssError as exc:
        report(exc)
        return exc.exit_code
    except click.ClickException as exc:
        report(UsageError(exc.format_message(), examples=False))
        return 2
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except Exception as exc:  # last resort: one line, never a traceback (unless --debug)
        if inv.debug:
            import traceback

            traceback.print_exc()
        report(
            CLIError(f"The command failed with an unexpected error: {type(exc).__name__}: {exc}")
        )
        return 1


class WhatIfReport(Exception):
    """Raised after a --what-if run: the command's effect, to print instead of its result."""

    def show(self) -> None:
        raise NotImplementedError


def _check_verbosity(inv: context.Invocation) -> None:
    if inv.only_show_errors and (inv.debug or inv.verbose):
        message = "--only-show-errors can't be used together with --debug or --verbose"
        sys.stderr.write(f"{message}\n{message}\n")
        raise typer.Exit(1)


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def report(exc: VmssError) -> None:
    lines = exc.lines()
    out = [f"ERROR: {lines[0]}", *lines[1:], *exc.recommendations]
    if isinstance(exc, UsageError) and exc.examples and exc.example_source:
        examples, typed = exc.example_source
        chosen = rank_examples(examples, typed)[:3]
        if chosen:
            out += ["", "Examples from command's help:"]
            for description, example in chosen:
                out += [example, description, ""]
            out += REFERENCE_LINK[1:]
    try:
        sys.stderr.write("\n".join(out) + "\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass


def rank_examples(examples: list[tuple[str, str]], typed: list[str]) -> list[tuple[str, str]]:
    """az's order: most flags in common with what was typed, then fewest flags."""
    typed_flags = {t.split("=", 1)[0] for t in typed}

    def key(item: tuple[str, str]) -> tuple[int, int]:
        flags = {word for word in item[1].split() if word.startswith("-")}
        return (-len(flags & typed_flags), len(flags))

    return sorted(examples, key=key)


def hoist_leading_globals(argv: list[str]) -> list[str]:
    """`vmss --state X list` works like `vmss list --state X`: global arguments given before
    the command are moved behind it, where each command reads them."""
    moved: list[str] = []
    i = 0
    while i < len(argv) and looks_like_option(argv[i]):
        name = argv[i].split("=", 1)[0]
        spec = _GLOBAL_BY_OPT.get(name)
        if spec is None or (
            name.startswith("-") and not name.startswith("--") and len(argv[i]) > 2
        ):
            break
        takes_value = spec[2] and "=" not in argv[i]
        moved += argv[i : i + 1 + takes_value]
        i += 1 + takes_value
    return argv[i:] + moved if moved else argv
