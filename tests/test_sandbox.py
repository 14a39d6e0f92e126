"""The python sandbox: honest judge code works; each attack is contained and the caller goes on.

Attacks run at every isolation level this host has. `-no-audit` variants switch the in-process audit
hook off, so that they test the namespaces, the read-only filesystem and the uid drop on their own.
"""
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from model.sandbox import ENV_VAR, SandboxError, available_levels, isolation, isolation_level, run_python
from model.sandbox import __main__ as cli

REPO = Path(__file__).resolve().parent.parent
AVAILABLE = available_levels()
INPUTS = {"prompt": "Count the words.", "candidates": {"A": "one two three", "B": "four five"},
          "sample": {"reference": "two words"}}
MARKER = b"Bootstrap run by the sandboxed interpreter"  # in the argv of every sandboxed interpreter


def _layer(level, audit=True):
    skip = [] if level in AVAILABLE else [pytest.mark.skip(reason=f"{level} isolation is not available here")]
    return pytest.param((level, audit), marks=skip, id=level + ("" if audit else "-no-audit"))


DEFAULT = [_layer("bwrap"), _layer("unshare"), _layer("rlimits")]  # what callers get at each level
EVERY = [*DEFAULT, _layer("bwrap", False), _layer("unshare", False)]
NAMESPACES = [p for p in EVERY if p.values[0][0] != "rlimits"]


def run(code, layer, inputs=INPUTS, **kw):
    level, audit = layer
    result = run_python(code, inputs, isolation=level, audit=audit, allow_weak_isolation=level == "rlimits", **kw)
    assert result.isolation == level
    return result


def _processes():
    """pid -> (ppid, argv bytes) of every process on the host."""
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                ppid = int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1])
                procs[int(name)] = (ppid, Path(f"/proc/{name}/cmdline").read_bytes())
            except (OSError, ValueError):
                pass
    return procs


def sandboxed_interpreters():
    """Sandboxed interpreters started by this test process (children of bwrap/unshare included)."""
    procs, me, exe = _processes(), os.getpid(), isolation.layout().exe.encode()
    found = []
    for pid, (ppid, argv) in procs.items():
        if MARKER in argv and argv.startswith(exe):
            while ppid not in (0, 1, me):
                ppid = procs.get(ppid, (0, b""))[0]
            if ppid == me:
                found.append(pid)
    return found


def orphaned_interpreters():
    """Sandboxed interpreters adopted by the host's init: they escaped their sandbox's lifetime."""
    return [pid for pid, (ppid, argv) in _processes().items() if MARKER in argv and ppid == 1]


# ------------------------------------------------------------------------------------ honest code

HONEST = r'''
import collections, json, math, re, statistics, tempfile
from dataclasses import dataclass
from fractions import Fraction
words = {label: len(text.split()) for label, text in candidates.items()}
print(json.dumps(words, sort_keys=True))
print(bool(re.search(r"\btwo\b", candidates["A"])), prompt.upper(), sample["reference"])
print(Fraction(1, 3) + Fraction(1, 6), math.comb(5, 2), statistics.mean([1, 2, 3]), 2 ** 100 % 97)
Point = collections.namedtuple("Point", "x y")
@dataclass
class Score:
    value: int
print(Point(1, 2).y, Score(7).value, len(bytearray(64 << 20)))
with open("notes.txt", "w") as f:
    f.write("kept")
with tempfile.TemporaryFile() as t:
    t.write(b"tmp")
print(open("notes.txt").read())
'''
HONEST_OUT = '{"A": 3, "B": 2}\nTrue COUNT THE WORDS. two words\n1/2 10 2 16\n2 7 67108864\nkept\n'


@pytest.mark.parametrize("layer", DEFAULT)
def test_honest_code_runs(layer):
    result = run(HONEST, layer)
    assert (result.ok, result.error, result.stderr) == (True, None, "")
    assert result.stdout == HONEST_OUT and not result.timed_out and result.wall_s > 0


@pytest.mark.parametrize("layer", DEFAULT)
def test_threads_and_temporary_directories_work(layer):
    code = """
import os, tempfile, threading
from concurrent.futures import ThreadPoolExecutor
seen = []
worker = threading.Thread(target=seen.append, args=(1,))
worker.start()
worker.join()
with ThreadPoolExecutor(4) as pool:
    seen.append(sum(pool.map(abs, range(-5, 5))))
with tempfile.TemporaryDirectory() as folder:
    os.mkdir(os.path.join(folder, "sub"))
    with open(os.path.join(folder, "sub", "a.txt"), "w") as f:
        f.write("x")
    seen.append(os.listdir(folder))
print(seen, os.path.exists(folder))
"""
    result = run(code, layer)
    assert result.ok and result.stdout == "[1, 25, ['sub']] False\n", result.stderr[-2000:]


def test_large_inputs_and_output_pass_through():
    text = "word " * 200_000  # 1 MB: more than a pipe holds at once
    code = "print(len(candidates['A'].split()))\nprint('x' * 60000)"
    result = run_python(code, {"candidates": {"A": text}})
    assert result.ok and result.stdout.splitlines() == ["200000", "x" * 60000]


def test_strongest_level_is_the_default():
    assert isolation_level() == AVAILABLE[0]
    assert run_python("print(1)").isolation == AVAILABLE[0]
    if subprocess.run(["bwrap", "--ro-bind", "/", "/", "true"], capture_output=True).returncode == 0:
        assert isolation_level() == "bwrap"


def test_exceptions_become_one_line_errors():
    result = run_python("x = 1\nprint('before')\n1 / x * (1 / 0)")
    assert not result.ok and result.stdout == "before\n"
    assert result.error == "ZeroDivisionError: division by zero"
    assert 'File "<judge>", line 3' in result.stderr and "1 / x * (1 / 0)" in result.stderr
    assert run_python("def f(:\n    pass").error.startswith("SyntaxError")
    assert run_python("import sys\nprint('x')\nsys.exit(0)").ok
    assert run_python("import sys\nsys.exit('bad verdict')").error == "SystemExit: bad verdict"


def test_caller_errors_raise():
    with pytest.raises(TypeError):
        run_python("pass", {"candidates": {"A": object()}})
    with pytest.raises(ValueError, match="identifiers"):
        run_python("pass", {"not an identifier": 1})
    with pytest.raises(ValueError, match="unknown sandbox isolation"):
        run_python("pass", isolation="chroot")


def test_isolation_can_be_forced_by_env(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "rlimits")
    assert run_python("print(1)", allow_weak_isolation=True).isolation == "rlimits"


def test_concurrent_calls_from_threads():
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: run_python(f"print({i} * 2)"), range(8)))
    assert [r.stdout for r in results] == [f"{i * 2}\n" for i in range(8)]


def test_broken_sandbox_raises_and_cli_fails(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(isolation, "command", lambda level, host_dir, seccomp_fd: ["false"])
    with pytest.raises(SandboxError, match="failed to start"):
        run_python("print(1)")
    code = tmp_path / "c.py"
    code.write_text("print(1)")
    assert cli.main(["--code-file", str(code)]) == 2
    assert capsys.readouterr().out == ""


# ----------------------------------------------------------------------------------------- the CLI

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "model.sandbox", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_cli_prints_one_json_object(tmp_path):
    code, inputs = tmp_path / "judge.py", tmp_path / "inputs.json"
    code.write_text("print(len(candidates['A'].split()), prompt)")
    inputs.write_text(json.dumps(INPUTS))
    proc = _cli("--code-file", str(code), "--inputs-file", str(inputs), "--timeout", "5")
    assert proc.returncode == 0 and proc.stdout.count("\n") == 1
    out = json.loads(proc.stdout)
    assert out["ok"] and out["stdout"] == "3 Count the words.\n"
    assert {"ok", "stdout", "stderr", "error", "timed_out", "isolation", "wall_s"} <= set(out)

    code.write_text("raise ValueError('no verdict')")
    proc = _cli("--code-file", str(code))
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["error"] == "ValueError: no verdict"


def test_cli_help_and_bad_arguments(tmp_path):
    assert _cli("--help").returncode == 0
    proc = _cli("--code-file", str(tmp_path / "missing.py"))
    assert proc.returncode == 2 and proc.stdout == "" and "missing.py" in proc.stderr


# --------------------------------------------------------------------------------------- network

NETWORK = '''
import socket
outcome = []
for address in [("127.0.0.1", sample["port"]), ("1.1.1.1", 53)]:
    try:
        socket.create_connection(address, timeout=2)
        outcome.append("CONNECTED")
    except OSError as e:
        outcome.append(type(e).__name__)
try:
    socket.getaddrinfo("pypi.org", 443)
    outcome.append("RESOLVED")
except OSError as e:
    outcome.append(type(e).__name__)
print(outcome)
'''


@pytest.mark.parametrize("layer", EVERY)
def test_network_is_unreachable(layer):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        result = run(NETWORK, layer, inputs={"sample": {"port": listener.getsockname()[1]}})
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected to the host's loopback
    assert result.ok, result.stderr
    assert "CONNECTED" not in result.stdout and "RESOLVED" not in result.stdout
    if layer[1]:
        assert result.stdout.count("PermissionError") == 3


# ------------------------------------------------------------------------------------ filesystem

READ = '''
import os
for path in sample["paths"]:
    try:
        with open(path) as f:
            print("READ", path, f.read(64))
    except OSError as e:
        print("refused", path, type(e).__name__)
for folder in ("/", "/work", "/root", "/etc"):
    try:
        print("LISTED", folder, sorted(os.listdir(folder)))
    except OSError as e:
        print("refused", folder, type(e).__name__)
'''


@pytest.mark.parametrize("layer", EVERY)
def test_files_outside_are_unreadable(layer, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the gold label is A")
    candidates = [secret, Path("/etc/shadow"), REPO / "pyproject.toml", REPO / ".venv" / "pyvenv.cfg",
                  Path("/root/.bashrc"), REPO.parent / "shared" / "docs" / "DESIGN.md"]
    paths = [str(p) for p in candidates if p.exists()]
    result = run(READ, layer, inputs={"sample": {"paths": paths}})
    assert result.ok, result.stderr
    assert "READ" not in result.stdout and "gold label" not in result.stdout
    assert all(f"refused {path} " in result.stdout for path in paths)
    if layer[1]:
        assert "LISTED" not in result.stdout
    else:  # the sandbox's root holds only the interpreter's files
        lines = [line.split(" ", 2) for line in result.stdout.splitlines()]
        listing = {folder: names for tag, folder, names in lines if tag == "LISTED"}
        assert set(listing) <= {"/", "/root"} and "'work'" not in listing["/"] and "'etc'" not in listing["/"]


WRITE = '''
for path in sample["paths"]:
    try:
        with open(path, "w") as f:
            f.write("pwned")
        print("wrote", path)
    except OSError as e:
        print("refused", path, type(e).__name__)
with open("own.txt", "w") as f:
    f.write("fine")
print(open("own.txt").read())
'''


@pytest.mark.parametrize("layer", EVERY)
def test_writes_outside_never_reach_the_host(layer, tmp_path):
    tag = uuid.uuid4().hex
    targets = [Path(f"/tmp/skillrm-pwned-{tag}"), REPO / f"pwned-{tag}", tmp_path / "pwned",
               Path(isolation.layout().binds[-2]) / f"pwned_{tag}.py"]  # the stdlib directory
    assert targets[-1].parent.is_dir()
    result = run(WRITE, layer, inputs={"sample": {"paths": [str(p) for p in targets]}})
    escaped = [p for p in targets if p.exists()]
    for p in escaped:
        p.unlink()
    assert escaped == []
    assert result.ok and result.stdout.endswith("fine\n"), result.stderr
    if layer[1]:  # under namespaces /tmp is the sandbox's own: writing there is allowed
        refused = [p for p in targets if layer[0] == "rlimits" or not str(p).startswith("/tmp/")]
        assert all(f"refused {p} PermissionError" in result.stdout for p in refused)


@pytest.mark.parametrize("layer", NAMESPACES)
def test_runs_unprivileged_without_the_host(layer):
    site_packages = Path(os.__file__).parent / "site-packages"  # the base interpreter's, masked inside
    assert any(site_packages.iterdir())
    code = (f"import os\ntry:\n    listed = bool(os.listdir({str(site_packages)!r}))\n"
            "except PermissionError:\n    listed = False\n"
            "print(os.getuid(), os.path.exists('/work'), os.path.exists('/etc/shadow'), listed)\n"
            "try:\n    os.setuid(0)\n    print('ROOT')\nexcept OSError:\n    print('no root')")
    result = run(code, layer)
    uid, *rest = result.stdout.split()
    assert int(uid) != 0 and rest == ["False", "False", "False", "no", "root"]


@pytest.mark.parametrize("layer", DEFAULT)
def test_site_packages_are_not_importable(layer):
    assert importlib.util.find_spec("yaml") is not None  # importable here, in the caller
    result = run("import yaml", layer)
    assert not result.ok and result.error.startswith("ModuleNotFoundError")


# ---------------------------------------------------------------------------------- processes

@pytest.mark.parametrize("layer", DEFAULT)
def test_subprocess_and_exec_are_refused(layer):
    code = '''
import os
attempts = {
    "subprocess": lambda: __import__("subprocess").run(["sh", "-c", "echo RAN"]),
    "system": lambda: os.system("echo RAN"),
    "exec": lambda: os.execv("/bin/sh", ["sh", "-c", "echo RAN"]),
    "spawn": lambda: os.posix_spawn("/bin/sh", ["sh", "-c", "echo RAN"], {}),
}
for name, attempt in attempts.items():
    try:
        attempt()
        print("RAN", name)
    except PermissionError as e:
        print("refused", name, e)
'''
    result = run(code, layer)
    assert result.ok and "RAN" not in result.stdout and result.stdout.count("refused") == 4


@pytest.mark.parametrize("layer", NAMESPACES)
def test_host_programs_are_absent(layer):
    result = run("import os\nprint(os.system('echo RAN'))", layer)
    assert "RAN" not in result.stdout


@pytest.mark.parametrize("layer", DEFAULT)
def test_ctypes_is_refused(layer):
    result = run("import ctypes\nprint(ctypes.CDLL(None).getpid())", layer)
    assert not result.ok and result.error == "PermissionError: sandbox: importing 'ctypes' is not allowed"


KILL = '''
import os, signal
try:  # safety catch for the test itself: send kill -1 only once the host's processes are out of reach
    os.kill(sample["bystander"], 0)
    raise SystemExit("REACHED the bystander: not sending kill -1")
except OSError:
    pass
for target in [sample["bystander"], os.getppid(), 1, -1]:
    try:
        os.kill(target, signal.SIGKILL)
        print("sent", target)
    except OSError as e:
        print("refused", target, type(e).__name__)
print("still here")
'''


@pytest.mark.parametrize("layer", EVERY)
def test_cannot_kill_the_caller_or_other_processes(layer):
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        result = run(KILL, layer, inputs={"sample": {"bystander": bystander.pid}})
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
    assert "REACHED" not in result.stderr and "still here" in result.stdout
    if layer[1]:
        assert result.ok and "sent" not in result.stdout


FORK_BOMB = '''
import os
while True:
    try:
        os.fork()
    except BlockingIOError:
        pass
'''


@pytest.mark.parametrize("layer", DEFAULT)
def test_fork_bomb_is_capped_and_cleaned_up(layer):
    peak, done = [0], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], len(sandboxed_interpreters()))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = run(FORK_BOMB, layer, timeout_s=1.5, max_procs=8)
    finally:
        done.set()
        watcher.join()
    assert not result.ok and result.wall_s < 1.5 + 3
    if layer[0] == "rlimits":
        assert result.error == "PermissionError: sandbox: os.fork is not allowed"
    else:
        assert result.timed_out and 1 <= peak[0] <= 8
    assert sandboxed_interpreters() == [] and orphaned_interpreters() == []


DAEMON = '''
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(2)
        print("DAEMON ALIVE", flush=True)
        os._exit(0)
    os._exit(0)
os.wait()
print("main done")
'''


@pytest.mark.parametrize("layer", DEFAULT)
def test_no_daemon_outlives_the_call(layer):
    result = run(DAEMON, layer)
    if layer[0] == "rlimits":
        assert result.error == "PermissionError: sandbox: os.fork is not allowed"
    else:  # a surviving daemon would hold stdout open: the call would wait for it and see its line
        assert result.ok and result.stdout == "main done\n" and result.wall_s < 2
    assert sandboxed_interpreters() == [] and orphaned_interpreters() == []


# -------------------------------------------------------------------------------------- limits

@pytest.mark.parametrize("layer", DEFAULT)
def test_memory_bomb_hits_the_limit(layer):
    result = run("blocks = []\nwhile True:\n    blocks.append(bytearray(16 << 20))", layer, memory_mb=256)
    assert not result.ok and not result.timed_out and result.error == "memory limit exceeded"
    assert run("x = bytearray(10 ** 12)", layer).error == "memory limit exceeded"


@pytest.mark.parametrize("program", ["while True:\n    pass", "import time\ntime.sleep(60)"])
@pytest.mark.parametrize("layer", DEFAULT)
def test_endless_program_times_out(layer, program):
    start = time.monotonic()
    result = run(program, layer, timeout_s=1.0)
    assert result.timed_out and not result.ok and result.error == "timeout after 1s"
    assert 1.0 <= time.monotonic() - start < 3.5
    assert sandboxed_interpreters() == []


@pytest.mark.parametrize("layer", DEFAULT)
def test_huge_output_is_capped(layer):
    start = time.monotonic()
    result = run("import sys\nwhile True:\n    print('x' * 999)\n    sys.stderr.write('e' * 99)", layer,
                 max_output_bytes=10_000)
    assert not result.ok and not result.timed_out and result.error == "output limit exceeded"
    assert len(result.stdout.encode()) + len(result.stderr.encode()) <= 10_000 + 100
    assert result.stdout.rstrip().endswith("[output truncated: stdout and stderr exceeded 10000 bytes]")
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("layer", DEFAULT)
def test_environment_is_not_inherited(layer, monkeypatch):
    monkeypatch.setenv("SKILLRM_TEST_SECRET", "hunter2-api-key")
    result = run("import os\nprint(dict(os.environ))", layer)
    env = eval(result.stdout)  # a dict literal printed by the sandbox
    assert "hunter2" not in result.stdout and set(env) <= {"PATH", "LANG", "HOME", "TMPDIR", "PWD"}


def test_audit_hook_resists_simple_bypasses(tmp_path):
    """In `rlimits` mode the audit hook is the barrier: patching what it might rely on changes nothing.

    Every target is a harmless one of the test's own (a refusal that fails hits nothing else).
    """
    canary = tmp_path / "canary.txt"
    canary.write_text("keep me")
    bystander = subprocess.Popen(["sleep", "30"])
    code = '''
import builtins, importlib.machinery, importlib.util, os, pathlib, posixpath, signal, sys
canary = sample["canary"]
bootstrap = sys.modules["__main__"].__dict__
bootstrap["PATH_EVENTS"].clear()
bootstrap["DEVICES"] = (canary,)
os.getcwd = lambda: "/"
posixpath.normpath = posixpath.abspath = lambda path: "/tmp/inside"
builtins.bool = builtins.any = lambda *args: False
so = os.path.dirname(os.__file__) + "/lib-dynload/_ctypes"
so += importlib.machinery.EXTENSION_SUFFIXES[0]
attempts = [lambda: open(canary).read(), lambda: open("../../../.." + canary).read(),
            lambda: open(pathlib.Path(canary)).read(), lambda: os.open("/", os.O_RDONLY),
            lambda: open(canary, "a"), lambda: os.remove(canary),
            lambda: os.symlink(canary, "link"), lambda: os.listdir(os.path.dirname(canary)),
            lambda: os.kill(sample["bystander"], signal.SIGKILL),
            lambda: importlib.util.module_from_spec(importlib.util.spec_from_file_location("x._ctypes", so))]
outcome = []
for attempt in attempts:
    try:
        attempt()
        outcome.append("ALLOWED")
    except PermissionError:
        outcome.append("refused")
print(outcome)
'''
    try:
        result = run_python(code, {"sample": {"canary": str(canary), "bystander": bystander.pid}},
                            isolation="rlimits", allow_weak_isolation=True)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
    assert canary.read_text() == "keep me"
    assert result.stdout == str(["refused"] * 10) + "\n", result.stderr
