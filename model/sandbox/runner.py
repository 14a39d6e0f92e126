"""`run_python`: starts the sandboxed interpreter, feeds it the request, collects its capped output.

It never downgrades silently. The strongest level that works runs (bwrap, then unshare, with a
warning logged once when bwrap does not work); `rlimits`, which has no namespaces, runs only when the
caller passes `allow_weak_isolation=True`: otherwise the call returns a refused SandboxResult
(ok=False, isolation="none", the error says why and how to opt in), whatever forced the level.

What `rlimits` cannot contain (isolation.py says what it does): the code runs as the caller's uid
(root without capabilities, when the caller is root) on the host's filesystem, so it can stat paths
and read symlinks anywhere, which tells which files exist, their sizes and times, and the host's pids
in /proc (Landlock governs reading, writing and listing, not metadata); without Landlock in the
kernel, only the audit hook keeps it from reading the caller's files and writing world-writable
ones (and root's: it keeps the owner's rights); its disk use is measured by polling its directory,
so a fast writer can pass the quota by what it writes in one poll interval (DISK_POLL_S) before it
is killed; and it shares the host's kernel surface beyond what seccomp denies.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import marshal
import math
import os
import resource
import secrets
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass

from model.sandbox import isolation
from model.sandbox.isolation import LEVELS

ENV_VAR = "SKILLRM_SANDBOX_ISOLATION"  # forces a level (e.g. "rlimits"), like the `isolation` argument
WEAK = "rlimits"  # the level without namespaces: it needs allow_weak_isolation=True
REFUSED = "none"  # SandboxResult.isolation when nothing ran
SANDBOX_UIDS = range(1 << 20, 1 << 21)  # see _run
FILE_BYTES = 16 << 20  # largest file the code may write
DISK_BYTES = isolation.TMP_BYTES  # all its files together (the size of the private /tmp under namespaces)
DISK_FILES = 2048  # files and directories at most in the rlimits level's directory (each poll walks them)
DISK_POLL_S = 0.02  # how often the rlimits level's directory is measured
OPEN_FILES = 64
DRAIN_S = 2.0  # after a kill: how long to wait for every sandboxed process to be gone
CHUNK = 1 << 16
log = logging.getLogger(__name__)


class SandboxError(RuntimeError):
    """The sandbox machinery failed (never raised for anything the code itself does)."""


@dataclass
class SandboxResult:
    ok: bool  # the code ran to completion without an exception, inside the limits
    stdout: str
    stderr: str
    error: str | None  # one-line reason when not ok
    timed_out: bool
    isolation: str  # "bwrap" | "unshare" | "rlimits": what was in force; "none": refused, nothing ran
    wall_s: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class _Outcome:
    stdout: bytearray = dataclasses.field(default_factory=bytearray)
    stderr: bytearray = dataclasses.field(default_factory=bytearray)
    started: bool = False  # the bootstrap got as far as running the code
    timed_out: bool = False
    overflow: bool = False
    disk_full: bool = False  # the rlimits level's files went past DISK_BYTES or DISK_FILES
    returncode: int = 0


def run_python(code: str, inputs: dict | None = None, timeout_s: float = 5.0, memory_mb: int = 512,
               max_output_bytes: int = 65536, max_procs: int = 16, *, isolation: str | None = None,
               audit: bool = True, allow_weak_isolation: bool = False) -> SandboxResult:
    """Runs untrusted `code` (stdlib only) with the keys of `inputs` as global variables.

    `max_output_bytes` caps stdout and stderr together; `max_procs` caps the processes and threads
    the code may have at once (itself included). `isolation` (or $SKILLRM_SANDBOX_ISOLATION) picks a
    weaker level than the strongest available; `allow_weak_isolation=True` lets the `rlimits` level
    (no namespaces) run, chosen or forced: without it such a call returns a refused result. `audit=False`
    leaves out the in-process audit hook, which is only meant for tests of the outer layers. Raises
    ValueError/TypeError for bad arguments and SandboxError when the sandbox cannot start, never for
    what the code does; a level that is unavailable or not allowed is a result with ok=False.
    """
    level, refusal = _choose(isolation, allow_weak_isolation)
    if refusal:
        if not isinstance(code, str):
            raise TypeError(f"code must be str, not {type(code).__name__}")
        _globals(inputs)
        return SandboxResult(False, "", "", refusal, False, REFUSED, 0.0)
    return _run(level, code, inputs, timeout_s, memory_mb, max_output_bytes, max_procs, audit)


def available_levels() -> tuple[str, ...]:
    """The isolation levels that work on this host, strongest first (probed once each)."""
    return tuple(level for level in LEVELS if _probe(level) is None)


def isolation_level(isolation: str | None = None, allow_weak_isolation: bool = False) -> str:
    """The level `run_python` would run with these arguments (and $SKILLRM_SANDBOX_ISOLATION), or
    "none" where it would refuse. Cheap after the first call: each level is probed once."""
    level, refusal = _choose(isolation, allow_weak_isolation)
    return REFUSED if refusal else level


@functools.cache
def _probe(level: str) -> str | None:
    """None when `level` works on this host, else why not (it runs a trivial program once)."""
    if level != WEAK and shutil.which(level) is None:
        return f"`{level}` is not on PATH"
    try:
        result = _run(level, "print(6 * 7)", None, 10.0, 256, 4096, 16, True)
    except (SandboxError, OSError, RuntimeError, ImportError) as e:  # pyseccomp or libseccomp missing
        return str(e).strip().splitlines()[-1][:300] if str(e).strip() else type(e).__name__
    if not (result.ok and result.stdout == "42\n"):
        return f"a trivial program failed: {result.error}"
    return None


def _choose(requested: str | None, allow_weak: bool) -> tuple[str, str | None]:
    """(level, None) to run, or (level, why it is refused)."""
    forced = requested or os.environ.get(ENV_VAR)
    if forced and forced not in LEVELS:
        raise ValueError(f"unknown sandbox isolation {forced!r}; expected one of {LEVELS}")
    if forced:
        why = _probe(forced)
        if why:
            return forced, f"sandbox refused: isolation {forced!r} was requested but does not work here ({why})"
        level = forced
    else:
        level = next((lv for lv in LEVELS if _probe(lv) is None), None)
        if level is None:
            reasons = "; ".join(f"{lv}: {_probe(lv)}" for lv in LEVELS)
            return WEAK, f"sandbox refused: no isolation level works here ({reasons})"
        if level != LEVELS[0]:
            _warn_downgrade(level)
    if level == WEAK and not allow_weak:
        missing = "; ".join(f"{lv}: {_probe(lv)}" for lv in LEVELS if lv != WEAK)
        how = "forced" if forced else "the only level that works here"
        return level, (f"sandbox refused: only the weak 'rlimits' isolation ({how}) would run this code, "
                       f"without namespaces ({missing}); pass allow_weak_isolation=True "
                       "(CLI: --allow-weak-isolation) to run untrusted code with it anyway")
    return level, None


@functools.cache
def _warn_downgrade(level: str) -> None:
    log.warning("python sandbox: bwrap does not work here (%s); using %r isolation", _probe("bwrap"), level)


def _run(level: str, code: str, inputs: dict | None, timeout_s: float, memory_mb: int, max_output_bytes: int,
         max_procs: int, audit: bool) -> SandboxResult:
    if not isinstance(code, str):
        raise TypeError(f"code must be str, not {type(code).__name__}")
    # As root, the child drops to a uid of its own, picked at random: RLIMIT_NPROC counts the processes
    # of a uid host-wide, and sandboxes running side by side must not share (or exhaust) one budget.
    drop_to = secrets.choice(SANDBOX_UIDS) if level != WEAK else None
    request = {"code": code, "inputs": _globals(inputs), "drop_to": drop_to, "audit": audit,
               "limits": _limits(level, timeout_s, memory_mb, max_procs), "allow_fork": level != WEAK}
    start = time.perf_counter()
    scratch = contextlib.nullcontext() if level == "bwrap" else tempfile.TemporaryDirectory(
        prefix="skillrm-sandbox-", ignore_cleanup_errors=True)  # cwd (rlimits) or mount point (unshare)
    with scratch as host_dir, contextlib.ExitStack() as fds:
        ready_r, ready_w = os.pipe()  # the child writes one byte here just before running the code
        fds.callback(os.close, ready_r)
        request["ready_fd"] = ready_w
        child_fds = [ready_w]
        if level == "bwrap":
            child_fds.append(_filter_fd(level))
        try:
            proc = _spawn(level, host_dir, child_fds)
        finally:
            for fd in child_fds:
                os.close(fd)  # the child has its copies
        watch = functools.partial(_disk_full, host_dir) if level == WEAK else None
        with proc:  # marshal, not JSON: the child's interpreter is this one, and needs no import
            out = _communicate(proc, marshal.dumps(request), ready_r, timeout_s, max_output_bytes, watch)
        if watch and not out.disk_full:
            out.disk_full = watch()  # it may have written the lot between two polls
    return _result(level, out, timeout_s, max_output_bytes, time.perf_counter() - start)


def _filter_fd(level: str) -> int:
    """A pipe's read end holding the seccomp program, for `bwrap --seccomp FD`."""
    from model.sandbox import seccomp

    program = seccomp.program(level)
    r, w = os.pipe()
    try:
        os.write(w, program)  # a few hundred bytes: far below a pipe's capacity
    finally:
        os.close(w)
    return r


def _spawn(level: str, host_dir: str | None, child_fds: list[int]) -> subprocess.Popen:
    home = host_dir if level == WEAK else isolation.SANDBOX_TMP
    argv = isolation.command(level, host_dir, child_fds[1] if level == "bwrap" else None)
    try:
        pipe = subprocess.PIPE
        return subprocess.Popen(argv, stdin=pipe, stdout=pipe, stderr=pipe, env=isolation.environment(home),
                                pass_fds=child_fds, cwd=host_dir if level == WEAK else None,
                                start_new_session=True)
    except OSError as e:
        raise SandboxError(f"cannot start the {level} sandbox: {e}") from e


def _disk_full(root: str) -> bool:
    """Whether the files below `root` take more than DISK_BYTES, or number more than DISK_FILES."""
    used, count, stack = 0, 0, [root]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                count += 1
                if count > DISK_FILES:
                    return True
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                used += max(st.st_blocks * 512, 0)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return used > DISK_BYTES


def _globals(inputs: dict | None) -> dict:
    if inputs is None:
        return {}
    if not isinstance(inputs, dict) or not all(isinstance(k, str) and k.isidentifier() for k in inputs):
        raise ValueError("inputs must be a dict whose keys are valid identifiers")
    return json.loads(json.dumps(inputs))  # TypeError for anything that is not JSON


def _limits(level: str, timeout_s: float, memory_mb: int, max_procs: int) -> dict[str, tuple[int, int]]:
    cpu = math.ceil(timeout_s) + 1  # the wall clock normally ends the run first
    wanted = {"RLIMIT_CPU": (cpu, cpu + 1), "RLIMIT_AS": (memory_mb << 20,) * 2,
              "RLIMIT_FSIZE": (FILE_BYTES,) * 2, "RLIMIT_NOFILE": (OPEN_FILES,) * 2, "RLIMIT_CORE": (0, 0)}
    if level != WEAK:  # outside namespaces it would count every process of the caller's uid
        wanted["RLIMIT_NPROC"] = (max_procs,) * 2
    limits = {}
    for name, (soft, hard) in wanted.items():
        ceiling = resource.getrlimit(getattr(resource, name))[1]  # cannot be raised without privilege
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        limits[name] = (soft, hard)
    return limits


def _communicate(proc: subprocess.Popen, request: bytes, ready_fd: int, timeout_s: float,
                 cap: int, watch=None) -> _Outcome:
    """Writes the request, reads stdout/stderr up to `cap` bytes in all; kills on timeout or overflow,
    or when `watch()` (called every DISK_POLL_S) says the disk quota is used up.

    After a kill it keeps reading (and discarding) until every pipe is closed, that is until every
    process of the sandbox is gone, so that nothing outlives the call.
    """
    out = _Outcome()
    buffers = {proc.stdout.fileno(): out.stdout, proc.stderr.fileno(): out.stderr}
    pending = memoryview(request)
    deadline = time.monotonic() + timeout_s
    killed = False

    def kill(sel: selectors.BaseSelector) -> None:
        nonlocal killed, deadline
        _kill(proc)
        killed, deadline = True, time.monotonic() + DRAIN_S
        if not proc.stdin.closed:
            sel.unregister(proc.stdin)
            proc.stdin.close()

    with selectors.DefaultSelector() as sel:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE)
        for fd in (*buffers, ready_fd):
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if killed:
                    break
                out.timed_out = True
                kill(sel)
                continue
            if watch and not killed:
                if watch():
                    out.disk_full = True
                    kill(sel)
                    continue
                remaining = min(remaining, DISK_POLL_S)
            for key, _ in sel.select(remaining):
                if key.fileobj is proc.stdin:
                    if proc.stdin.closed:  # closed by a kill earlier in this batch
                        continue
                    try:
                        pending = pending[os.write(key.fd, pending[:CHUNK]):]
                    except BrokenPipeError:  # the sandbox died before reading it all
                        pending = pending[:0]
                    if not pending:
                        sel.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                data = os.read(key.fd, CHUNK)
                if not data:
                    sel.unregister(key.fd)
                elif key.fd == ready_fd:
                    out.started = True
                elif not killed:
                    room = cap - len(out.stdout) - len(out.stderr)
                    buffers[key.fd] += data[:room]
                    if len(data) > room:
                        out.overflow = True
                        kill(sel)
    if not killed:
        try:
            proc.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:  # it closed its output but kept running
            out.timed_out = True
            _kill(proc)
    out.returncode = proc.wait()
    return out


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL to every process below `proc`, then to `proc` and its group.

    Under namespaces one of them is the pid 1 of the sandbox's pid namespace (bwrap's init, or the
    `sh` of the unshare level): when it dies the kernel kills everything in the namespace, whatever
    sessions or groups the code made (no pid-1 survivor, no daemon). In `rlimits` the code cannot
    start a process (seccomp), so `proc` is the whole tree. Children are found before `proc` dies,
    while they are still below it.
    """
    for pid in _descendants(proc.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.kill()


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, parents before children (from /proc/PID/task/TID/children)."""
    found, stack = [], [pid]
    while stack:
        parent = stack.pop()
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{parent}/task"):
                with contextlib.suppress(OSError), open(f"/proc/{parent}/task/{task}/children") as f:
                    children = [int(c) for c in f.read().split()]
                    found += children
                    stack += children
    return found


def _result(level: str, out: _Outcome, timeout_s: float, cap: int, wall_s: float) -> SandboxResult:
    stdout = out.stdout.decode("utf-8", "replace")
    stderr = out.stderr.decode("utf-8", "replace")
    if out.overflow:
        stdout += f"\n[output truncated: stdout and stderr exceeded {cap} bytes]"
    ok, error, timed_out = False, None, out.timed_out
    if out.timed_out:
        error = f"timeout after {timeout_s:g}s"
    elif out.overflow:
        error = "output limit exceeded"
    elif out.disk_full:
        error = f"disk limit exceeded ({DISK_BYTES >> 20} MB or {DISK_FILES} files)"
    elif not out.started:
        raise SandboxError(f"the {level} sandbox failed to start (status {out.returncode}): "
                           f"{stderr.strip()[-2000:]}")
    else:
        ok, error, timed_out = _exit_verdict(level, out.returncode, stderr, timeout_s)
    return SandboxResult(ok, stdout, stderr, error, timed_out, level, round(wall_s, 4))


def _exit_verdict(level: str, rc: int, stderr: str, timeout_s: float) -> tuple[bool, str | None, bool]:
    """(ok, error, timed_out) from the exit status: a signal shows as -N, or 128+N through bwrap."""
    sig = -rc if rc < 0 else rc - 128 if level != WEAK and 128 < rc < 192 else 0
    if sig == signal.SIGXCPU:
        return False, f"timeout after {timeout_s:g}s (cpu time limit)", True
    if sig:
        with contextlib.suppress(ValueError):
            sig = signal.Signals(sig).name
        return False, f"killed by signal {sig}", False
    if rc == 0:
        return True, None, False
    last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "")
    if last.startswith("MemoryError"):
        return False, "memory limit exceeded", False
    return False, last[:500] or f"exited with status {rc}", False
