"""Confines the sandbox's process, then execs the interpreter that runs the bootstrap (child.py).

Run as `python -I -S -B -c <this file> SPEC ARGV...` inside the namespaces (`unshare`) or on the host
(`rlimits`); bubblewrap loads its seccomp filter itself. SPEC is a JSON object:
- "seccomp": the BPF program (hex) built by seccomp.py;
- "landlock": null, or {"read", "list", "write", "devices": [paths]}: a Landlock ruleset that allows
  reading (and executing) below "read", listing below "list", everything but devices and sockets
  below "write", reading and writing the files in "devices", and nothing else on the filesystem; it also
  refuses TCP bind/connect and signals or abstract sockets that leave the process (where the kernel
  has those ABIs);
- "drop_caps": empty the capability sets and the bounding set (for root on the host).
Order: no new privileges, capabilities, Landlock, seccomp, then execv(ARGV): the interpreter that runs
the code is a fresh image, without the ctypes used here. Stdlib only; it never imports the project.
Any failure exits 125 with the reason on stderr, so nothing ever runs half-confined.
"""
import ctypes
import json
import os
import sys

PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_SECCOMP, PR_CAP_AMBIENT = 38, 24, 22, 47
SECCOMP_MODE_FILTER, PR_CAP_AMBIENT_CLEAR_ALL = 2, 4
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_RULE_PATH_BENEATH, LANDLOCK_CREATE_RULESET_VERSION = 1, 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = (
    16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
REFER, TRUNCATE, IOCTL_DEV = 8192, 16384, 32768
FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}  # later ABIs: 16 bits
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only ones a file rule may hold
READ = EXECUTE | READ_FILE | READ_DIR
WRITE = (READ_FILE | READ_DIR | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_FIFO
         | MAKE_SYM | REFER | TRUNCATE)
DEVICE = READ_FILE | WRITE_FILE | TRUNCATE
NET_BIND_TCP, NET_CONNECT_TCP, SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1, 2, 1, 2

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


class RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


def fail(what):
    err = ctypes.get_errno()
    sys.stderr.write(f"sandbox: cannot confine the interpreter: {what}: {os.strerror(err)}\n")
    sys.stderr.flush()
    os._exit(125)


def prctl(option, arg2, arg3=0):
    return libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), ctypes.c_ulong(0),
                      ctypes.c_ulong(0))


def drop_capabilities():
    cap = 0
    while prctl(PR_CAPBSET_DROP, cap) == 0:
        cap += 1
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    data = (ctypes.c_uint32 * 6)()  # two struct __user_cap_data_struct, all zero
    if libc.capset(ctypes.byref(CapHeader(0x20080522, 0)), data) != 0:  # _LINUX_CAPABILITY_VERSION_3
        fail("capset")


def landlock(rules):
    abi = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                       ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    if abi < 1:
        fail("Landlock is not available")
    handled = FS_BY_ABI.get(abi, (1 << 16) - 1)
    attr = RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                       SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL if abi >= 6 else 0)
    ruleset = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        fail("landlock_create_ruleset")
    for kind, access in (("read", READ), ("list", READ_DIR), ("write", WRITE), ("devices", DEVICE)):
        for path in rules[kind]:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            allowed = access & handled & (FILE_RIGHTS if not os.path.isdir(path) else -1)
            rule = PathBeneath(allowed, fd)
            if libc.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule),
                            ctypes.c_uint32(0)) != 0:
                fail(f"landlock_add_rule {path}")
            os.close(fd)
    if libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
        fail("landlock_restrict_self")
    os.close(ruleset)


def seccomp(program):
    prog = SockFprog(len(program) // 8, program)
    if prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog)) != 0:
        fail("seccomp")


def main():
    spec = json.loads(sys.argv[1])
    if prctl(PR_SET_NO_NEW_PRIVS, 1) != 0:
        fail("no_new_privs")
    if spec["drop_caps"]:
        drop_capabilities()
    if spec["landlock"] is not None:
        landlock(spec["landlock"])
    seccomp(bytes.fromhex(spec["seccomp"]))
    os.execv(sys.argv[2], sys.argv[2:])


main()
