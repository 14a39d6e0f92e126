"""Synthetic small-function tasks: a spec, a correct implementation, generated tests and a buggy twin.

Each `Spec` has a correct implementation, hand-written plausible bugs (substring edits of it: an
off-by-one, a wrong comparison, a dropped case, ... some make the code longer, some shorter, some
keep its length) and a trusted reference function (the project's own code, never a candidate's)
that computes the expected outputs of fixed edge cases plus seeded random inputs. The tests are plain
`assert name(args) == expected` lines. The caller proves the pair in the sandbox: the correct code
passes, the buggy one fails. The specs are in synth_code_specs, their reference functions in
synth_code_refs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Spec:
    name: str
    args: str  # the parameter list
    doc: str  # what the function does (one sentence)
    source: str  # the body, 4-space indented, without the def line
    bugs: tuple[tuple[str, str, str], ...]  # (old, new, description) edits of `source`
    edge: tuple[tuple[Any, ...], ...]  # argument tuples always tested (they expose the bugs)
    draw: Callable[[random.Random], tuple[Any, ...]]  # a random argument tuple
    ref: Callable[..., Any]

    @property
    def signature(self) -> str:
        return f"{self.name}({self.args})"



def tests_for(spec: Spec, rng: random.Random, n_random: int = 3) -> str:
    """`assert name(args) == expected` lines: the edge cases, then seeded random inputs."""
    cases = list(spec.edge) + [spec.draw(rng) for _ in range(n_random)]
    unique: dict[str, tuple[Any, ...]] = {}
    for args in cases:
        unique.setdefault(repr(args), args)
    lines = [
        f"assert {spec.name}({', '.join(repr(v) for v in args)}) == {spec.ref(*args)!r}"
        for args in unique.values()
    ]
    return "\n".join(lines) + "\n"


EXAMPLE_STYLES = (
    "{call} == {out}",
    "{call} -> {out}",
    "{call} returns {out}",
    ">>> {call}\n{out}",
)
EXAMPLE_LEADS = ("Examples:", "For example:", "Example calls:", "It should behave like this:")


def examples_for(spec: Spec, rng: random.Random, k: int) -> str:
    """`k` input/output examples for the prompt, drawn from the same cases as the tests (computed by the
    trusted reference function), in one of the common ways prompts state them."""
    pool = list(dict.fromkeys(repr(a) for a in list(spec.edge) + [spec.draw(rng) for _ in range(4)]))
    picked = rng.sample(pool, min(k, len(pool)))
    style = rng.choice(EXAMPLE_STYLES)
    lines = []
    for args_repr in picked:
        args = eval(args_repr)  # noqa: S307 - our own repr of plain literals
        call = f"{spec.name}({', '.join(repr(v) for v in args)})"
        lines.append(style.format(call=call, out=repr(spec.ref(*args))))
    return rng.choice(EXAMPLE_LEADS) + "\n" + "\n".join(lines)


def implementation(spec: Spec, with_docstring: bool) -> str:
    doc = f'    """{spec.doc}"""\n' if with_docstring else ""
    return f"def {spec.signature}:\n{doc}{spec.source}"


def buggy(spec: Spec, code: str, bug: tuple[str, str, str]) -> str | None:
    old, new, _ = bug
    return code.replace(old, new, 1) if old in code else None
