"""Input/output examples stated in a prompt, turned into tests (`assert f(x) == y` lines).

Understands doctest examples (`>>> f(1)` followed by `2`), `f(1) == 2`, `f(1) -> 2`, `f(1) returns 2`
and `f(1) should return 2`, as HumanEval, MBPP and many coding prompts state them. Lines that do not
compile are left out.
"""
from __future__ import annotations

import re

_DOCTEST = re.compile(r">>>\s*(?P<call>[A-Za-z_]\w*\(.*\))\s*\n\s*(?P<out>[^\n>][^\n]*)")
_ARGS = r"[^\n()]*(?:\([^\n()]*\)[^\n()]*)*"  # call arguments with one level of nested parentheses
_ARROW = re.compile(r"(?P<call>[A-Za-z_]\w*\(" + _ARGS + r"\))\s*(?:==|->|returns|should return)\s*"
                    r"(?P<out>[^\n]+)")


def asserts_from_examples(prompt: str) -> str | None:
    """The prompt's examples as assert lines (None when it states none)."""
    asserts = [f"assert {m['call']} == {m['out'].strip()}" for m in _DOCTEST.finditer(prompt)]
    if not asserts:
        asserts = [f"assert {m['call']} == {_strip_out(m['out'])}" for m in _ARROW.finditer(prompt)]
    valid = []
    for line in asserts:
        try:
            compile(line, "<example>", "exec")
        except SyntaxError:
            continue
        if line not in valid:
            valid.append(line)
    return "\n".join(valid) + "\n" if valid else None


def _strip_out(text: str) -> str:
    return text.strip().rstrip(".").strip("`").strip()
