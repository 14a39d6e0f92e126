"""Code extraction from a response and running it against tests in the sandbox.

Candidate code is only ever executed through `model.sandbox.run_python`. Inside the sandbox a small
harness executes the candidate under a module name other than `__main__` (so its demo/`input()`
block does not run), then the tests in the same namespace, then `check(<entry_point>)` for
HumanEval-style tests. The run passes only if a per-run token is printed after the tests, so code
that exits early (`sys.exit(0)`) does not pass. The candidate's own prints are discarded.
"""
from __future__ import annotations

import ast
import re
import secrets
from dataclasses import dataclass

PYTHON_TAGS = {"python", "py", "python3", "py3", "ipython", "pycon"}
_FENCE_RE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:^[ \t]*```|\Z)", re.DOTALL | re.MULTILINE)
_CODE_START_RE = re.compile(r"^(?:def |class |import |from |@|async def )", re.MULTILINE)
_FAIL_PREFIX = "VERIFIER_FAIL "


@dataclass
class TestOutcome:
    passed: bool
    error: str | None = None
    timed_out: bool = False


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The python code in a response ("" if none).

    Fenced blocks tagged python (or untagged) are preferred; among them those defining
    `entry_point`, then the longest, then the last. Without fences, the text itself when it
    parses, else the span from the first def/class/import line that parses.
    """
    blocks = [(tag.lower(), body) for tag, body in _FENCE_RE.findall(text or "")]
    if blocks:
        py = [b for t, b in blocks if t in PYTHON_TAGS] or [b for t, b in blocks if not t]
        if not py:
            return ""
        if entry_point:
            defining = [b for b in py if re.search(rf"\bdef\s+{re.escape(entry_point)}\s*\(", b)]
            py = defining or py
        best = max(range(len(py)), key=lambda i: (len(py[i].strip()), i))
        return _strip_repl(py[best]).strip("\n")
    return _plain_code(text or "")


def _strip_repl(code: str) -> str:
    """A `>>> ` transcript becomes its input lines; other code is returned unchanged."""
    lines = code.splitlines()
    if not any(ln.startswith(">>> ") for ln in lines):
        return code
    return "\n".join(ln[4:] for ln in lines if ln.startswith((">>> ", "... ")))


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _plain_code(text: str) -> str:
    if text.strip() and _parses(text) and _CODE_START_RE.search(text):
        return text.strip("\n")
    start = _CODE_START_RE.search(text)
    if not start:
        return ""
    lines = text[start.start():].splitlines()
    for end in range(len(lines), 0, -1):
        chunk = "\n".join(lines[:end])
        if _parses(chunk):
            return chunk.strip("\n")
    return ""


def build_program(code: str, tests: str, entry_point: str | None, token: str) -> str:
    """The harness source run in the sandbox (code and tests are embedded as string literals)."""
    call_check = (
        f"if callable(_ns.get('check')) and {entry_point!r} in _ns:\n"
        f"    _step('tests', lambda: _ns['check'](_ns[{entry_point!r}]))\n"
        if entry_point else ""
    )
    return f'''import linecache, sys

class _Sink:
    def write(self, s):
        return len(s)
    def flush(self):
        pass

def _compile(name, text):
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    return compile(text, name, "exec")

def _fail(phase, exc):
    sys.stdout = sys.__stdout__
    where, tb = "", exc.__traceback__
    while tb is not None:  # the innermost frame in the candidate or the tests
        name = tb.tb_frame.f_code.co_filename
        if name in ("<tests>", "<candidate>"):
            line = linecache.getline(name, tb.tb_lineno).strip()
            where = " | at %s line %d: %s" % (name, tb.tb_lineno, line)
        tb = tb.tb_next
    if not where and isinstance(exc, SyntaxError) and exc.filename in ("<tests>", "<candidate>"):
        where = " | at %s line %s: %s" % (exc.filename, exc.lineno, (exc.text or "").strip())
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    head = type(exc).__name__ + (": " + msg[:200] if msg else "")
    sys.stderr.write({_FAIL_PREFIX!r} + phase + ": " + head + where + "\\n")
    sys.stderr.flush()
    import os
    os._exit(1)

def _step(phase, fn):
    try:
        fn()
    except BaseException as exc:
        _fail(phase, exc)

_ns = {{"__name__": "__candidate__"}}
sys.stdout = _Sink()
_step("candidate", lambda: exec(_compile("<candidate>", {code!r}), _ns))
_step("tests", lambda: exec(_compile("<tests>", {tests!r}), _ns))
{call_check}sys.stdout = sys.__stdout__
print({token!r})
'''


def run_tests(code: str, tests: str, entry_point: str | None = None, timeout_s: float = 10.0,
              memory_mb: int = 512, allow_weak_isolation: bool = False) -> TestOutcome:
    """Runs `code` followed by `tests` in the sandbox; passed when every test ran without error. Raises
    SandboxError when the sandbox refuses to run (no namespaces and no opt-in): that is no verdict on the
    code."""
    from model.sandbox import REFUSED, SandboxError, run_python

    if not code.strip():
        return TestOutcome(False, "no code found")
    token = "TESTS_PASSED_" + secrets.token_hex(8)
    result = run_python(build_program(code, tests, entry_point, token), timeout_s=timeout_s,
                        memory_mb=memory_mb, allow_weak_isolation=allow_weak_isolation)
    if result.isolation == REFUSED:
        raise SandboxError(result.error or "the sandbox refused to run")
    if result.timed_out:
        return TestOutcome(False, f"timed out after {timeout_s:g}s", True)
    if result.ok and token in result.stdout:
        return TestOutcome(True)
    return TestOutcome(False, _first_error(result.stderr, result.error))


def _first_error(stderr: str, error: str | None) -> str:
    for line in (stderr or "").splitlines():
        if line.startswith(_FAIL_PREFIX):
            return line[len(_FAIL_PREFIX):]
    tail = [ln.strip() for ln in (stderr or "").splitlines() if ln.strip()]
    if error:
        return str(error).splitlines()[0][:300]
    if tail:
        return tail[-1][:300]
    return "exited before the tests finished"
