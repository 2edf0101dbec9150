"""Nothing a run-command script says reaches the host: no shell, no subprocess, no eval, no file.

Scripts that would do harm on a real machine (`touch /tmp/...`, `$(touch ...)`, backticks,
`rm -rf /`, redirections to absolute host paths, `; python3 -c ...`, `bash -c`, `eval`) are
sent through `vmss run-command invoke`, in-process and as a real `vmss` process. The proof:

- a snapshot of the test's own directory tree (a "host" directory with files the scripts aim
  at, HOME, and the state file's directory) is unchanged apart from the state file and its
  companions (lock, backup, temp files);
- nothing named with this run's marker appears under /tmp (only names carrying the marker are
  compared, since other sessions use /tmp at the same time);
- in-process, subprocess.Popen, os.system, os.popen, os.exec*/spawn*/fork are replaced by traps
  that must never fire, builtins eval/exec/compile are watched for the script text, and an
  audit hook (sys.addaudithook) records every process start, file opened for writing and file
  changed, allowing only the state file and its companions;
- in a subprocess, PATH starts with a directory of trap programs (touch, python3, sh, bash, rm,
  ...) that write a canary file if anything ever runs them.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import run_vmss

WEB = ["-g", "rg-web", "-n", "web-vmss"]
TSV_MESSAGE = ("--query", "value[0].message", "-o", "tsv")

# --- an audit hook, installed once, recording only while a test asks it to --------------------

_RECORDING: list[list[tuple[str, tuple]]] = []
PROCESS_EVENTS = {
    "subprocess.Popen",
    "os.system",
    "os.popen",
    "os.exec",
    "os.spawn",
    "os.posix_spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "ctypes.dlopen",
}
FILE_EVENTS = {
    "open",
    "os.remove",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.link",
    "os.symlink",
    "os.truncate",
    "os.chmod",
    "os.chown",
    "os.utime",
    "shutil.rmtree",
    "shutil.copyfile",
    "shutil.move",
}
WATCHED = PROCESS_EVENTS | FILE_EVENTS | {"compile", "exec"}


def _audit(event: str, args: tuple) -> None:
    if _RECORDING and event in WATCHED:
        _RECORDING[-1].append((event, args))


sys.addaudithook(_audit)


def _is_write(args: tuple) -> bool:
    mode, flags = (args[1], args[2]) if len(args) >= 3 else (None, 0)
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    return isinstance(flags, int) and bool(flags & write_flags)


# --- snapshots ---------------------------------------------------------------------------------


def is_state_file(path: Path, state_path: Path) -> bool:
    """The state file and what the store keeps next to it (lock, backup, temp files)."""
    return path.parent == state_path.parent and (
        path.name.startswith(state_path.name) or path.name.startswith(f".{state_path.name}.")
    )


def tree(root: Path, state_path: Path) -> dict[str, tuple]:
    """Every entry under `root` (but the state files): kind, size, mtime, content digest."""
    out: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            if is_state_file(path, state_path):
                continue
            info = path.lstat()
            digest = ""
            if stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[str(path.relative_to(root))] = (
                stat.S_IFMT(info.st_mode),
                info.st_size if not stat.S_ISDIR(info.st_mode) else 0,
                info.st_mtime_ns if not stat.S_ISDIR(info.st_mode) else 0,
                digest,
            )
    return out


def tmp_names(marker: str) -> dict[str, int]:
    """Names (and mtimes) under /tmp that carry this run's marker."""
    out = {}
    for folder, _dirs, files in os.walk("/tmp"):
        for name in files + _dirs:
            if marker in name:
                path = os.path.join(folder, name)
                try:
                    out[path] = os.lstat(path).st_mtime_ns
                except OSError:
                    out[path] = -1
        if folder.count(os.sep) >= 2:  # /tmp and one level below are enough
            _dirs[:] = []
    return out


@pytest.fixture
def marker() -> str:
    return f"vmss-sec-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def host(tmp_path) -> Path:
    """A directory on the host with files the scripts aim at."""
    root = tmp_path / "host"
    (root / "sub").mkdir(parents=True)
    (root / "keep.txt").write_text("precious\n")
    (root / "sub" / "data.bin").write_bytes(b"\x00\x01\x02")
    return root


def hostile_scripts(marker: str, host: Path) -> dict[str, str]:
    tmp = f"/tmp/{marker}"
    return {
        "touch": f"touch {tmp}-touch",
        "dollar-substitution": f"echo $(touch {tmp}-subst) done",
        "backticks": f"echo `touch {tmp}-tick` done",
        "quoted-substitution": f'echo "$(touch {tmp}-quoted; echo x)"',
        "rm-rf-root": "rm -rf / --no-preserve-root; rm -rf /*",
        "rm-rf-host-dir": f"rm -rf {host}; rm -f {host}/keep.txt",
        "redirect-overwrite": f"echo pwned > {host}/keep.txt",
        "redirect-new-file": f"echo pwned > {host}/new.txt; echo more >> {host}/sub/new.txt",
        "redirect-to-tmp": f"hostname > {tmp}-redirect; cat /nope 2> {tmp}-stderr",
        "redirect-relative": f"echo pwned > {marker}-relative.txt",
        "python": f'hostname; python3 -c \'open("{tmp}-py", "w").write("x")\'',
        "leading-semicolon-python": (
            f"; python3 -c \"import os; os.system('touch {tmp}-system')\""
        ),
        "bash-c": f"bash -c 'touch {tmp}-bash'; sh -c \"touch {tmp}-sh\"",
        "eval-exec-source": f"eval 'touch {tmp}-eval'; exec touch {tmp}-exec; . {tmp}-x",
        "substitution-as-command": f"$(echo touch) {tmp}-word; `echo touch` {tmp}-word2",
        "curl-output": f"curl -s -o {tmp}-curl http://example.com/; curl -s -o {host}/c.html x.org",
        "read-host-files": f"cat /etc/passwd /etc/shadow {host}/keep.txt; ls / {host}",
        "chained": f"true && touch {tmp}-and || touch {tmp}-or; false || touch {tmp}-or2",
        "pipes": f"echo data | tee {tmp}-tee | dd of={tmp}-dd",
    }


def traps(monkeypatch) -> list[str]:
    """Replace every way to start a process; return the list the traps fill."""
    fired: list[str] = []

    def trap(name):
        def refuse(*args, **kwargs):
            fired.append(f"{name}{args!r}")
            raise AssertionError(f"{name} was called: {args!r}")

        return refuse

    monkeypatch.setattr(subprocess, "Popen", trap("subprocess.Popen"))
    monkeypatch.setattr(os, "system", trap("os.system"))
    monkeypatch.setattr(os, "popen", trap("os.popen"))
    for name in (
        "execv",
        "execve",
        "execvp",
        "execvpe",
        "execl",
        "execle",
        "execlp",
        "execlpe",
        "spawnv",
        "spawnve",
        "spawnvp",
        "spawnl",
        "posix_spawn",
        "posix_spawnp",
        "fork",
        "forkpty",
    ):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, trap(f"os.{name}"))
    return fired


def spies(monkeypatch, needle: str) -> list[str]:
    """Watch eval, exec and compile for source text carrying `needle` (they still work)."""
    seen: list[str] = []
    real = {"eval": builtins.eval, "exec": builtins.exec, "compile": builtins.compile}

    def watch(name):
        def call(source, *args, **kwargs):
            text = source if isinstance(source, str) else ""
            if isinstance(source, bytes):
                text = source.decode("utf-8", "replace")
            if needle in text:
                seen.append(f"{name}: {text[:200]}")
            if name in ("eval", "exec") and not args and "globals" not in kwargs:
                frame = sys._getframe(1)
                args = (frame.f_globals, frame.f_locals)
            return real[name](source, *args, **kwargs)

        return call

    for name in real:
        monkeypatch.setattr(builtins, name, watch(name))
    return seen


def violations(events, state_path: Path, host: Path, marker: str) -> list[str]:
    bad = []
    for event, args in events:
        if event in PROCESS_EVENTS:
            bad.append(f"{event}{args!r}"[:300])
            continue
        if event in ("compile", "exec"):
            source = args[0] if args else None
            if isinstance(source, bytes):
                source = source.decode("utf-8", "replace")
            if isinstance(source, str) and marker in source:
                bad.append(f"{event}: {source[:200]}")
            continue
        paths = [a for a in args if isinstance(a, str | bytes | os.PathLike)]
        for raw in paths:
            text = os.fsdecode(raw)
            if marker in text or text.startswith(str(host)):
                bad.append(f"{event}{args!r}"[:300])
                break
        else:
            if event == "open" and not _is_write(args):
                continue
            if not paths:  # file descriptors (fchmod on the temp file)
                continue
            target = Path(os.fsdecode(paths[0]))
            if target == state_path.parent or is_state_file(target, state_path):
                continue
            if str(target) == os.devnull:
                continue
            bad.append(f"{event}{args!r}"[:300])
    return bad


# --- in-process --------------------------------------------------------------------------------


def invoke(cli, instance_id: int, *scripts: str, extra: tuple[str, ...] = ()):
    args = ["run-command", "invoke", *WEB, "--instance-id", str(instance_id)]
    return cli(*args, "--command-id", "RunShellScript", "--scripts", *scripts, *extra)


@pytest.mark.parametrize(
    "case", list(hostile_scripts("MARKER", Path("/HOST"))), ids=lambda case: case
)
def test_a_hostile_script_changes_nothing_on_the_host_in_process(
    case, cli, state_path, tmp_path, host, marker, monkeypatch
):
    script = hostile_scripts(marker, host)[case]
    monkeypatch.chdir(host)
    # Warm up: the first invocation imports what run-command needs (and may write bytecode).
    assert invoke(cli, 1, "hostname").exit_code == 0
    before_tree, before_tmp = tree(tmp_path, state_path), tmp_names(marker)

    events: list[tuple[str, tuple]] = []
    with pytest.MonkeyPatch.context() as patch:
        fired = traps(patch)
        seen = spies(patch, marker)
        _RECORDING.append(events)
        try:
            result = invoke(cli, 0, script)
        finally:
            _RECORDING.remove(events)

    assert result.exit_code == 0, result.stderr
    assert fired == []
    assert seen == []
    assert violations(events, state_path, host, marker) == []
    assert tree(tmp_path, state_path) == before_tree
    assert tmp_names(marker) == before_tmp == {}
    assert (host / "keep.txt").read_text() == "precious\n"
    message = result.json()["value"][0]["message"]
    assert "precious" not in message  # the host's file was never read
    assert "root:x:0:0" not in message


def test_subprocess_popen_and_os_system_are_never_called_by_an_invocation(
    cli, monkeypatch, marker, host
):
    fired = traps(monkeypatch)
    scripts = list(hostile_scripts(marker, host).values())
    result = invoke(cli, 2, *scripts)
    assert result.exit_code == 0, result.stderr
    assert fired == []


def test_host_paths_in_a_script_are_paths_in_the_simulated_guest(cli, state_path, host, marker):
    result = invoke(
        cli,
        0,
        f"echo pwned > {host}/keep.txt",
        f"touch /tmp/{marker}",
        f"cat {host}/keep.txt",
        f"ls /tmp | grep {marker}",
        extra=TSV_MESSAGE,
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Enable succeeded: \n[stdout]\npwned\n{marker}\n\n[stderr]\n\n"
    assert (host / "keep.txt").read_text() == "precious\n"
    assert not Path("/tmp", marker).exists()
    data = json.loads(state_path.read_text())
    instances = data["resource_groups"]["rg-web"]["scale_sets"]["web-vmss"]["instances"]
    guest = next(i for i in instances if i["id"] == 0)["guest"]
    assert guest["files"] == {f"{host}/keep.txt": "pwned\n", f"/tmp/{marker}": ""}


def test_rm_rf_root_only_empties_the_simulated_guest(cli, state_path, host):
    result = invoke(cli, 0, "rm -rf /", "ls /; cat /etc/hostname")
    assert result.exit_code == 0, result.stderr
    assert result.json()["value"][0]["message"] == (
        "Enable succeeded: \n[stdout]\n\n[stderr]\ncat: /etc/hostname: No such file or directory\n"
    )
    assert (host / "keep.txt").read_text() == "precious\n"
    # Other instances keep their files.
    other = invoke(cli, 1, "cat /etc/hostname")
    assert "webvm000001" in other.json()["value"][0]["message"]


def test_a_host_interpreter_in_a_script_is_not_found(cli):
    result = invoke(cli, 0, "; python3 -c 'print(42)'", "bash -c 'echo 42'", extra=TSV_MESSAGE)
    assert result.stdout == (
        "Enable succeeded: \n[stdout]\n\n[stderr]\n"
        "bash: python3: command not found\nbash: bash: command not found\n\n"
    )


# --- a real vmss process -----------------------------------------------------------------------


def trap_bin(tmp_path: Path, canary: Path) -> Path:
    """Programs that, if anything ever ran them, would leave a line in `canary`."""
    folder = tmp_path / "trap-bin"
    folder.mkdir()
    for name in (
        "touch",
        "rm",
        "python",
        "python3",
        "sh",
        "bash",
        "dash",
        "echo",
        "cat",
        "curl",
        "ping",
        "hostname",
        "systemctl",
        "tee",
        "dd",
        "ls",
        "eval",
        "exec",
    ):
        program = folder / name
        program.write_text(f'#!/bin/sh\nprintf "%s\\n" "$0 $*" >> "{canary}"\n')
        program.chmod(0o755)
    return folder


def test_a_hostile_script_changes_nothing_on_the_host_in_a_vmss_process(
    state_path, tmp_path, host, marker
):
    canary = tmp_path / "canary.log"
    env = {"PATH": f"{trap_bin(tmp_path, canary)}{os.pathsep}{os.environ.get('PATH', '')}"}
    scripts = list(hostile_scripts(marker, host).values())
    script_file = tmp_path / "hostile.sh"
    script_file.write_text("\n".join(scripts) + "\n")
    before_tree, before_tmp = tree(tmp_path, state_path), tmp_names(marker)

    common = ["run-command", "invoke", *WEB, "--command-id", "RunShellScript"]
    as_lines = run_vmss(
        *common, "--instance-id", "0", "--scripts", *scripts, state=state_path, env=env
    )
    from_file = run_vmss(
        *common, "--instance-id", "1", "--scripts", f"@{script_file}", state=state_path, env=env
    )

    for result in (as_lines, from_file):
        assert result.exit_code == 0, result.stderr
        message = result.json()["value"][0]["message"]
        assert "precious" not in message and "root:x:0:0" not in message
    assert not canary.exists(), canary.read_text()
    assert tree(tmp_path, state_path) == before_tree
    assert tmp_names(marker) == before_tmp == {}
    assert (host / "keep.txt").read_text() == "precious\n"
    assert (host / "sub" / "data.bin").read_bytes() == b"\x00\x01\x02"
    # The writes landed in the simulated guest, in the state file.
    data = json.loads(state_path.read_text())
    instances = data["resource_groups"]["rg-web"]["scale_sets"]["web-vmss"]["instances"]
    guest = next(i for i in instances if i["id"] == 1)["guest"]
    assert guest["files"][f"{host}/new.txt"] == "pwned\n"
    assert guest["files"][f"/tmp/{marker}-redirect"] == "webvm000001\n"


def test_the_trap_programs_would_catch_a_real_shell(tmp_path):
    """The subprocess test's canary works: a real shell finding them on PATH leaves a line."""
    canary = tmp_path / "canary.log"
    folder = trap_bin(tmp_path, canary)
    env = {"PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(["/bin/sh", "-c", "touch /nonexistent/x"], env=env, check=False)
    assert canary.read_text().startswith(f"{folder}/touch /nonexistent/x")
