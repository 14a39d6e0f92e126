"""The command lines that start the sandboxed interpreter, one per isolation level.

- `bwrap`: bubblewrap puts the interpreter in new pid/net/ipc/uts (and, without root, user)
  namespaces on a read-only root that holds only what the interpreter needs, with a private tmpfs
  /tmp as cwd and HOME, and loads the seccomp filter (seccomp.py) with `--seccomp FD`.
- `unshare`: the same filesystem, built by a short `sh` script of `mount` calls inside namespaces
  made by util-linux `unshare`, then entered with `unshare --root` run by that script, which stays
  the pid 1 of the namespace (the code never is); confine.py loads the seccomp filter first.
- `rlimits`: no namespaces; the interpreter runs in a private temp dir on the host. confine.py drops
  root's capabilities, applies a Landlock ruleset (read the interpreter's files, write the temp dir,
  no TCP, no signals out; where the kernel has Landlock) and a stricter seccomp filter (no new
  processes, no sockets but a connected pair, no signals); then the resource limits and the audit
  hook (child.py). Weaker all the same, see runner.py: it runs only when the caller opts in.

When the caller is root the interpreter starts as root inside the namespaces (bwrap keeps only
CAP_SETUID/CAP_SETGID) and child.py drops to an unprivileged uid before the code runs. The kernel
ignores RLIMIT_NPROC for a process that is root on the host (mapping the uid to 0 in a user
namespace is not enough), so the drop is what makes the process limit, and file permissions, hold.
Without root, a user namespace maps the caller to uid 65534 and the kernel counts per namespace.
"""
from __future__ import annotations

import ctypes
import functools
import json
import os
import shlex
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

LEVELS = ("bwrap", "unshare", "rlimits")  # strongest first
NOBODY = 65534
TMP_BYTES = 64 << 20  # size of the private /tmp (a tmpfs: host memory, so it is capped)
SANDBOX_TMP = "/tmp"
BOOTSTRAP = Path(__file__).with_name("child.py").read_text()
CONFINE = Path(__file__).with_name("confine.py").read_text()
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")


@dataclass(frozen=True)
class Layout:
    """What the interpreter needs from the host filesystem, all bound read-only."""
    exe: str
    binds: tuple[str, ...]  # files and directories, mounted at the same path
    dirs: tuple[str, ...]  # their parents outside any bind, made world-readable (the host's /root is 0700)
    symlinks: tuple[tuple[str, str], ...]  # (target, path), e.g. /lib -> usr/lib on merged-/usr hosts
    masked: tuple[str, ...]  # python package directories inside a bind, hidden by an empty tmpfs
    stdlib: str


@functools.cache
def layout() -> Layout:
    exe = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    libs, symlinks = [], []
    for lib in ("/lib", "/lib64", "/lib32", "/usr/lib", "/usr/lib64", "/usr/lib32"):
        if os.path.islink(lib):
            symlinks.append((os.readlink(lib), lib))
        elif os.path.isdir(lib):
            libs.append(lib)
    stdlib = sysconfig.get_path("stdlib", vars={"installed_base": sys.base_prefix})
    binds = [*libs, exe, stdlib]
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        binds.append(os.path.join(sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")))
    # Other interpreters' packages and stdlibs in the library directories hold C extensions too.
    others = [str(d) for lib in libs for d in sorted(Path(lib).glob("python3*"))
              if not (stdlib == str(d) or stdlib.startswith(f"{d}/"))]
    masked = [d for d in (os.path.join(stdlib, "site-packages"), *others, "/usr/lib/python3/dist-packages")
              if os.path.isdir(d) and not os.path.islink(d)]
    masked = [d for d in dict.fromkeys(masked) if not any(d.startswith(f"{m}/") for m in masked)]
    binds = list(dict.fromkeys(binds))
    dirs = {str(parent) for path in binds for parent in Path(path).parents if str(parent) != "/"}
    dirs = sorted(d for d in dirs if not any(d == b or d.startswith(b + "/") for b in binds))
    return Layout(exe, tuple(binds), tuple(dirs), tuple(symlinks), tuple(masked), stdlib)


@functools.cache
def readable_paths() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What Landlock lets the `rlimits` level read: (trees to read, directories to list only).

    The binds, less the masked directories. Landlock cannot carve a hole in an allowed tree, so a
    tree that holds a masked directory is allowed entry by entry instead, down to the masked one,
    and only listed itself (listing is inherited: the masked directory's names stay visible, its
    files unreadable).
    """
    lay, read, listed = layout(), [], []

    def allow(path: Path) -> None:
        inside = [m for m in lay.masked if m == str(path) or m.startswith(f"{path}/")]
        if not inside:
            read.append(str(path))
        elif str(path) not in inside:
            listed.append(str(path))
            for child in sorted(path.iterdir()):
                allow(child)

    for bind in lay.binds:
        allow(Path(bind))
    return tuple(read), tuple(listed)


@functools.cache
def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 without Landlock."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return max(int(libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))), 0)


def python_argv() -> list[str]:
    # -I: no PYTHON* variables, no user site, no script dir on sys.path; -S: no site-packages;
    # -B: no .pyc writes; -X utf8: UTF-8 stdio whatever the locale.
    return [layout().exe, "-I", "-S", "-B", "-X", "utf8", "-c", BOOTSTRAP]


def confine_argv(level: str, host_dir: str | None) -> list[str]:
    """The interpreter started through confine.py, which loads the filters and execs python_argv()."""
    from model.sandbox import seccomp

    host = level == "rlimits"
    rules = None
    if host and landlock_abi() > 0:
        read, listed = readable_paths()
        rules = {"read": read, "list": listed, "write": (host_dir,), "devices": DEVICES}
    spec = {"seccomp": seccomp.program(level).hex(), "landlock": rules, "drop_caps": host and os.geteuid() == 0}
    return [layout().exe, "-I", "-S", "-B", "-c", CONFINE, json.dumps(spec), *python_argv()]


def environment(home: str) -> dict[str, str]:
    """The whole environment of the sandboxed process: nothing is inherited from the caller."""
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home, "TMPDIR": home}


def bwrap_argv(seccomp_fd: int) -> list[str]:
    """`seccomp_fd`: a readable fd holding the BPF program (bwrap reads it to the end)."""
    return [*_bwrap_setup(), "--seccomp", str(seccomp_fd), *python_argv()]


@functools.cache
def _bwrap_setup() -> tuple[str, ...]:
    lay = layout()
    if os.geteuid() == 0:
        # Privileged bwrap: no user namespace (see the module docstring); child.py drops root.
        argv = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--cap-drop", "ALL", "--cap-add", "CAP_SETUID",
                "--cap-add", "CAP_SETGID"]
    else:
        argv = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
                "--uid", str(NOBODY), "--gid", str(NOBODY)]
    argv += ["--die-with-parent", "--new-session"]
    for path in lay.dirs:
        argv += ["--perms", "0755", "--dir", path]
    for path in lay.binds:
        argv += ["--ro-bind", path, path]
    for target, path in lay.symlinks:
        argv += ["--symlink", target, path]
    for path in lay.masked:
        argv += ["--tmpfs", path, "--remount-ro", path]
    argv += ["--dev", "/dev", "--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", SANDBOX_TMP,
             "--chdir", SANDBOX_TMP]
    return tuple(argv)


@functools.cache
def _mount_script() -> str:
    """sh script run inside the new mount namespace: builds the root in "$1", then runs "$@"."""
    lay = layout()
    ro = "nosuid,nodev"
    lines = ["set -e", "umask 022", 'R=$1; shift', f'mount -t tmpfs -o size=1m,mode=755,{ro} sandbox "$R"',
             'cd "$R"']
    for path in lay.binds:
        rel = shlex.quote("." + path)
        if os.path.isdir(path):
            lines.append(f"mkdir -p {rel}")
        else:  # a file bind needs an existing file to mount over
            lines.append(f"mkdir -p {shlex.quote('.' + os.path.dirname(path))}; [ -e {rel} ] || touch {rel}")
        lines.append(f"mount --bind -o ro,{ro} {shlex.quote(path)} {rel}")
    for target, path in lay.symlinks:
        lines.append(f"ln -s {shlex.quote(target)} {shlex.quote('.' + path)}")
    for path in lay.masked:
        lines.append(f"mount -t tmpfs -o ro,size=4k,{ro} masked {shlex.quote('.' + path)}")
    lines += [f"mkdir -p ./dev .{SANDBOX_TMP}", "touch ./dev/null",
              "mount --bind /dev/null ./dev/null",
              f"mount -t tmpfs -o size={TMP_BYTES},mode=1777,{ro} tmp .{SANDBOX_TMP}", "unset PWD OLDPWD",
              '"$@"']  # not exec: this shell stays the pid 1, and exits 128+N when the code dies of signal N
    return "\n".join(lines)


def unshare_argv(root: str) -> list[str]:
    """`root` is an empty host directory; the sandbox's root tmpfs is mounted over it."""
    outer = ["unshare", "--net", "--pid", "--mount", "--ipc", "--uts", "--fork", "--kill-child"]
    inner = ["unshare", f"--root={root}", f"--wd={SANDBOX_TMP}"]
    if os.geteuid() != 0:
        # Mounting needs a user namespace; the nested one leaves the code uid 65534 with no capabilities.
        outer[1:1] = ["--user", "--map-root-user"]
        inner[1:1] = ["--user", f"--map-user={NOBODY}", f"--map-group={NOBODY}"]
    return [*outer, "sh", "-c", _mount_script(), "sandbox-mount", root, *inner, *confine_argv("unshare", None)]


def command(level: str, host_dir: str | None, seccomp_fd: int | None) -> list[str]:
    """argv for `level`; `host_dir` is the per-call host directory (unused by bwrap), `seccomp_fd`
    the fd bwrap reads the filter from (only bwrap)."""
    if level == "bwrap":
        return bwrap_argv(seccomp_fd)
    if level == "unshare":
        return unshare_argv(host_dir)
    return confine_argv(level, host_dir)
