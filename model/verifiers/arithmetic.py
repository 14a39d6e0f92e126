"""Checking a worked math solution without a reference: recompute each written calculation, and see
that every quantity the question gives is used, once.

The evidence comes from the visible text only (the question and the candidates): a step written as
`48 / 2 = 24` (or `48/2=24`, `3 x 4 = 12`, `100 - 50 - 30 = $20`, `(5 + 3) x 2 = 16`) is recomputed from
its parsed numbers by a restricted arithmetic evaluator (no candidate code runs, so no sandbox is
needed). A quantity of the question that a solution never uses,
or uses in more calculations than another solution does, is reported too: a dropped or a repeated step
leaves every calculation right but changes the result. The findings compare candidates; they never
prove one correct.
"""
from __future__ import annotations

import ast
import re
from collections import Counter
from typing import Any

_NUMBER = r"\$?\d[\d,]*(?:\.\d+)?"
_OP = r"[-+*/x\u00d7\u00f7]"
# `a op b (op c ...) = result`, optionally parenthesised: `(5 + 3) x 2 = 16`, `100 - 50 - 30 - 15 = $5`
STEP_RE = re.compile(r"(?<![\w.$])(\(*\s*" + _NUMBER + r"(?:\s*\)*\s*" + _OP + r"\s*\(*\s*" + _NUMBER
                     + r")+\s*\)*)\s*=\s*(-?" + _NUMBER + r")")
_QUANTITY_RE = re.compile(r"(?<![\w.])\$?(\d[\d,]*(?:\.\d+)?)(?![\w.]*\d)")
_NUMBER_RE = re.compile(r"\d[\d,]*(?:\.\d+)?")
_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b if b else float("nan")}


def _num(text: str) -> float:
    return float(text.replace(",", "").replace("$", ""))


def _fmt(x: float) -> str:
    return f"{x:g}"


def _eval(expr: str) -> float | None:
    """The value of an arithmetic expression of numbers, + - * / and parentheses (None if it is not one)."""
    py = _NUMBER_RE.sub(lambda m: m.group(0).replace(",", ""), expr.replace("$", ""))
    py = re.sub(r"[x\u00d7]", "*", py).replace("\u00f7", "/")
    try:
        tree = ast.parse(py, mode="eval").body
    except SyntaxError:
        return None

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        raise ValueError("not arithmetic")

    try:
        return ev(tree)
    except (ValueError, OverflowError):
        return None


def steps(text: str) -> list[tuple[str, list[float], float]]:
    """The calculations written in a text, in order: (expression, its numbers, the stated result)."""
    out = []
    for m in STEP_RE.finditer(text):
        expr = m.group(1).strip()
        if expr.count("(") != expr.count(")"):
            expr = expr.strip("()").strip()
        out.append((expr, [_num(n) for n in _NUMBER_RE.findall(expr)], _num(m.group(2))))
    return out


def wrong_steps(text: str) -> list[str]:
    out = []
    for expr, _, stated in steps(text):
        value = _eval(expr)
        if value is not None and not abs(value - stated) <= 1e-6 * max(1.0, abs(stated)):
            out.append(f"{expr} = {_fmt(stated)} (should be {_fmt(value)})")
    return out


def question_quantities(prompt: str) -> Counter:
    """Each number the question states, with how many times it states it."""
    return Counter(_num(q) for q in _QUANTITY_RE.findall(prompt))


def operand_uses(text: str, quantities: Counter) -> Counter:
    """How many calculations use each quantity of the question as an operand. An operand equal to an
    earlier step's result is that result (`35 x 1 = 35`, then `140 + 35`), not the question's 35."""
    uses: Counter = Counter()
    results: list[float] = []
    for _, numbers, c in steps(text):
        for x in numbers:
            if x in results:
                results.remove(x)
            elif x in quantities:
                uses[x] += 1
        results.append(c)
    return uses


def check_solutions(prompt: str, candidates: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per label: steps checked, wrong steps, and the question's quantities it uses fewer or more times than
    the question states them while another candidate does not (a dropped or a repeated step)."""
    stated = question_quantities(prompt)
    uses = {lab: operand_uses(text, stated) for lab, text in candidates.items()}
    per: dict[str, dict[str, Any]] = {}
    for lab, text in candidates.items():
        others = [uses[o] for o in candidates if o != lab]
        unused = [q for q in stated if uses[lab][q] < stated[q] and any(u[q] > uses[lab][q] for u in others)]
        reused = [q for q in stated if uses[lab][q] > stated[q] and any(u[q] < uses[lab][q] for u in others)]
        per[lab] = {"steps_checked": len(steps(text)), "wrong_steps": wrong_steps(text),
                    "unused_quantities": [_fmt(q) for q in unused], "reused_quantities": [_fmt(q) for q in reused]}
    return per


def issues(findings: dict[str, Any]) -> int:
    return len(findings["wrong_steps"]) + len(findings["unused_quantities"]) + len(findings["reused_quantities"])
