"""Minimal wrong-answer perturbations of GSM8K solutions, driven by the calculator annotations.

GSM8K solutions mark every computation as `48/2 = <<48/2=24>>24`. That structure tells which number
is the result of which step, so a perturbation can change one step and carry the new value through
every later step that uses it (re-evaluating the annotated expressions) into the `#### N` answer,
leaving the rest of the text identical. Perturbations:

- slip:            one result in the last step is off (by one, by ten, swapped digits, a lost zero);
- carried_slip:    the same slip one step earlier, carried through the last step;
- wrong_operation: one operator of a step in the last two steps is swapped (+ -> -, * -> +, ...);
- unit_conversion: a world-knowledge conversion constant not given in the question (60 minutes,
                   24 hours, 12 months, 100 cents, ...) is replaced by a wrong one.

A change is not carried into a later step that uses a number the question also states (a number
substitution could not tell the two apart). The caller proves the result with the math verifier.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from data.builders.arith import (
    NUMBER_RE,
    ArithError,
    format_like,
    numbers_in,
    replace_numbers,
    safe_eval,
    same,
    slip,
)

ANNOTATION_RE = re.compile(r"<<([^<>]*)>>")
_OP_RE = re.compile(r"(?<=[\d)])\s*([+\-*/])\s*(?=[\d(.])")
_VISIBLE_OP_RE = re.compile(r"(?<=[\d)])(\s*)([+\-*/x×÷])(\s*)(?=\$?[\d(])")
_WRONG_OP = {"+": "-", "-": "+", "*": "+", "/": "*"}
UNIT_SWAPS = {60: 100, 24: 12, 12: 10, 7: 5, 100: 10, 1000: 100, 52: 48, 365: 360, 16: 10, 36: 12}
KINDS = ("slip", "carried_slip", "wrong_operation", "unit_conversion")


@dataclass
class Step:
    expr: str
    value: float
    ann: tuple[int, int]  # span of <<...>>
    result: tuple[int, int] | None  # span of the visible result right after the annotation
    seg: tuple[int, int]  # visible text from the end of the previous step to this annotation
    opaque: bool  # the annotation's expression does not evaluate to its stated result


def strip_annotations(text: str) -> str:
    return ANNOTATION_RE.sub("", text)


def parse_steps(body: str) -> list[Step]:
    steps: list[Step] = []
    prev_end = 0
    for m in ANNOTATION_RE.finditer(body):
        inner = m.group(1)
        if "=" not in inner:
            continue
        expr, _, stated = inner.rpartition("=")
        res = NUMBER_RE.match(body, m.end())
        try:
            stated_value = float(stated.replace(",", "").strip())
        except ValueError:
            stated_value = None
        try:
            value = safe_eval(expr)
            opaque = stated_value is None or not same(round(value, 6), round(stated_value, 6))
        except ArithError:
            value, opaque = (stated_value if stated_value is not None else float("nan")), True
        result = (res.start(), res.end()) if res else None
        steps.append(Step(expr, value, (m.start(), m.end()), result, (prev_end, m.start()), opaque))
        prev_end = result[1] if result else m.end()
    return steps


def perturb(
    body: str, final: str, question: str, kind: str, rng: random.Random
) -> tuple[str, str, str] | None:
    """(new body, new final answer, description) or None when `kind` does not apply to this solution."""
    steps = parse_steps(body)
    if not steps:
        return None
    if kind == "slip":
        return _slip(body, final, question, steps, len(steps) - 1, rng, "slip")
    if kind == "carried_slip":
        return (
            _slip(body, final, question, steps, len(steps) - 2, rng, "carried_slip")
            if len(steps) > 1
            else None
        )
    if kind == "wrong_operation":
        return _wrong_operation(body, final, question, steps, rng)
    if kind == "unit_conversion":
        return _unit_conversion(body, final, question, steps, rng)
    raise ValueError(f"unknown perturbation {kind!r}; expected one of {KINDS}")


def _slip(body, final, question, steps, k, rng, name):
    step = steps[k]
    if step.opaque or step.result is None:
        return None
    new_value = slip(step.value, rng)
    old_text = body[step.result[0] : step.result[1]]
    desc = f"{name}: step {k + 1} result {old_text} -> {format_like(new_value, old_text)}"
    return _cascade(body, final, question, steps, k, step.expr, new_value, None, desc)


def _wrong_operation(body, final, question, steps, rng):
    order = [k for k in range(max(0, len(steps) - 2), len(steps))]
    rng.shuffle(order)
    for k in order:
        step = steps[k]
        ops = list(_OP_RE.finditer(step.expr))
        if step.opaque or step.result is None or not ops:
            continue
        seg_text = body[step.seg[0] : step.seg[1]]
        visible = list(_VISIBLE_OP_RE.finditer(seg_text))
        if len(visible) < len(ops):
            continue
        visible = visible[-len(ops) :]
        if not _visible_has_numbers(seg_text, step.expr):
            continue
        i = rng.randrange(len(ops))
        old_op = ops[i].group(1)
        new_op = _WRONG_OP[old_op]
        new_expr = step.expr[: ops[i].start(1)] + new_op + step.expr[ops[i].end(1) :]
        try:
            new_value = safe_eval(new_expr)
        except ArithError:
            continue
        vis = visible[i]
        shown = {"*": "x" if vis.group(2) in "x×" else "*"}.get(new_op, new_op)
        edit = (step.seg[0] + vis.start(2), step.seg[0] + vis.end(2), shown)
        desc = f"wrong_operation: step {k + 1} uses '{new_op}' instead of '{old_op}'"
        out = _cascade(body, final, question, steps, k, new_expr, new_value, edit, desc)
        if out:
            return out
    return None


def _visible_has_numbers(seg_text: str, expr: str) -> bool:
    shown = numbers_in(seg_text)
    return all(any(same(n, s) for s in shown) for n in numbers_in(expr))


def _unit_conversion(body, final, question, steps, rng):
    known = numbers_in(question)
    options = []
    for k, step in enumerate(steps):
        if step.opaque or step.result is None:
            continue
        for m in NUMBER_RE.finditer(step.expr):
            value = float(m.group(0).replace(",", ""))
            derived = known + [s.value for s in steps[:k]]  # a given or computed number is no unit constant
            if value in UNIT_SWAPS and not any(same(value, q) for q in derived):
                options.append((k, m, UNIT_SWAPS[value]))
    rng.shuffle(options)
    for k, m, new_const in options:
        step = steps[k]
        seg_text = body[step.seg[0] : step.seg[1]]
        shown = [
            v
            for v in NUMBER_RE.finditer(seg_text)
            if same(float(v.group(0).replace(",", "")), float(m.group(0)))
        ]
        if not shown:
            continue
        new_expr = step.expr[: m.start()] + str(new_const) + step.expr[m.end() :]
        try:
            new_value = safe_eval(new_expr)
        except ArithError:
            continue
        vis = shown[-1]
        edit = (step.seg[0] + vis.start(), step.seg[0] + vis.end(), str(new_const))
        desc = f"unit_conversion: step {k + 1} uses {new_const} instead of {m.group(0)}"
        out = _cascade(body, final, question, steps, k, new_expr, new_value, edit, desc)
        if out:
            return out
    return None


def _cascade(body, final, question, steps, k, new_expr, new_value, edit, desc):
    """Applies the change to step k and re-evaluates every later step; None if it cannot be carried."""
    asked = numbers_in(question)
    step = steps[k]
    changes: list[tuple[float, float]] = []
    edits: list[tuple[int, int, str]] = [edit] if edit else []
    if not _record(changes, edits, step, new_expr, new_value, body):
        return None
    for later in steps[k + 1 :]:
        seg_text = body[later.seg[0] : later.seg[1]]
        new_seg = replace_numbers(seg_text, changes[::-1])
        if new_seg != seg_text:
            edits.append((later.seg[0], later.seg[1], new_seg))
        expr = replace_numbers(later.expr, changes[::-1])
        if expr == later.expr:
            continue
        if later.opaque or later.result is None or _ambiguous(later.expr, changes, asked):
            return None
        try:
            value = safe_eval(expr)
        except ArithError:
            return None
        if not _record(changes, edits, later, expr, value, body):
            return None
    tail_start = steps[-1].result[1] if steps[-1].result else steps[-1].ann[1]
    tail = body[tail_start:]
    new_tail = replace_numbers(tail, changes[::-1])
    if new_tail != tail:
        edits.append((tail_start, len(body), new_tail))
    new_final = replace_numbers(final, changes[::-1])
    if new_final == final or not _plausible(final, new_final):
        return None
    return _apply(body, edits), new_final, desc


def _plausible(final: str, new_final: str, factor: float = 10.0) -> bool:
    """A slip, not a blow-up: the wrong answer stays within a factor of the right one."""
    old, new = numbers_in(final), numbers_in(new_final)
    if len(old) != 1 or len(new) != 1:
        return True
    a, b = abs(old[0]), abs(new[0])
    return a == 0 or b == 0 or max(a, b) / min(a, b) <= factor


def _ambiguous(expr: str, changes: list[tuple[float, float]], asked: list[float]) -> bool:
    """A later step uses a changed value that the question also states: which one it uses is unclear."""
    used = numbers_in(expr)
    return any(same(old, u) and any(same(old, q) for q in asked) for old, _ in changes for u in used)


def _record(changes, edits, step, expr, value, body) -> bool:
    """Records a step's new value and its text edits; False when it cannot be written plausibly."""
    if same(value, step.value):
        return True
    new_text = format_like(value, body[step.result[0] : step.result[1]])
    if new_text is None or (value < 0 <= step.value):
        return False
    changes.append((step.value, value))
    edits.append((step.ann[0], step.ann[1], f"<<{expr}={new_text}>>"))
    edits.append((step.result[0], step.result[1], new_text))
    return True


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + new + text[end:]
    return text
