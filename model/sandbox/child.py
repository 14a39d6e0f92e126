"""Bootstrap run by the sandboxed interpreter (`python -I -S -B -c <this file>`), around the judge's code.

Stdlib only, and it never imports the project: the repository is not visible inside the sandbox.
It reads the marshalled request from stdin, drops root, sets the resource limits, installs the audit
hook, writes one byte to the ready fd (so the parent can tell a sandbox that failed to start from
code that failed), then runs the code with the request's inputs as its globals. Exit status 0 means
the code ran to completion; on an exception the traceback goes to stderr and its last line is the
one-line error.
"""
import marshal
import os
import resource
import sys

# Events refused outright: processes, links that could point out of the private dir, hand-made
# bytecode (it can corrupt memory; see MARSHAL for marshal.loads), reaching other objects' internals,
# sub-interpreters (they do not inherit this hook), and changing the limits.
BLOCKED_EVENTS = frozenset({
    "os.exec", "os.posix_spawn", "os.spawn", "os.system", "os.forkpty", "os.startfile", "subprocess.Popen",
    "os.symlink", "os.link", "code.__new__", "marshal.load", "gc.get_objects", "gc.get_referrers",
    "gc.get_referents", "cpython.PyInterpreterState_New", "resource.setrlimit", "resource.prlimit",
    "os.killpg", "sys.addaudithook",
})
BLOCKED_PREFIXES = ("socket.", "ctypes.")
BLOCKED_MODULES = frozenset({"ctypes", "_ctypes", "_ctypes_test", "_posixsubprocess", "_posixshmem",
                             "_xxsubinterpreters", "_testcapi", "_testinternalcapi", "_testbuffer",
                             "_testmultiphase", "_testimportmultiple", "_testclinic", "_xxtestfuzz"})
# Events with a path argument: (positions of the paths, whether they modify them, positions of dir_fd
# arguments). A dir_fd would make the path relative to a directory the check cannot see: refused.
PATH_EVENTS = {
    "os.listdir": ((0,), False, ()), "os.scandir": ((0,), False, ()), "os.getxattr": ((0,), False, ()),
    "os.listxattr": ((0,), False, ()), "os.mkdir": ((0,), True, (2,)), "os.rmdir": ((0,), True, (1,)),
    "os.remove": ((0,), True, (1,)), "os.rename": ((0, 1), True, (2, 3)), "os.chmod": ((0,), True, (2,)),
    "os.chown": ((0,), True, (3,)), "os.utime": ((0,), True, (3,)), "os.truncate": ((0,), True, ()),
    "os.chflags": ((0,), True, ()), "os.setxattr": ((0,), True, ()), "os.removexattr": ((0,), True, ()),
    "os.chdir": ((0,), False, ()), "sqlite3.connect": ((0,), True, ()), "dbm.open": ((0,), True, ()),
}
DEVICES = ("/dev/null", "/dev/urandom")
MARSHAL_RECENT = 16  # marshal.loads may only rebuild one of the last stdlib .pyc files opened


def install_audit_hook(allow_fork):
    """Confines the code to its working directory (read + write) and the stdlib (read).

    Defence in depth: the namespaces, Landlock and seccomp are the boundary (see isolation.py). The
    hook is one closure with no helper: a helper function would be reachable from a traceback's
    frame, and its closure cells writable. It reads no global and calls no builtin by name: what it
    uses is bound here as immutable values (the mutable `recent` list only names files it re-reads),
    so patching os, builtins or this module changes none of its decisions.
    Paths are normalised lexically; that is sound because links cannot be created (os.symlink and
    os.link are refused), no directory fd can exist (os.open may only create a new regular file, and
    O_PATH is refused) and every dir_fd argument that an event shows is refused.
    """
    import types

    cwd = os.getcwd()
    stdlib = os.path.dirname(os.__file__)
    read_roots, hidden = (cwd, stdlib), (stdlib + "/site-packages",)
    dynload = stdlib + "/lib-dynload/"
    getcwd, getpid, error, read_file = os.getcwd, os.getpid, PermissionError, open
    type_, str_, bytes_, int_, len_ = type, str, bytes, int, len
    o_write = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    o_new, o_dir, o_path = os.O_CREAT | os.O_EXCL, os.O_DIRECTORY, getattr(os, "O_PATH", 0)
    blocked, prefixes, modules, devices = BLOCKED_EVENTS, BLOCKED_PREFIXES, BLOCKED_MODULES, DEVICES
    path_events = types.MappingProxyType(dict(PATH_EVENTS))  # read-only, the dict behind it unreachable
    recent, keep = [], MARSHAL_RECENT

    def hook(event, args):
        paths, write = (), False
        if event == "open":
            path, mode, flags = args
            if mode is None and ((flags & o_new) != o_new or flags & (o_dir | o_path)):  # os.open
                raise error("sandbox: os.open other than creating a new file is not allowed (use open())")
            write = (flags & o_write) != 0 or (type_(mode) is str_ and (
                "w" in mode or "a" in mode or "x" in mode or "+" in mode))
            paths = (path,)
        elif event in path_events:
            positions, write, dir_fds = path_events[event]
            for i in dir_fds:
                if args[i] is not None and args[i] != -1:
                    raise error(f"sandbox: {event} with dir_fd is not allowed")
            paths = tuple(args[i] for i in positions)
        elif event in blocked or event.startswith(prefixes):
            raise error(f"sandbox: {event} is not allowed")
        elif event == "import":
            name, filename = args[0], args[1]
            parts = name.split(".") if type_(name) is str_ else [""]
            for part in parts:  # a NUL or any odd character would pass a name check and load anyway
                if not part.isidentifier() or part in modules:
                    raise error(f"sandbox: importing {name!r} is not allowed")
            if filename is not None and not (type_(filename) is str_ and filename.startswith(dynload)
                                             and "/" not in filename[len_(dynload):]):
                raise error(f"sandbox: loading an extension module from {filename!r} is not allowed")
        elif event == "marshal.loads":
            data = args[0]
            for pyc in recent:  # the list is reachable from a traceback: trust none of its entries
                if type_(pyc) is str_ and pyc.startswith(stdlib + "/") and pyc.endswith(".pyc") and (
                        "/../" not in pyc and "/./" not in pyc and not pyc.startswith(hidden[0] + "/")):
                    with read_file(pyc, "rb") as f:
                        if f.read()[16:] == data:
                            return
            raise error("sandbox: marshal.loads is not allowed (hand-made code objects)")
        elif event == "os.kill" and (type_(args[0]) is not int_ or args[0] != getpid()):
            raise error(f"sandbox: signalling pid {args[0]} is not allowed")
        elif event == "os.fork" and not allow_fork:
            raise error("sandbox: os.fork is not allowed")
        elif event == "object.__setattr__" and args[1] == "__code__":
            raise error("sandbox: replacing a function's __code__ is not allowed")
        for path in paths:
            if path is None or type_(path) is int_:  # None: the cwd; an int: an fd already open
                continue
            if type_(path) is bytes_:
                path = path.decode("utf-8", "surrogateescape")
            if type_(path) is not str_:
                raise error(f"sandbox: a path of type {type_(path).__name__} (use str) is not allowed")
            if not path.startswith("/"):
                path = getcwd() + "/" + path
            parts = []
            for part in path.split("/"):
                if part == "..":
                    if parts:
                        parts.pop()
                elif part and part != ".":
                    parts.append(part)
            full = "/" + "/".join(parts)
            if full in devices:
                continue
            inside = False
            for root in (cwd,) if write else read_roots:
                if full == root or full.startswith(root + "/"):
                    inside = True
            for root in hidden:
                if full == root or full.startswith(root + "/"):
                    inside = False
            if not inside:
                raise error(f"sandbox: {'writing' if write else 'reading'} {full} is not allowed")
            if not write and full.endswith(".pyc") and full.startswith(stdlib + "/"):
                recent.insert(0, full)
                del recent[keep:]

    sys.addaudithook(hook)


def set_limits(limits):
    for name, (soft, hard) in limits.items():
        resource.setrlimit(getattr(resource, name), (soft, hard))


def drop_root(uid):
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)  # clears every capability: no keep-caps, and no setuid binaries (nosuid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit("sandbox: could not drop root")


def report(exc, code):
    """Prints the traceback without this bootstrap's frame, with the judge's source lines."""
    try:
        import linecache
        import traceback

        linecache.cache["<judge>"] = (len(code), None, code.splitlines(True), "<judge>")
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
    except BaseException:  # the code may have broken the modules involved; keep the one-line error
        sys.__stderr__.write(f"{type(exc).__name__}: {exc}\n")
    return 1


def run(code, inputs):
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, **inputs}
    try:
        exec(compile(code, "<judge>", "exec"), namespace)
    except SystemExit as exc:
        return 0 if exc.code in (None, 0) else report(exc, code)
    except MemoryError:
        namespace.clear()  # free what the code held before printing anything
        sys.stderr.write("MemoryError\n")
        return 1
    except BaseException as exc:
        return report(exc, code)
    return 0


def main():
    request = marshal.loads(sys.stdin.buffer.read())
    if request["drop_to"] is not None and os.getuid() == 0:
        drop_root(request["drop_to"])
    set_limits(request["limits"])
    if request["audit"]:
        import shutil

        # rmtree (TemporaryDirectory's cleanup) walks by path, not through directory fds the hook refuses.
        shutil._use_fd_functions = False
        install_audit_hook(request["allow_fork"])
    os.write(request["ready_fd"], b".")
    os.close(request["ready_fd"])
    status = run(request["code"], request["inputs"])
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # the code may have closed or replaced it
            pass
    os._exit(status)  # do not wait for threads the code left running


main()
