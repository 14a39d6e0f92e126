"""The python sandbox: runs untrusted Python written by an LLM judge (the `python_sandbox` tool).

Layers, outermost first (isolation.py builds them, child.py runs inside them):
1. Namespaces: bubblewrap (`bwrap`) or util-linux `unshare`, whichever works first on the host: no
   network, its own pid namespace (nothing outlives the call), a read-only root holding only the
   interpreter, its stdlib and the system libraries, a private tmpfs /tmp as cwd and HOME, an empty
   environment, an unprivileged uid. Without either, `rlimits` runs the interpreter on the host (weaker).
2. `python -I -S -B`: no site-packages, no PYTHON* variables; the code gets the stdlib only.
3. Resource limits set in the child: CPU time, address space, processes, file size, open files; the
   parent enforces the wall-clock timeout and the output cap and kills the whole sandbox.
4. An audit hook (PEP 578) that refuses network, processes, ctypes, signals to other processes and
   file access outside the cwd (write) and the stdlib (read). Secondary under namespaces; in
   `rlimits` mode the main barrier, and audit hooks can be bypassed by a determined attacker.
"""
from model.sandbox.runner import (
    ENV_VAR,
    LEVELS,
    SandboxError,
    SandboxResult,
    available_levels,
    isolation_level,
    run_python,
)

__all__ = ["ENV_VAR", "LEVELS", "SandboxError", "SandboxResult", "available_levels", "isolation_level",
           "run_python"]
