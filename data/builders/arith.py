"""Small arithmetic helpers for perturbing worked solutions: a safe evaluator, number tokens, slips.

The evaluator only accepts numbers, parentheses and + - * / // % ** (it walks the `ast`; nothing is
executed), which is all GSM8K calculator annotations and the synthetic stories use.
"""

from __future__ import annotations

import ast
import math
import operator
import random
import re

NUMBER_RE = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d])|(?<![\d.,])\d+(?:\.\d+)?(?![\d])")

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


class ArithError(ValueError):
    pass


def safe_eval(expr: str) -> float:
    """The value of a plain arithmetic expression; ArithError for anything else."""
    text = expr.replace(",", "").replace("x", "*").replace("×", "*").replace("÷", "/").strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise ArithError(f"not arithmetic: {expr!r}") from e
    return float(_eval(tree.body))


def _eval(node: ast.AST) -> float:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 12:
            raise ArithError("exponent too large")
        try:
            return _BINOPS[type(node.op)](left, right)
        except ZeroDivisionError as e:
            raise ArithError("division by zero") from e
    raise ArithError(f"unsupported expression node {type(node).__name__}")


def parse_number(token: str) -> float:
    return float(token.replace(",", ""))


def same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def format_like(value: float, like: str = "") -> str | None:
    """`value` written like the token `like` (thousands commas kept); None if it needs > 2 decimals."""
    rounded = round(value, 2)
    if not same(rounded, value):
        return None
    if same(rounded, round(rounded)):
        text = f"{int(round(rounded)):,}" if "," in like else str(int(round(rounded)))
    else:
        text = f"{rounded:,.2f}" if "," in like else f"{rounded:.2f}"
        text = text.rstrip("0").rstrip(".")
    return text


def slip(value: float, rng: random.Random) -> float:
    """A plausible arithmetic slip of a result: off by one, off by ten, swapped digits, a lost zero."""
    if not same(value, round(value)):
        step = 0.1 if same(round(value, 1), value) else 0.01
        options = [
            o for o in (value + step, value - step, value * 10, value / 10) if not same(o, value) and o > 0
        ]
        return round(rng.choice(options), 4) if options else value + 1
    options = [value + 1, value - 1]
    if abs(value) >= 20:
        options += [value + 10, value - 10]
    if same(value, round(value)) and abs(value) >= 10:
        digits = str(int(abs(round(value))))
        if len(digits) >= 2 and digits[-1] != digits[-2]:
            swapped = digits[:-2] + digits[-1] + digits[-2]
            options.append(math.copysign(int(swapped), value))
        if digits.endswith("0"):
            options.append(value / 10)
    options = [o for o in options if not same(o, value) and (o >= 0 or value < 0)]
    return rng.choice(options) if options else value + 1


def replace_numbers(text: str, changes: list[tuple[float, float]]) -> str:
    """Rewrites every number token whose value is an old value in `changes` to the new value."""

    def sub(m: re.Match) -> str:
        tok = m.group(0)
        value = parse_number(tok)
        for old, new in changes:
            if same(value, old):
                return format_like(new, tok) or tok
        return tok

    return NUMBER_RE.sub(sub, text)


def numbers_in(text: str) -> list[float]:
    return [parse_number(m.group(0)) for m in NUMBER_RE.finditer(text)]
