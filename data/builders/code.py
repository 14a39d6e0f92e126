"""Verifiable code pairs from HumanEval and MBPP (sanitized).

good = the canonical solution as a response would show it (a ```python fenced function); bad = an
AST-located mutant of it (`mutate`) that fails the tests. Proof at build time, in the sandbox through
`model.verifiers.code.run_tests` (never executed here): the good passes, the bad fails. Mutants are
tried in a seeded order; a mutant that only times out counts as failing but is kept as a fallback
while later mutants are tried for one that fails fast.

Resources: tests (python that raises on failure; HumanEval's `check` is followed by
`check(<entry_point>)`), metadata {"entry_point", "language": "python"}.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from typing import Any

from data.builders import mutate
from data.builders._common import PairFactory, build_rows, fail_proof, open_rows, row_rng
from data.sources._common import fail, req, req_id, req_str
from model.jsonl import Rejects
from model.records import JudgeTask, Resources
from model.verifiers.code import extract_code, run_tests

HUMANEVAL_HUB = ("openai/openai_humaneval", None, "test")
MBPP_HUB = ("google-research-datasets/mbpp", "sanitized", "test")
GOOD_TIMEOUT_S = 10.0
MUTANT_TIMEOUT_S = 3.0
MAX_MUTANTS = 6  # sandbox runs per row at most (plus one for the good solution)
FENCE = "```"


def require_sandbox() -> None:
    if importlib.util.find_spec("model.sandbox") is None:
        raise RuntimeError(
            "the code builders prove every pair by running tests in model.sandbox, "
            "which is not available (model/sandbox.py is missing)"
        )


def build_humaneval(
    path: str | Path | None = None,
    *,
    limit: int | None = None,
    seed: int = 0,
    split: str | None = None,
    heldout_fraction: float = 0.1,
    rejects: Rejects | None = None,
    max_mutants: int = MAX_MUTANTS,
) -> list[JudgeTask]:
    """HumanEval pairs; `path` is HumanEval.jsonl or a Hub id (None: openai/openai_humaneval)."""
    require_sandbox()
    factory = PairFactory(
        source="humaneval", builder="humaneval", domain="code", split=split, heldout_fraction=heldout_fraction
    )
    label, rows = open_rows(path, HUMANEVAL_HUB, "humaneval")
    return build_rows(
        label, rows, lambda row, n: humaneval_pair(row, n, factory, seed, max_mutants), rejects, limit
    )


def build_mbpp(
    path: str | Path | None = None,
    *,
    limit: int | None = None,
    seed: int = 0,
    split: str | None = None,
    heldout_fraction: float = 0.1,
    rejects: Rejects | None = None,
    max_mutants: int = MAX_MUTANTS,
) -> list[JudgeTask]:
    """MBPP (sanitized) pairs; `path` is sanitized-mbpp.json or a Hub id (None: mbpp sanitized/test)."""
    require_sandbox()
    factory = PairFactory(
        source="mbpp", builder="mbpp", domain="code", split=split, heldout_fraction=heldout_fraction
    )
    label, rows = open_rows(path, MBPP_HUB, "mbpp")
    return build_rows(
        label, rows, lambda row, n: mbpp_pair(row, n, factory, seed, max_mutants), rejects, limit
    )


# --------------------------------------------------------------------------- rows


def humaneval_pair(
    row: dict[str, Any], rownum: int, factory: PairFactory, seed: int, max_mutants: int = MAX_MUTANTS
) -> list[JudgeTask]:
    task_id = req_id(row, "task_id")
    prompt = req_str(row, "prompt")
    entry_point = req_str(row, "entry_point").strip()
    solution = req_str(row, "canonical_solution")
    test = req_str(row, "test")
    if not re.search(r"^def\s+check\s*\(", test, re.MULTILINE):
        fail("test", "has no `def check(candidate)`")
    uid = f"humaneval:{task_id}"
    if not factory.wanted(uid):
        return []
    code = normalize_code(prompt + solution)
    _parse_or_fail(code, "canonical_solution")
    tests = test.rstrip() + f"\n\n\ncheck({entry_point})\n"
    question = f"Complete the following Python function.\n\n{FENCE}python\n{prompt.strip()}\n{FENCE}"
    first_line = normalize_code(prompt).count("\n") + 1
    return [
        _pair(
            factory,
            uid,
            question,
            code,
            tests,
            entry_point,
            first_line,
            row_rng(seed, uid),
            max_mutants,
            "canonical_solution",
            {"row": rownum, "task_id": task_id},
        )
    ]


def mbpp_pair(
    row: dict[str, Any], rownum: int, factory: PairFactory, seed: int, max_mutants: int = MAX_MUTANTS
) -> list[JudgeTask]:
    task_id = req_id(row, "task_id")
    text = req_str(row, "prompt")
    code = normalize_code(req_str(row, "code"))
    test_list = _str_list(row, "test_list", min_len=1)
    imports = _str_list(row, "test_imports", min_len=0) if row.get("test_imports") is not None else []
    tree = _parse_or_fail(code, "code")
    entry_point = _entry_point(tree, "\n".join(test_list))
    uid = f"mbpp:{task_id}"
    if not factory.wanted(uid):
        return []
    tests = "\n".join(imports + test_list) + "\n"
    question = (
        f"{text.strip()}\n\nYour function should pass this test:\n"
        f"{FENCE}python\n{test_list[0].strip()}\n{FENCE}"
    )
    return [
        _pair(
            factory,
            uid,
            question,
            code,
            tests,
            entry_point,
            1,
            row_rng(seed, uid),
            max_mutants,
            "code",
            {"row": rownum, "task_id": task_id},
        )
    ]


def _pair(
    factory: PairFactory,
    uid: str,
    question: str,
    code: str,
    tests: str,
    entry_point: str,
    first_line: int,
    rng,
    max_mutants: int,
    field_name: str,
    meta: dict[str, Any],
) -> JudgeTask:
    good = fence(code)
    outcome = run_tests(extract_code(good, entry_point), tests, None, timeout_s=GOOD_TIMEOUT_S)
    if not outcome.passed:
        fail_proof(field_name, f"the canonical solution fails its own tests: {outcome.error}")
    found, tried = find_failing_mutant(code, tests, entry_point, first_line, rng, max_mutants)
    if found is None:
        fail_proof(
            field_name,
            f"none of the {tried} mutants tried fails the tests"
            if tried
            else "the code has no mutation site",
        )
    mutation, bad_code, timed_out = found
    resources = Resources(tests=tests, metadata={"entry_point": entry_point, "language": "python"})
    extra = {**meta, "mutation": mutation.kind, **({"bad_timed_out": True} if timed_out else {})}
    return factory.pair(
        upstream_id=uid,
        variant=f"mutant-{mutation.kind}",
        prompt=question,
        good=good,
        bad=fence(bad_code),
        perturbation=mutation.description,
        resources=resources,
        extra_meta=extra,
    )


def find_failing_mutant(
    code: str, tests: str, entry_point: str, first_line: int, rng, max_mutants: int = MAX_MUTANTS
) -> tuple[tuple[mutate.Mutation, str, bool] | None, int]:
    """((mutation, mutant code, timed_out) or None, mutants tried): the first mutant that fails fast,
    else one that timed out."""
    fallback, tried = None, 0
    for mutation, mutant in mutate.mutants(code, rng, first_line):
        if tried >= max_mutants:
            break
        tried += 1
        outcome = run_tests(extract_code(fence(mutant), entry_point), tests, None, timeout_s=MUTANT_TIMEOUT_S)
        if outcome.passed:
            continue  # an equivalent mutant (or the tests do not reach it)
        if not outcome.timed_out:
            return (mutation, mutant, False), tried
        fallback = fallback or (mutation, mutant, True)
    return fallback, tried


# --------------------------------------------------------------------------- helpers


def fence(code: str) -> str:
    return f"{FENCE}python\n{code.strip(chr(10))}\n{FENCE}"


def normalize_code(code: str) -> str:
    """Unix newlines and no trailing whitespace, so good and mutant differ only by the mutation."""
    lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n") + "\n"


def _parse_or_fail(code: str, field_name: str) -> ast.Module:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError) as e:
        fail(field_name, f"does not parse: {e}")
        raise  # unreachable; keeps type checkers happy


def _str_list(row: dict[str, Any], key: str, min_len: int) -> list[str]:
    value = req(row, key)
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        fail(key, "must be a list of strings")
    if len(value) < min_len:
        fail(key, f"must have at least {min_len} item(s)")
    return list(value)


def _entry_point(tree: ast.Module, tests: str) -> str:
    names = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    called = [n for n in names if re.search(rf"\b{re.escape(n)}\s*\(", tests)]
    if not called:
        fail("test_list", f"calls none of the functions the code defines ({names})")
    return called[0]
