"""HumanEval / MBPP pair builders and the AST mutator; the gold is re-run in the sandbox (few runs)."""

import ast
import importlib.util
import json
import random

import pytest
from conftest import shared_data

from data.builders import mutate
from data.builders.code import build_humaneval, build_mbpp
from model.jsonl import Rejects
from model.verifiers.code import extract_code, run_tests

needs_sandbox = pytest.mark.skipif(
    importlib.util.find_spec("model.sandbox") is None, reason="model.sandbox is not available"
)

HUMANEVAL_ROWS = [
    {
        "task_id": "Toy/0",
        "entry_point": "count_positive",
        "prompt": 'def count_positive(xs):\n    """Count the numbers greater than zero.\n'
        '    >>> count_positive([1, -2, 3])\n    2\n    """\n',
        "canonical_solution": "    n = 0\n    for x in xs:\n        if x > 0:\n            n += 1\n    "
        "return n\n",
        "test": "def check(candidate):\n    assert candidate([1, -2, 3]) == 2\n    assert candidate([0, 0]) "
        "== 0\n"
        "    assert candidate([]) == 0\n    assert candidate([5]) == 1\n",
    },
    {
        "task_id": "Toy/1",
        "prompt": "def f(x):\n    pass\n",
        "canonical_solution": "    return x\n",
        "test": "def check(candidate):\n    assert candidate(1) == 1\n",
    },  # no entry_point: malformed
]
MBPP_ROWS = [
    {
        "source_file": "toy",
        "task_id": 7,
        "prompt": "Write a function to return the larger of two numbers.",
        "code": "def larger(a, b):\r\n  if a >= b:  \r\n    return a\r\n  return b\r\n",
        "test_imports": [],
        "test_list": ["assert larger(1, 2) == 2", "assert larger(3, 2) == 3", "assert larger(-1, -1) == -1"],
    },
    {
        "source_file": "toy",
        "task_id": 8,
        "prompt": "Broken row.",
        "code": "def g():\n  return 1\n",
        "test_imports": [],
        "test_list": "assert g() == 1",
    },  # test_list must be a list
]


def assert_code_gold(tasks):
    """Independent of the builder: the good passes the task's tests in the sandbox, the bad fails."""
    for t in tasks:
        assert t.kind == "pairwise" and t.gold == 0 and t.domain == "code"
        ep = t.resources.metadata["entry_point"]
        good, bad = (extract_code(c, ep) for c in t.candidates)
        assert good != bad and t.candidates[0].startswith("```python")
        assert run_tests(good, t.resources.tests).passed, t.id
        assert not run_tests(bad, t.resources.tests, timeout_s=5).passed, t.id


def test_mutations_are_minimal_splices():
    src = (
        "def f(xs):\n    # keep this comment\n    total = 0\n    for x in xs:\n        if x > 1 and x != 5:\n"
        "            total += x * 2\n    return total\n"
    )
    found = mutate.find_mutations(src)
    kinds = {m.kind for m in found}
    assert {"compare_op", "arith_op", "bool_op", "constant", "negate_condition", "drop_statement"} <= kinds
    for m in found:
        code = mutate.apply(src, m)
        ast.parse(code)
        assert code != src and "# keep this comment" in code
        changed = [(a, b) for a, b in zip(src.splitlines(), code.splitlines()) if a != b]
        assert len(changed) <= 2 or m.kind == "drop_statement"
    # a prompt's lines (before first_line) are never mutated
    assert all(
        m.edits[0][0] >= len("def f(xs):\n    # keep this comment\n    total = 0\n")
        for m in mutate.find_mutations(src, first_line=4)
    )
    order = [m.description for m, _ in mutate.mutants(src, random.Random(1))]
    assert order == [m.description for m, _ in mutate.mutants(src, random.Random(1))]
    assert len(order) == len(set(order))


def test_mutations_handle_unicode_columns():
    src = "def f(s):\n    return 'é' + s if len(s) > 1 else s\n"
    for m in mutate.find_mutations(src):
        ast.parse(mutate.apply(src, m))


@needs_sandbox
def test_humaneval_builder(tmp_path):
    path = tmp_path / "HumanEval.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in HUMANEVAL_ROWS))
    rejects = Rejects(None)
    tasks = build_humaneval(path, rejects=rejects, seed=0)
    assert [t.id.split("#")[0] for t in tasks] == ["humaneval:Toy/0"]
    t = tasks[0]
    assert t.resources.tests.rstrip().endswith("check(count_positive)")
    assert "def count_positive(xs):" in t.prompt and t.meta["mutation"] in mutate.KINDS
    assert_code_gold(tasks)
    assert rejects.rows[0]["row"] == 2 and "field 'entry_point'" in rejects.rows[0]["reason"]


@needs_sandbox
def test_mbpp_builder(tmp_path):
    path = tmp_path / "sanitized-mbpp.json"
    path.write_text(json.dumps(MBPP_ROWS))
    rejects = Rejects(None)
    tasks = build_mbpp(path, rejects=rejects)
    assert len(tasks) == 1 and tasks[0].resources.metadata["entry_point"] == "larger"
    assert "\r" not in tasks[0].candidates[0] and "assert larger(1, 2) == 2" in tasks[0].prompt
    assert_code_gold(tasks)
    assert rejects.rows[0]["row"] == 2 and "field 'test_list'" in rejects.rows[0]["reason"]


@needs_sandbox
def test_real_humaneval_and_mbpp_yields():
    for builder, path in (
        (build_humaneval, shared_data("humaneval", "HumanEval.jsonl")),
        (build_mbpp, shared_data("mbpp", "sanitized-mbpp.json")),
    ):
        rejects = Rejects(None)
        tasks = builder(path, limit=2, rejects=rejects, max_mutants=4)
        print(f"{builder.__name__}: {len(tasks)} pairs, rejected {[r['reason'][:80] for r in rejects.rows]}")
        assert len(tasks) == 2
        assert_code_gold(tasks)
