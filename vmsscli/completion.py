"""Shell completion: scripts for bash, zsh, fish and PowerShell, and the fast callback they use.

The scripts call `vmss __complete SHELL -- WORDS...` with the words of the line so far, the
program name first and the word being completed last. Values that come from the state file
(resource groups, scale sets, instance ids) are read straight from the file with the standard
library: no lock, no write, no validation, nothing printed but candidates, and no candidates at
all when the file is missing or broken, so a completion on a 1000-instance scale set stays well
under 150 ms. Only completing a flag name or a command name builds the command tree.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

SHELLS = ("bash", "zsh", "fish", "powershell")
OUTPUT_FORMATS = ("json", "jsonc", "yaml", "yamlc", "table", "tsv", "none")
RG_FLAGS = ("-g", "--resource-group")
NAME_FLAGS = (
    "-n",
    "--name",
    "--vmss-name",
    "--virtual-machine-scale-set-name",
    "--vm-scale-set-name",
)
INSTANCE_FLAGS = ("--instance-id", "--instance-ids")
CHOICES = {
    "-o": OUTPUT_FORMATS,
    "--output": OUTPUT_FORMATS,
    "--upgrade-policy-mode": ("Automatic", "Manual", "Rolling"),
    "--orchestration-mode": ("Uniform", "Flexible"),
}
FILE_FLAGS = ("--state", "--from")


def complete(words: list[str], environ: dict[str, str] | None = None) -> list[str]:
    """Candidates ("value" or "value\\tdescription") for the last of `words`."""
    env = dict(os.environ if environ is None else environ)
    words, env = _line_environment(words, env)
    if not words:
        words = [""]
    current, before = words[-1], words[:-1]
    flag = _value_flag(before)
    if current.startswith("-") and flag is None:
        return [c for c in _flags(before) if c.startswith(current)]
    if flag in CHOICES:
        return [c for c in CHOICES[flag] if c.lower().startswith(current.lower())]
    if flag in RG_FLAGS + NAME_FLAGS + INSTANCE_FLAGS:
        return [c for c in _state_values(flag, before, env) if c.startswith(current)]
    if flag == "--command-id":
        from vmsscli.guest.catalog import COMMAND_IDS

        return [
            f"{name}\t{os}: {text}"
            for name, (os, text) in COMMAND_IDS.items()
            if name.lower().startswith(current.lower())
        ]
    if flag == "--kind":
        from vmsscli.domain.faults import KINDS

        return [f"{k}\t{kind.summary}" for k, kind in KINDS.items() if k.startswith(current)]
    if flag == "--scenario" or (flag is None and _names_scenario(before)):
        from vmsscli.scenarios import available

        return [name for name in available() if name.startswith(current)]
    if flag is not None:
        return []
    return [c for c in _subcommands(before) if c.startswith(current)]


def _names_scenario(before: list[str]) -> bool:
    """`scenario show|load NAME` and `exercise start NAME` take a scenario's name."""
    path = [w for w in before if not w.startswith("-")]
    return path in (["scenario", "show"], ["scenario", "load"], ["exercise", "start"])


def _line_environment(words: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Drop the program name; assignments typed before it (`VMSSCLI_STATE=x vmss ...`) count."""
    out = list(words)
    while out and "=" in out[0] and out[0].split("=", 1)[0].isidentifier():
        name, value = out.pop(0).split("=", 1)
        env[name] = value
    if out and (out[0] == "vmss" or out[0].endswith("/vmss")):
        out = out[1:]
    return out, env


def _value_flag(before: list[str]) -> str | None:
    """The flag whose value is being typed: the previous word, or --instance-ids (and other
    multi-value flags) anywhere since the last option."""
    if before and before[-1].startswith("-") and _takes_value(before[-1]):
        return before[-1]
    for word in reversed(before):
        if word.startswith("-"):
            return word if word in ("--instance-ids",) else None
    return None


def _takes_value(flag: str) -> bool:
    return (
        flag in CHOICES
        or flag in RG_FLAGS + NAME_FLAGS + INSTANCE_FLAGS + FILE_FLAGS
        or flag
        in (
            "--command-id",
            "--query",
            "--new-capacity",
            "--since",
            "--zones",
            "-z",
            "--ids",
            "--scripts",
            "--parameters",
            "--image",
            "--vm-sku",
            "--kind",
            "--scenario",
        )
    )


def _typed(before: list[str], flags: tuple[str, ...]) -> str | None:
    for index, word in enumerate(before[:-1]):
        if word in flags:
            return before[index + 1]
        for flag in flags:
            if flag.startswith("--") and word.startswith(flag + "="):
                return word.split("=", 1)[1]
    return None


def _read_state(before: list[str], env: dict[str, str]) -> dict[str, Any]:
    """The raw state file (no validation, no lock); {} when missing or unreadable."""
    chosen = _typed(before, ("--state",)) or env.get("VMSSCLI_STATE") or "~/.vmsscli/state.json"
    path = Path(os.path.expanduser(chosen))
    try:
        raw = path.read_bytes()
        if path.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(raw.decode("utf-8"))
        else:
            import json

            data = json.loads(raw)
    except Exception:
        return {}
    return data if isinstance(data, dict) else {}


def _state_values(flag: str, before: list[str], env: dict[str, str]) -> list[str]:
    try:
        groups = _read_state(before, env).get("resource_groups") or {}
        if flag in RG_FLAGS:
            return sorted(groups)
        rg = _typed(before, RG_FLAGS)
        chosen = [g for name, g in groups.items() if rg is None or name.casefold() == rg.casefold()]
        if flag in NAME_FLAGS:
            return sorted(name for g in chosen for name in (g.get("scale_sets") or {}))
        vmss = _typed(before, NAME_FLAGS)
        out = []
        for group in chosen:
            for name, scale_set in (group.get("scale_sets") or {}).items():
                if vmss is not None and name.casefold() != vmss.casefold():
                    continue
                for inst in scale_set.get("instances") or []:
                    power = inst.get("power_state", "running")
                    health = inst.get("health", "healthy") if power == "running" else "unknown"
                    out.append(f"{inst['id']}\t{power}, {health}")
        return out
    except Exception:
        return []


def _tree(before: list[str]):
    """The command tree, built for these words as a run of them would build it: the command
    they name and no other, or every command when they name none."""
    from typer.main import get_command

    from vmsscli.cli.app import build_app

    return get_command(build_app(before))


def _command_at(before: list[str]):
    node = _tree(before)
    for word in before:
        commands = getattr(node, "commands", None)
        if commands is None or word not in commands:
            break
        node = commands[word]
    return node


def _subcommands(before: list[str]) -> list[str]:
    node = _command_at(before)
    commands = getattr(node, "commands", None) or {}
    return [
        f"{name}\t{(cmd.help or '').strip().splitlines()[0] if cmd.help else ''}"
        for name, cmd in commands.items()
        if not getattr(cmd, "hidden", False)
    ]


def _flags(before: list[str]) -> list[str]:
    from vmsscli.cli.azparse import GLOBAL_ARGUMENTS

    node = _command_at(before)
    if hasattr(node, "commands"):
        return ["--help"]
    names = []
    for param in node.params:
        if getattr(param, "hidden", False) or not getattr(param, "opts", None):
            continue
        if param.opts[0].startswith("-"):
            names += [opt for opt in param.opts if opt.startswith("--")]
    names += [
        opt for opts, _help, _value in GLOBAL_ARGUMENTS for opt in opts if opt.startswith("--")
    ]
    return [*names, "--help"]


def main(argv: list[str]) -> None:
    """`vmss __complete SHELL -- WORDS...`: print candidates, one per line; never fail."""
    try:
        words = argv[argv.index("--") + 1 :] if "--" in argv else argv[1:]
        shell = argv[0] if argv else "bash"
        candidates = complete(words)
        if shell in ("bash", "powershell"):
            candidates = [c.split("\t", 1)[0] for c in candidates]
        sys.stdout.write("".join(c + "\n" for c in candidates))
    except Exception:  # completion prints candidates or nothing, never an error
        pass


# --- the scripts ---------------------------------------------------------------------------------

BASH = """\
# bash completion for vmss (generated by `vmss completion bash`)
# Install: source this file from ~/.bashrc, or copy it to
# /etc/bash_completion.d/vmss (or ~/.local/share/bash-completion/completions/vmss).
_vmss_complete() {
    local IFS=$'\\n'
    local words=("${COMP_WORDS[@]:0:COMP_CWORD+1}")
    case "${COMP_WORDS[COMP_CWORD-1]}" in
        --state|--from) COMPREPLY=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}")); return ;;
    esac
    COMPREPLY=($(vmss __complete bash -- "${words[@]}" 2>/dev/null))
}
complete -o default -F _vmss_complete vmss
"""

ZSH = """\
#compdef vmss
# zsh completion for vmss (generated by `vmss completion zsh`)
# Install: put this file in a folder on $fpath as `_vmss` (e.g. ~/.zfunc/_vmss with
# `fpath=(~/.zfunc $fpath); autoload -Uz compinit; compinit` in ~/.zshrc).
_vmss() {
    local -a candidates
    local line
    case "${words[CURRENT-1]}" in
        --state|--from) _files; return ;;
    esac
    for line in "${(@f)$(vmss __complete zsh -- "${(@)words[1,CURRENT]}" 2>/dev/null)}"; do
        [[ -n "$line" ]] && candidates+=("${line/$'\\t'/:}")
    done
    _describe 'vmss' candidates
}
if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then
    _vmss "$@"
else
    compdef _vmss vmss
fi
"""

FISH = """\
# fish completion for vmss (generated by `vmss completion fish`)
# Install: copy to ~/.config/fish/completions/vmss.fish
function __vmss_complete
    set -l words (commandline -opc) (commandline -ct)
    vmss __complete fish -- $words 2>/dev/null
end
complete -c vmss -f -a '(__vmss_complete)'
complete -c vmss -l state -r -F
"""

POWERSHELL = """\
# PowerShell completion for vmss (generated by `vmss completion powershell`)
# Install: add this to your profile ($PROFILE), or dot-source this file from it.
Register-ArgumentCompleter -Native -CommandName vmss -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $words = @($commandAst.CommandElements | ForEach-Object { "$_" })
    if ($wordToComplete -eq '') { $words += '' }
    vmss __complete powershell -- @words 2>$null | ForEach-Object {
        [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
    }
}
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH, "powershell": POWERSHELL}
FILE_NAMES = {"bash": "vmss.bash", "zsh": "_vmss", "fish": "vmss.fish", "powershell": "vmss.ps1"}
