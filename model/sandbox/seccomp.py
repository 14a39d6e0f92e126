"""The seccomp filter of the sandbox: a compiled BPF program, built once per level with libseccomp.

The program is built here, in the caller (libseccomp through `pyseccomp`, its ctypes binding), and
loaded inside the sandbox: by bubblewrap (`--seccomp FD`) or by confine.py before the interpreter
that runs the code starts. Denied calls fail with EPERM (ENOSYS for clone3, so that glibc falls back
to clone, whose flags the filter can read); a syscall of another ABI (i386, x32) kills the process.

Every level denies what no judge needs and what widens the kernel surface: tracing and reading
other processes, namespaces (no nested user namespace), mounts, BPF, keyrings, perf, io_uring,
kernel modules and devices, sockets other than AF_UNIX, signals through pidfds. `rlimits` runs on
the host, so it also denies new processes (threads stay allowed: the process is the whole tree and
the caller can kill it), signals to any other process, and every socket but a connected pair.
"""
from __future__ import annotations

import errno
import functools
import socket
import stat
import tempfile

# Denied at every level. Each name is resolved by libseccomp; one the architecture lacks is a no-op.
DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp", "pidfd_open",
    "pidfd_getfd", "pidfd_send_signal", "unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
    "fsopen", "fsmount", "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr",
    "open_by_handle_at", "name_to_handle_at", "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
    "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "iopl", "ioperm", "lookup_dcookie",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
    "vhangup", "uselib", "memfd_secret", "fanotify_init", "personality",
)
# Denied at the rlimits level only (under namespaces they reach nothing outside the sandbox).
DENIED_ON_HOST = ("fork", "vfork", "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
                  "socket", "connect", "bind", "listen", "accept", "accept4", "sendmsg", "sendmmsg")
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
CLONE_THREAD = 0x00010000
TIOCSTI, TIOCLINUX = 0x5412, 0x541C  # pushing input into a terminal
S_IFMT = 0o170000


@functools.cache
def program(level: str) -> bytes:
    """The BPF program (struct sock_filter[]) for `level`; raises OSError/RuntimeError without libseccomp."""
    import pyseccomp as sc

    eperm = sc.ERRNO(errno.EPERM)
    f = sc.SyscallFilter(sc.ALLOW)
    f.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
    host = level == "rlimits"
    for name in DENIED + (DENIED_ON_HOST if host else ()):
        f.add_rule(eperm, name)
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")  # its flags sit behind a pointer the filter cannot read
    for flag in NAMESPACE_FLAGS:  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
        f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    if host:
        f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))  # a process, not a thread
        f.add_rule(eperm, "socketpair", sc.Arg(1, sc.MASKED_EQ, 0xF, socket.SOCK_DGRAM))
        f.add_rule(eperm, "socketpair", sc.Arg(1, sc.MASKED_EQ, 0xF, socket.SOCK_SEQPACKET))
        f.add_rule(eperm, "sendto", sc.Arg(4, sc.NE, 0))  # an address: only the connected pair is allowed
    else:
        f.add_rule(eperm, "socket", sc.Arg(0, sc.NE, socket.AF_UNIX))
    for device in (stat.S_IFCHR, stat.S_IFBLK):
        f.add_rule(eperm, "mknod", sc.Arg(1, sc.MASKED_EQ, S_IFMT, device))
        f.add_rule(eperm, "mknodat", sc.Arg(2, sc.MASKED_EQ, S_IFMT, device))
    for request in (TIOCSTI, TIOCLINUX):
        f.add_rule(eperm, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, request))
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        return out.read()
