"""`run_python`: starts the sandboxed interpreter, feeds it the request, collects its capped output."""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
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
SANDBOX_UIDS = range(1 << 20, 1 << 21)  # see _run
FILE_BYTES = 16 << 20  # largest file the code may write
OPEN_FILES = 64
DRAIN_S = 2.0  # after a kill: how long to wait for every sandboxed process to be gone
CHUNK = 1 << 16


class SandboxError(RuntimeError):
    """The sandbox machinery failed (never raised for anything the code itself does)."""


@dataclass
class SandboxResult:
    ok: bool  # the code ran to completion without an exception, inside the limits
    stdout: str
    stderr: str
    error: str | None  # one-line reason when not ok
    timed_out: bool
    isolation: str  # "bwrap" | "unshare" | "rlimits": what was in force
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
    returncode: int = 0


def run_python(code: str, inputs: dict | None = None, timeout_s: float = 5.0, memory_mb: int = 512,
               max_output_bytes: int = 65536, max_procs: int = 16, *, isolation: str | None = None,
               audit: bool = True) -> SandboxResult:
    """Runs untrusted `code` (stdlib only) with the keys of `inputs` as global variables.

    `max_output_bytes` caps stdout and stderr together; `max_procs` caps the processes and threads
    the code may have at once (itself included). `isolation` (or $SKILLRM_SANDBOX_ISOLATION) picks a
    weaker level than the strongest available; `audit=False` leaves out the in-process audit hook,
    which is only meant for tests of the outer layers. Raises ValueError/TypeError for bad arguments
    and SandboxError when the sandbox cannot start, never for what the code does.
    """
    level = _choose(isolation)
    return _run(level, code, inputs, timeout_s, memory_mb, max_output_bytes, max_procs, audit)


def available_levels() -> tuple[str, ...]:
    """The isolation levels that work on this host, strongest first (probed once each)."""
    return tuple(level for level in LEVELS if _works(level))


def isolation_level() -> str:
    """The strongest isolation available on this host."""
    return available_levels()[0]


@functools.cache
def _works(level: str) -> bool:
    if level == "rlimits":
        return True
    if shutil.which(level) is None:
        return False
    try:
        result = _run(level, "print(6 * 7)", None, 10.0, 256, 4096, 16, True)
    except SandboxError:
        return False
    return result.ok and result.stdout == "42\n"


def _choose(requested: str | None) -> str:
    level = requested or os.environ.get(ENV_VAR) or isolation_level()
    if level not in LEVELS:
        raise ValueError(f"unknown sandbox isolation {level!r}; expected one of {LEVELS}")
    if not _works(level):
        raise ValueError(f"sandbox isolation {level!r} is not available on this host")
    return level


def _run(level: str, code: str, inputs: dict | None, timeout_s: float, memory_mb: int, max_output_bytes: int,
         max_procs: int, audit: bool) -> SandboxResult:
    if not isinstance(code, str):
        raise TypeError(f"code must be str, not {type(code).__name__}")
    # As root, the child drops to a uid of its own, picked at random: RLIMIT_NPROC counts the processes
    # of a uid host-wide, and sandboxes running side by side must not share (or exhaust) one budget.
    drop_to = secrets.choice(SANDBOX_UIDS) if level != "rlimits" else None
    request = {"code": code, "inputs": _globals(inputs), "drop_to": drop_to, "audit": audit,
               "limits": _limits(level, timeout_s, memory_mb, max_procs), "allow_fork": level != "rlimits"}
    start = time.perf_counter()
    scratch = contextlib.nullcontext() if level == "bwrap" else tempfile.TemporaryDirectory(
        prefix="skillrm-sandbox-", ignore_cleanup_errors=True)  # cwd (rlimits) or mount point (unshare)
    with scratch as host_dir:
        ready_r, ready_w = os.pipe()  # the child writes one byte here just before running the code
        request["ready_fd"] = ready_w
        try:
            proc = _spawn(level, host_dir, ready_w)
        finally:
            os.close(ready_w)  # the child has its copy
        try:
            with proc:  # marshal, not JSON: the child's interpreter is this one, and needs no import
                out = _communicate(proc, marshal.dumps(request), ready_r, timeout_s, max_output_bytes)
        finally:
            os.close(ready_r)
    return _result(level, out, timeout_s, max_output_bytes, time.perf_counter() - start)


def _spawn(level: str, host_dir: str | None, ready_fd: int) -> subprocess.Popen:
    home = host_dir if level == "rlimits" else isolation.SANDBOX_TMP
    try:
        pipe = subprocess.PIPE
        return subprocess.Popen(isolation.command(level, host_dir), stdin=pipe, stdout=pipe, stderr=pipe,
                                env=isolation.environment(home), pass_fds=(ready_fd,),
                                cwd=host_dir if level == "rlimits" else None, start_new_session=True)
    except OSError as e:
        raise SandboxError(f"cannot start the {level} sandbox: {e}") from e


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
    if level != "rlimits":  # outside namespaces it would count every process of the caller's uid
        wanted["RLIMIT_NPROC"] = (max_procs,) * 2
    limits = {}
    for name, (soft, hard) in wanted.items():
        ceiling = resource.getrlimit(getattr(resource, name))[1]  # cannot be raised without privilege
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        limits[name] = (soft, hard)
    return limits


def _communicate(proc: subprocess.Popen, request: bytes, ready_fd: int, timeout_s: float,
                 cap: int) -> _Outcome:
    """Writes the request, reads stdout/stderr up to `cap` bytes in all; kills on timeout or overflow.

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
    # The process group holds bwrap/unshare and, through --die-with-parent/--kill-child, the whole
    # pid namespace goes with them; proc.kill() also reaches a child that left the group (setsid).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.kill()


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
    elif not out.started:
        raise SandboxError(f"the {level} sandbox failed to start (status {out.returncode}): "
                           f"{stderr.strip()[-2000:]}")
    else:
        ok, error, timed_out = _exit_verdict(level, out.returncode, stderr, timeout_s)
    return SandboxResult(ok, stdout, stderr, error, timed_out, level, round(wall_s, 4))


def _exit_verdict(level: str, rc: int, stderr: str, timeout_s: float) -> tuple[bool, str | None, bool]:
    """(ok, error, timed_out) from the exit status: a signal shows as -N, or 128+N through bwrap."""
    sig = -rc if rc < 0 else rc - 128 if level == "bwrap" and 128 < rc < 192 else 0
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
