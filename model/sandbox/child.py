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
# bytecode (it can corrupt memory; marshal.loads stays allowed, imports need it), reaching other
# objects' internals, sub-interpreters (they do not inherit this hook), and changing the limits.
BLOCKED_EVENTS = frozenset({
    "os.exec", "os.posix_spawn", "os.spawn", "os.system", "os.forkpty", "os.startfile", "subprocess.Popen",
    "os.symlink", "os.link", "code.__new__", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
    "cpython.PyInterpreterState_New", "resource.setrlimit", "resource.prlimit", "os.killpg",
})
BLOCKED_PREFIXES = ("socket.", "ctypes.")
BLOCKED_MODULES = frozenset({"ctypes", "_ctypes", "_posixsubprocess", "_xxsubinterpreters",
                             "_testcapi", "_testinternalcapi"})
# Events with a path argument (at these positions) and whether they modify it.
PATH_EVENTS = {
    "os.listdir": ((0,), False), "os.scandir": ((0,), False), "os.getxattr": ((0,), False),
    "os.listxattr": ((0,), False), "os.mkdir": ((0,), True), "os.rmdir": ((0,), True),
    "os.remove": ((0,), True), "os.rename": ((0, 1), True), "os.chmod": ((0,), True),
    "os.chown": ((0,), True), "os.utime": ((0,), True), "os.truncate": ((0,), True),
    "os.chflags": ((0,), True), "os.setxattr": ((0,), True), "os.removexattr": ((0,), True),
    "sqlite3.connect": ((0,), True), "dbm.open": ((0,), True),
}
DEVICES = ("/dev/null", "/dev/urandom")


def install_audit_hook(allow_fork):
    """Confines the code to its working directory (read + write) and the stdlib (read).

    Defence in depth under namespaces, the main barrier in the `rlimits` fallback. The hook reads no
    global and calls no builtin by name: all it uses is bound here as immutable values or private
    copies, so patching os, builtins or this module later does not change its decisions. Paths are
    normalised lexically; that is sound because links cannot be created (os.symlink/os.link are
    refused) and os.open, which takes dir_fd, may only create new files, so no directory fd exists.
    """
    cwd = os.getcwd()
    read_roots = (cwd, os.path.dirname(os.__file__))
    getcwd, getpid, error = os.getcwd, os.getpid, PermissionError
    type_, str_, bytes_, int_ = type, str, bytes, int
    o_write = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    o_new, o_dir = os.O_CREAT | os.O_EXCL, os.O_DIRECTORY
    blocked, prefixes, modules, devices = BLOCKED_EVENTS, BLOCKED_PREFIXES, BLOCKED_MODULES, DEVICES
    path_events = dict(PATH_EVENTS)  # a copy nothing else can reach

    def deny(what):
        raise error(f"sandbox: {what} is not allowed")

    def absolute(path):
        if type_(path) is bytes_:
            path = path.decode("utf-8", "surrogateescape")
        if type_(path) is not str_:
            deny(f"a path of type {type_(path).__name__} (use str)")
        if not path.startswith("/"):
            path = getcwd() + "/" + path
        parts = []
        for part in path.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        return "/" + "/".join(parts)

    def check(path, write):
        if path is None or type_(path) is int_:  # None: the cwd; an int: an fd already open
            return
        full = absolute(path)
        if full in devices:
            return
        for root in (cwd,) if write else read_roots:
            if full == root or full.startswith(root + "/"):
                return
        deny(f"{'writing' if write else 'reading'} {full}")

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if mode is None and ((flags & o_new) != o_new or flags & o_dir):  # os.open
                deny("os.open other than creating a new file (use open())")
            write = (flags & o_write) != 0 or (type_(mode) is str_ and (
                "w" in mode or "a" in mode or "x" in mode or "+" in mode))
            check(path, write)
        elif event in path_events:
            positions, write = path_events[event]
            for i in positions:
                check(args[i], write)
        elif event in blocked or event.startswith(prefixes):
            deny(event)
        elif event == "import" and not modules.isdisjoint(args[0].split(".")):  # also "pkg._ctypes"
            deny(f"importing {args[0]}")
        elif event == "os.kill" and args[0] != getpid():
            deny(f"signalling pid {args[0]}")
        elif event == "os.fork" and not allow_fork:
            deny("os.fork")
        elif event == "object.__setattr__" and args[1] == "__code__":
            deny("replacing a function's __code__")

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
