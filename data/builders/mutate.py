"""AST-located, text-spliced mutations of Python code (for buggy "bad" candidates).

Sites are found with the `ast` module, but each mutation is applied as a splice of the original source
at the node's position, so the mutant is byte-for-byte the original except for the mutated token(s):
no reformatting, comments kept, nothing that would let a judge tell the mutant by its layout.
Nothing here executes code; the builders test mutants in the sandbox.

Kinds: compare_op (< <=, == !=, in / not in, ...), arith_op (+ -, * //, ...; also in `x += 1`),
bool_op (and / or), constant (an int off by one), bool_constant (True / False), negate_condition
(if / while / ternary / comprehension test -> `not (...)`), drop_not, swap_returns (two return values
of one function exchanged), name_swap (min / max, lower / upper, startswith / endswith, ...),
string_constant (a short literal such as ' ' becomes ''), reverse_sort (`reverse=True` added),
result_off_by_one (`return len(...)` + 1), drop_statement (a whole-line statement removed).
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

KINDS = (
    "compare_op",
    "arith_op",
    "bool_op",
    "constant",
    "bool_constant",
    "negate_condition",
    "drop_not",
    "swap_returns",
    "name_swap",
    "string_constant",
    "reverse_sort",
    "result_off_by_one",
    "drop_statement",
)
# drop_statement often yields an obvious NameError; it is tried after the subtler kinds
LATE_KINDS = ("drop_statement",)

_COMPARE_SWAP = {
    ast.Lt: ("<", "<="),
    ast.LtE: ("<=", "<"),
    ast.Gt: (">", ">="),
    ast.GtE: (">=", ">"),
    ast.Eq: ("==", "!="),
    ast.NotEq: ("!=", "=="),
    ast.In: ("in", "not in"),
    ast.NotIn: ("not in", "in"),
    ast.Is: ("is", "is not"),
    ast.IsNot: ("is not", "is"),
}
_ARITH_SWAP = {
    ast.Add: ("+", "-"),
    ast.Sub: ("-", "+"),
    ast.Mult: ("*", "+"),
    ast.Div: ("/", "*"),
    ast.FloorDiv: ("//", "/"),
    ast.Mod: ("%", "//"),
    ast.Pow: ("**", "*"),
    ast.BitAnd: ("&", "|"),
    ast.BitOr: ("|", "&"),
    ast.LShift: ("<<", ">>"),
    ast.RShift: (">>", "<<"),
}
_OP_PATTERNS = {
    "<": r"<(?!=)",
    "<=": r"<=",
    ">": r">(?!=)",
    ">=": r">=",
    "==": r"==",
    "!=": r"!=",
    "in": r"(?<![\w])in(?![\w])",
    "not in": r"not\s+in(?![\w])",
    "is": r"(?<![\w])is(?![\w])(?!\s+not\b)",
    "is not": r"is\s+not(?![\w])",
    "+": r"\+",
    "-": r"-",
    "*": r"(?<!\*)\*(?!\*)",
    "/": r"(?<!/)/(?!/)",
    "//": r"//",
    "%": r"%",
    "**": r"\*\*",
    "&": r"&",
    "|": r"\|",
    "<<": r"<<",
    ">>": r">>",
    "and": r"(?<![\w])and(?![\w])",
    "or": r"(?<![\w])or(?![\w])",
}


# builtins and methods with a confusable twin
_NAME_SWAP = {
    "min": "max",
    "max": "min",
    "any": "all",
    "all": "any",
    "lower": "upper",
    "upper": "lower",
    "islower": "isupper",
    "isupper": "islower",
    "startswith": "endswith",
    "endswith": "startswith",
    "lstrip": "rstrip",
    "rstrip": "lstrip",
    "bisect_left": "bisect_right",
    "bisect_right": "bisect_left",
    "floor": "ceil",
    "ceil": "floor",
    "find": "rfind",
    "rfind": "find",
    "index": "rindex",
}


@dataclass(frozen=True)
class Mutation:
    kind: str
    description: str
    edits: tuple[tuple[int, int, str], ...]  # (start, end, new text) as byte offsets into the source


class _Source:
    """Byte offsets of (line, column) positions, as the ast reports them (columns are UTF-8 bytes)."""

    def __init__(self, text: str):
        self.text = text
        self.data = text.encode("utf-8")
        self.line_starts = [0]
        for line in self.data.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))

    def offset(self, lineno: int, col: int) -> int:
        return self.line_starts[lineno - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def get(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8")


def apply(source: str, mutation: Mutation) -> str:
    data = source.encode("utf-8")
    for start, end, new in sorted(mutation.edits, key=lambda e: e[0], reverse=True):
        data = data[:start] + new.encode("utf-8") + data[end:]
    return data.decode("utf-8")


def find_mutations(source: str, first_line: int = 1) -> list[Mutation]:
    """Every mutation site in `source` at or after `first_line` (earlier lines, e.g. a prompt, stay)."""
    tree = ast.parse(source)
    src = _Source(source)
    found: list[Mutation] = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", first_line) < first_line:
            continue
        found.extend(_node_mutations(node, src))
    found.extend(_swap_returns(tree, src, first_line))
    return found


def mutants(source: str, rng: random.Random, first_line: int = 1) -> Iterator[tuple[Mutation, str]]:
    """Distinct, parseable mutants in a seeded order that alternates between kinds."""
    by_kind: dict[str, list[Mutation]] = {}
    for m in find_mutations(source, first_line):
        by_kind.setdefault(m.kind, []).append(m)
    kinds = sorted(k for k in by_kind if k not in LATE_KINDS)
    rng.shuffle(kinds)
    kinds += [k for k in LATE_KINDS if k in by_kind]
    for k in kinds:
        rng.shuffle(by_kind[k])
    seen = {source}
    order = _round_robin([by_kind[k] for k in kinds if k not in LATE_KINDS]) + [
        m for k in LATE_KINDS for m in by_kind.get(k, [])
    ]
    for m in order:
        code = apply(source, m)
        if code in seen or not _parses(code):
            continue
        seen.add(code)
        yield m, code


def _round_robin(groups: list[list[Mutation]]) -> list[Mutation]:
    out: list[Mutation] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out.extend(g[i] for g in groups if i < len(g))
    return out


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- per node


def _node_mutations(node: ast.AST, src: _Source) -> list[Mutation]:
    out: list[Mutation] = []
    if isinstance(node, ast.Compare):
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            if type(op) in _COMPARE_SWAP:
                old, new = _COMPARE_SWAP[type(op)]
                out += _op_edit("compare_op", src, left, right, old, new)
            left = right
    elif isinstance(node, ast.BinOp) and type(node.op) in _ARITH_SWAP:
        old, new = _ARITH_SWAP[type(node.op)]
        out += _op_edit("arith_op", src, node.left, node.right, old, new)
    elif isinstance(node, ast.AugAssign) and type(node.op) in _ARITH_SWAP:
        old, new = _ARITH_SWAP[type(node.op)]
        out += _op_edit(
            "arith_op", src, node.target, node.value, old + "=", new + "=", pattern=re.escape(old + "=")
        )
    elif isinstance(node, ast.BoolOp):
        old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
        out += _op_edit("bool_op", src, node.values[0], node.values[1], old, new)
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        start, end = src.span(node)
        out.append(
            Mutation(
                "bool_constant",
                f"{node.value} -> {not node.value} (line {node.lineno})",
                ((start, end, str(not node.value)),),
            )
        )
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        start, end = src.span(node)
        if src.get(start, end).isdigit():  # plain decimal literals only
            for new in {max(node.value - 1, 0), node.value + 1} - {node.value}:
                out.append(
                    Mutation(
                        "constant", f"{node.value} -> {new} (line {node.lineno})", ((start, end, str(new)),)
                    )
                )
    elif isinstance(node, (ast.If, ast.While, ast.IfExp)):
        out += _negate("negate_condition", src, node.test)
    elif isinstance(node, ast.comprehension):
        for cond in node.ifs:
            out += _negate("negate_condition", src, cond)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        start, _ = src.span(node)
        inner, _ = src.span(node.operand)
        out.append(Mutation("drop_not", f"'not' removed (line {node.lineno})", ((start, inner, ""),)))
    elif isinstance(node, ast.Name) and node.id in _NAME_SWAP:
        start, end = src.span(node)
        out.append(
            Mutation(
                "name_swap",
                f"{node.id} -> {_NAME_SWAP[node.id]} (line {node.lineno})",
                ((start, end, _NAME_SWAP[node.id]),),
            )
        )
    elif isinstance(node, ast.Attribute) and node.attr in _NAME_SWAP:
        _, end = src.span(node)
        start = end - len(node.attr.encode())
        if src.get(start, end) == node.attr:
            out.append(
                Mutation(
                    "name_swap",
                    f".{node.attr} -> .{_NAME_SWAP[node.attr]} (line {node.lineno})",
                    ((start, end, _NAME_SWAP[node.attr]),),
                )
            )
    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) <= 3:
        start, end = src.span(node)
        text = src.get(start, end)
        if text[:1] in "'\"" and _literal(text) == node.value:
            new = "' '" if node.value == "" else "''"
            out.append(
                Mutation("string_constant", f"{text} -> {new} (line {node.lineno})", ((start, end, new),))
            )
    elif isinstance(node, ast.Call) and _is_sort(node) and not any(k.arg == "reverse" for k in node.keywords):
        _, end = src.span(node)
        sep = ", " if node.args or node.keywords else ""
        out.append(
            Mutation(
                "reverse_sort",
                f"sort order reversed (line {node.lineno})",
                ((end - 1, end - 1, sep + "reverse=True"),),
            )
        )
    elif (
        isinstance(node, ast.Return)
        and isinstance(node.value, ast.Call)
        and _called(node.value) in ("len", "sum", "count")
    ):
        _, end = src.span(node.value)
        out.append(
            Mutation(
                "result_off_by_one",
                f"returned {_called(node.value)}(...) + 1 (line {node.lineno})",
                ((end, end, " + 1"),),
            )
        )
    if isinstance(
        node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.For, ast.While, ast.If, ast.With, ast.Try)
    ):
        out += _drops(node, src)
    return out


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def _called(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _is_sort(call: ast.Call) -> bool:
    """`sorted(...)` or `x.sort(...)`, whose source ends with the closing parenthesis."""
    name = _called(call)
    return (name == "sorted" and isinstance(call.func, ast.Name)) or (
        name == "sort" and isinstance(call.func, ast.Attribute)
    )


def _op_edit(
    kind: str, src: _Source, left: ast.AST, right: ast.AST, old: str, new: str, pattern: str | None = None
) -> list[Mutation]:
    _, start = src.span(left)
    end, _ = src.span(right)
    between = src.get(start, end)
    hits = list(re.finditer(pattern or _OP_PATTERNS[old], between))
    if len(hits) != 1:
        return []
    hit = hits[0]
    line = getattr(left, "end_lineno", 0)
    return [
        Mutation(
            kind,
            f"'{old}' -> '{new}' (line {line})",
            (
                (
                    start + len(between[: hit.start()].encode()),
                    start + len(between[: hit.end()].encode()),
                    new,
                ),
            ),
        )
    ]


def _negate(kind: str, src: _Source, test: ast.AST) -> list[Mutation]:
    start, end = src.span(test)
    text = src.get(start, end)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return []  # drop_not covers it
    return [
        Mutation(
            kind,
            f"condition negated (line {test.lineno}): not ({text})",
            ((start, start, "not ("), (end, end, ")")),
        )
    ]


def _drops(node: ast.AST, src: _Source) -> list[Mutation]:
    out = []
    for body in (getattr(node, "body", None), getattr(node, "orelse", None)):
        if not body or len(body) < 2:
            continue
        for k, stmt in enumerate(body):
            if k == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue  # a docstring
            if isinstance(stmt, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
                continue
            span = _whole_lines(stmt, src)
            if span:
                out.append(
                    Mutation(
                        "drop_statement",
                        f"statement dropped (line {stmt.lineno}): "
                        f"{src.get(*src.span(stmt)).splitlines()[0].strip()}",
                        (span + ("",),),
                    )
                )
    return out


def _whole_lines(stmt: ast.AST, src: _Source) -> tuple[int, int] | None:
    """The byte span of the lines a statement occupies, if nothing else shares them."""
    line_start = src.line_starts[stmt.lineno - 1]
    line_end = src.line_starts[stmt.end_lineno] if stmt.end_lineno < len(src.line_starts) else len(src.data)
    start, end = src.span(stmt)
    before = src.get(line_start, start)
    after = src.get(end, line_end)
    if before.strip() or (after.strip() and not after.strip().startswith("#")):
        return None
    return line_start, line_end


def _swap_returns(tree: ast.AST, src: _Source, first_line: int) -> list[Mutation]:
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        returns = [
            n
            for n in _own_nodes(fn)
            if isinstance(n, ast.Return) and n.value is not None and n.lineno >= first_line
        ]
        texts = [src.get(*src.span(r.value)) for r in returns]
        pairs = [
            (i, j) for i in range(len(returns)) for j in range(i + 1, len(returns)) if texts[i] != texts[j]
        ]
        if not pairs:
            continue
        i, j = pairs[0] if len(pairs) == 1 else pairs[len(pairs) // 2]
        (si, ei), (sj, ej) = src.span(returns[i].value), src.span(returns[j].value)
        out.append(
            Mutation(
                "swap_returns",
                f"return values swapped (lines {returns[i].lineno}, {returns[j].lineno})",
                ((si, ei, texts[j]), (sj, ej, texts[i])),
            )
        )
    return out


def _own_nodes(fn: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function body, not descending into nested functions or classes."""
    stack = list(ast.iter_child_nodes(fn))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
