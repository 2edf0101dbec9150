"""A small bash-like interpreter for the diagnostics operators send through run-command.

Scripts are parsed and answered from the guest's facts: words, quotes, variables (`X=1`,
`$X`, `${X}`, `$1`, `$?`, `$#`, `$@`), `$(...)` and backticks (interpreted here, recursively),
pipes, `&&`, `||`, `;`, redirections to the guest's files (`>`, `>>`, `2>`, `2>&1`, `<`) and
exit codes. Commands it does not know answer `bash: CMD: command not found` with exit 127, as a
shell would. Nothing reaches a real shell, process or file: the only effects are on the guest
facts, through `GuestChanges`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass

from vmsscli.guest import commands
from vmsscli.guest.facts import GuestChanges, GuestView

OPERATORS = ("&&", "||", ">&2", "&>", ">>", ">", "<", "|", ";", "&", "\n")
# Redirections that start with a file descriptor, recognised only at the start of a word.
FD_OPERATORS = ("2>&1", "1>&2", "1>>", "2>", "1>")
MAX_DEPTH = 8


class ExitScript(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


@dataclass
class Output:
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0


@dataclass
class Token:
    text: str
    op: bool = False


def tokenize(script: str) -> list[Token]:
    """Words (raw, quotes kept for expansion) and operators."""
    tokens: list[Token] = []
    word = ""
    in_word = False
    i = 0
    n = len(script)

    def flush() -> None:
        nonlocal word, in_word
        if in_word:
            tokens.append(Token(word))
        word, in_word = "", False

    while i < n:
        ch = script[i]
        if ch == "\\" and i + 1 < n:
            if script[i + 1] == "\n":
                i += 2
                continue
            word += script[i : i + 2]
            in_word = True
            i += 2
            continue
        if ch in "'\"`":
            end = _closing(script, i, ch)
            word += script[i : end + 1]
            in_word = True
            i = end + 1
            continue
        if ch == "$" and script.startswith("$(", i):
            end = _closing_paren(script, i + 1)
            word += script[i : end + 1]
            in_word = True
            i = end + 1
            continue
        if ch == "#" and not in_word:
            while i < n and script[i] != "\n":
                i += 1
            continue
        if ch in " \t\r":
            flush()
            i += 1
            continue
        fd_op = next((op for op in FD_OPERATORS if script.startswith(op, i)), None)
        if fd_op is not None and not in_word:
            tokens.append(Token(fd_op, op=True))
            i += len(fd_op)
            continue
        matched = next((op for op in OPERATORS if script.startswith(op, i)), None)
        if matched is not None:
            flush()
            tokens.append(Token(matched, op=True))
            i += len(matched)
            continue
        word += ch
        in_word = True
        i += 1
    flush()
    return tokens


def _closing(text: str, start: int, quote: str) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == "\\" and quote != "'":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return len(text) - 1


def _closing_paren(text: str, start: int) -> int:
    depth = 0
    i = start
    while i < len(text):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
        elif text[i] in "'\"":
            i = _closing(text, i, text[i])
        i += 1
    return len(text) - 1


def _unescape_backticks(body: str) -> str:
    """Inside backticks a backslash quotes a backtick or a backslash (that is how they nest)."""
    return re.sub(r"\\([`\\$])", r"\1", body)


class Shell:
    """One script run against one guest."""

    def __init__(
        self, view: GuestView, changes: GuestChanges, params: list[str], depth: int = 0
    ) -> None:
        self.view = view
        self.changes = changes
        self.params = params
        self.vars: dict[str, str] = dict(view.env)
        self.last = 0
        self.depth = depth
        self.line = 1

    # --- running ---------------------------------------------------------------------------

    def run(self, script: str) -> Output:
        out = Output()
        try:
            self._run_list(tokenize(script), out)
        except ExitScript as stop:
            self.last = stop.code
        out.exit_code = self.last
        return out

    def _run_list(self, tokens: list[Token], out: Output) -> None:
        pipeline: list[Token] = []
        pending = ";"
        for token in [*tokens, Token(";", op=True)]:
            if token.op and token.text in (";", "\n", "&", "&&", "||"):
                if pipeline:
                    if (
                        pending == ";"
                        or (pending == "&&" and self.last == 0)
                        or (pending == "||" and self.last != 0)
                    ):
                        self._run_pipeline(pipeline, out)
                    pending = ";" if token.text in (";", "\n", "&") else token.text
                elif token.text in ("&&", "||"):
                    out.stderr += (
                        f"bash: line {self.line}: syntax error near unexpected token "
                        f"`{token.text}'\n"
                    )
                    raise ExitScript(2)
                if token.text == "\n":
                    self.line += 1
                pipeline = []
            else:
                pipeline.append(token)

    def _run_pipeline(self, tokens: list[Token], out: Output) -> None:
        stages: list[list[Token]] = [[]]
        for token in tokens:
            if token.op and token.text == "|":
                stages.append([])
            else:
                stages[-1].append(token)
        data = ""
        for stage in stages:
            result = self._run_command(stage, data)
            data = result.stdout
            out.stderr += result.stderr
            self.last = result.exit_code
        out.stdout += data

    def _run_command(self, tokens: list[Token], stdin: str) -> Output:
        words: list[str] = []
        redirects: list[tuple[str, str]] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.op and token.text in (">", ">>", "1>", "1>>", "2>", "&>", "<"):
                target = tokens[i + 1].text if i + 1 < len(tokens) else ""
                redirects.append((token.text, self.expand_word(target)[0] if target else ""))
                i += 2
                continue
            if token.op and token.text in ("2>&1", "1>&2", ">&2"):
                redirects.append(("1>&2" if token.text == ">&2" else token.text, ""))
                i += 1
                continue
            words += self.expand_word(token.text)
            i += 1
        assignments = []
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            assignments.append(words.pop(0))
        for assignment in assignments:
            name, _, value = assignment.partition("=")
            self.vars[name] = value
        for kind, target in redirects:
            if kind == "<":
                if target not in self.view.files:
                    return Output("", f"bash: {target}: No such file or directory\n", 1)
                stdin = self.view.files[target]
        result = self.execute(words, stdin) if words else Output(exit_code=0)
        return self._redirect(result, redirects)

    def _redirect(self, result: Output, redirects: list[tuple[str, str]]) -> Output:
        for kind, target in redirects:
            if kind == "2>&1":
                result = Output(result.stdout + result.stderr, "", result.exit_code)
            elif kind == "1>&2":
                result = Output("", result.stderr + result.stdout, result.exit_code)
            elif kind in (">", ">>", "1>", "1>>", "&>"):
                text = result.stdout + (result.stderr if kind == "&>" else "")
                self._write(target, text, append=kind in (">>", "1>>"))
                result = Output("", "" if kind == "&>" else result.stderr, result.exit_code)
            elif kind == "2>":
                self._write(target, result.stderr, append=False)
                result = Output(result.stdout, "", result.exit_code)
        return result

    def _write(self, path: str, text: str, *, append: bool) -> None:
        if path in ("/dev/null", "/dev/stdout", "/dev/stderr", ""):
            return
        path = commands.absolute(path)
        content = (self.view.files.get(path, "") if append else "") + text
        self.view.files[path] = content
        self.changes.write_file(path, content)

    def execute(self, words: list[str], stdin: str) -> Output:
        name, args = words[0], words[1:]
        if name in ("sudo", "timeout", "nohup", "time"):
            rest = args[1:] if name == "timeout" and args else args
            return self.execute(rest, stdin) if rest else Output(exit_code=0)
        if name == "exit":
            raise ExitScript(int(args[0]) if args and args[0].lstrip("-").isdigit() else self.last)
        if name == "export":
            for arg in args:
                key, _, value = arg.partition("=")
                if value or "=" in arg:
                    self.vars[key] = value
            return Output()
        handler: Callable | None = commands.COMMANDS.get(name)
        if handler is None:
            return Output("", f"bash: {name}: command not found\n", 127)
        stdout, stderr, code = handler(self, args, stdin)
        return Output(stdout, stderr, code)

    # --- expansion -----------------------------------------------------------------------------

    def expand_word(self, raw: str) -> list[str]:
        """Quotes removed, variables and command substitutions expanded, unquoted globs matched
        against the guest's files."""
        out = ""
        glob = False
        quoted_any = False
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch == "\\" and i + 1 < len(raw):
                out += raw[i + 1]
                i += 2
            elif ch == "'":
                end = _closing(raw, i, "'")
                out += raw[i + 1 : end]
                quoted_any = True
                i = end + 1
            elif ch == '"':
                end = _closing(raw, i, '"')
                out += self._expand_dollars(raw[i + 1 : end], quoted=True)
                quoted_any = True
                i = end + 1
            elif ch == "`":
                end = _closing(raw, i, "`")
                out += self._substitute(_unescape_backticks(raw[i + 1 : end]))
                i = end + 1
            elif ch == "$":
                text, i = self._dollar(raw, i)
                out += text
            else:
                glob = glob or ch in "*?"
                out += ch
                i += 1
        if glob and not quoted_any:
            matches = sorted(p for p in self.view.files if fnmatch.fnmatch(p, out))
            if matches:
                return matches
        if out == "" and not quoted_any:
            return []
        return [out]

    def _expand_dollars(self, text: str, quoted: bool) -> str:
        out = ""
        i = 0
        while i < len(text):
            if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in '$"\\`':
                out += text[i + 1]
                i += 2
            elif text[i] == "$":
                value, i = self._dollar(text, i)
                out += value
            elif text[i] == "`":
                end = _closing(text, i, "`")
                out += self._substitute(_unescape_backticks(text[i + 1 : end]))
                i = end + 1
            else:
                out += text[i]
                i += 1
        return out

    def _dollar(self, text: str, i: int) -> tuple[str, int]:
        if text.startswith("$(", i):
            end = _closing_paren(text, i + 1)
            return self._substitute(text[i + 2 : end]), end + 1
        if text.startswith("${", i):
            end = text.find("}", i)
            end = len(text) if end < 0 else end
            return self._variable(text[i + 2 : end]), end + 1
        match = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*|[0-9?#@*$])", text[i:])
        if not match:
            return "$", i + 1
        return self._variable(match.group(1)), i + len(match.group(0))

    def _variable(self, name: str) -> str:
        if name.isdigit():
            index = int(name)
            return (
                "bash"
                if index == 0
                else (self.params[index - 1] if index <= len(self.params) else "")
            )
        if name == "?":
            return str(self.last)
        if name == "#":
            return str(len(self.params))
        if name in ("@", "*"):
            return " ".join(self.params)
        if name == "$":
            return "1234"
        return self.vars.get(name, "")

    def _substitute(self, script: str) -> str:
        if self.depth >= MAX_DEPTH:
            return ""
        inner = Shell(self.view, self.changes, self.params, self.depth + 1)
        inner.vars = self.vars
        return inner.run(script).stdout.rstrip("\n")
