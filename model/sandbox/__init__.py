"""The python sandbox: runs untrusted Python written by an LLM judge (the `python_sandbox` tool).

Layers, outermost first (isolation.py builds them, confine.py and child.py run inside them):
1. Namespaces: bubblewrap (`bwrap`) or util-linux `unshare`, whichever works first on the host: no
   network, its own pid namespace (its pid 1 is killed at the end, and the kernel kills the rest), a
   read-only root holding only the interpreter, its stdlib and the system libraries, a private
   64 MB tmpfs /tmp as cwd and HOME (the disk quota), an empty environment, an unprivileged uid.
   Without either, `rlimits` runs the interpreter on the host, and only when the caller passes
   `allow_weak_isolation=True` (runner.py says what it cannot contain); otherwise the call is refused.
2. A seccomp filter (seccomp.py): no ptrace, namespaces, mounts, BPF, keyrings, io_uring, pidfd
   signals, ...; at `rlimits` also no new processes, no sockets and no signals, plus Landlock.
3. `python -I -S -B`: no site-packages, no PYTHON* variables; the code gets the stdlib only.
4. Resource limits set in the child: CPU time, address space, processes, file size, open files; the
   parent enforces the wall-clock timeout, the output cap (and the disk quota at `rlimits`), and
   kills the whole process tree.
5. An audit hook (PEP 578) that refuses network, processes, ctypes, hand-made bytecode, signals to
   other processes and file access outside the cwd (write) and the stdlib (read). Defence in depth:
   audit hooks can be bypassed by a determined attacker; the layers above are the boundary.

`isolation_level()` tells, cheaply, which level a call would run ("none" where it would refuse).
"""
from model.sandbox.runner import (
    ENV_VAR,
    LEVELS,
    REFUSED,
    SandboxError,
    SandboxResult,
    available_levels,
    isolation_level,
    run_python,
)

__all__ = ["ENV_VAR", "LEVELS", "REFUSED", "SandboxError", "SandboxResult", "available_levels",
           "isolation_level", "run_python"]
