"""Code extraction (no execution) and running candidates against tests in the sandbox."""
import json
from pathlib import Path

import pytest

from model.verifiers.code import extract_code, run_tests


def _has_sandbox() -> bool:
    try:
        from model.sandbox import run_python  # noqa: F401
    except ImportError:
        return False
    return True


needs_sandbox = pytest.mark.skipif(not _has_sandbox(),
                                   reason="model.sandbox.run_python is not importable yet")

FENCE = "```"


def test_extract_prefers_longest_python_block():
    text = (f"Here is the solution:\n{FENCE}python\ndef add(a, b):\n    return a + b\n{FENCE}\n"
            f"Usage:\n{FENCE}py\nprint(add(1, 2))\n{FENCE}\nOutput:\n{FENCE}text\n3\n{FENCE}\n")
    assert extract_code(text) == "def add(a, b):\n    return a + b"


def test_extract_prefers_block_defining_entry_point():
    text = (f"{FENCE}python\nimport math\n\n\ndef helper_with_a_long_name(x):\n    return x\n{FENCE}\n"
            f"{FENCE}python\ndef f(x):\n    return 1\n{FENCE}")
    assert extract_code(text, entry_point="f") == "def f(x):\n    return 1"


def test_extract_untagged_unclosed_and_plain():
    assert extract_code(f"{FENCE}\nx = 1\n{FENCE}") == "x = 1"
    assert extract_code(f"Sure!\n{FENCE}Python\ndef g():\n    return 2\n") == "def g():\n    return 2"
    assert extract_code("def f(x):\n    return x\n\nThis returns its input.") == "def f(x):\n    return x"
    assert extract_code(f"{FENCE}bash\npip install numpy\n{FENCE}") == ""
    assert extract_code("No code at all, sorry.") == ""
    assert extract_code(f"{FENCE}python\n>>> x = 2\n>>> x * 3\n6\n{FENCE}") == "x = 2\nx * 3"


@needs_sandbox
def test_correct_and_buggy_against_asserts():
    tests = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
    assert run_tests("def add(a, b):\n    return a + b", tests).passed
    out = run_tests("def add(a, b):\n    return a - b", tests)
    assert not out.passed and not out.timed_out
    assert "AssertionError" in out.error and "assert add(2, 3) == 5" in out.error


@needs_sandbox
def test_humaneval_check_candidate():
    tests = "def check(candidate):\n    assert candidate([1, 2, 3]) == 6\n    assert candidate([]) == 0\n"
    assert run_tests("def total(xs):\n    return sum(xs)", tests, entry_point="total").passed
    out = run_tests("def total(xs):\n    return xs[0] + xs[-1]", tests, entry_point="total")
    assert not out.passed and "candidate" in out.error


@needs_sandbox
def test_infinite_loop_times_out():
    out = run_tests("def f():\n    while True:\n        pass", "f()\n", timeout_s=2)
    assert out.timed_out and not out.passed


@needs_sandbox
def test_early_exit_and_main_block_do_not_fake_or_break_a_pass():
    assert not run_tests("import sys\nsys.exit(0)", "assert False\n").passed
    code = "def f(x):\n    return 2 * x\n\nif __name__ == '__main__':\n    print(f(int(input())))\n"
    assert run_tests(code, "assert f(2) == 4\n").passed


@needs_sandbox
def test_markdown_response_end_to_end():
    response = f"Use a set:\n\n{FENCE}python\ndef dedup(xs):\n    return sorted(set(xs))\n{FENCE}\n"
    assert run_tests(extract_code(response), "assert dedup([3, 1, 3]) == [1, 3]\n").passed


@needs_sandbox
def test_syntax_error_is_reported():
    out = run_tests("def f(:\n    pass", "assert f() is None\n")
    assert not out.passed and "SyntaxError" in out.error


DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@needs_sandbox
def test_public_canonical_solutions_pass_and_stubs_fail():
    """A slice of HumanEval and MBPP: the reference solutions pass their tests, a stub fails."""
    if not (DATA / "humaneval" / "HumanEval.jsonl").exists():
        pytest.skip(f"public code data not found under {DATA}")
    with open(DATA / "humaneval" / "HumanEval.jsonl", encoding="utf-8") as f:
        humaneval = [json.loads(line) for line in f][:8]
    for task in humaneval:
        solution = f"{FENCE}python\n{task['prompt']}{task['canonical_solution']}{FENCE}"
        code = extract_code(solution, task["entry_point"])
        assert run_tests(code, task["test"], task["entry_point"]).passed, task["task_id"]
        stub = f"def {task['entry_point']}(*args):\n    return None\n"
        assert not run_tests(stub, task["test"], task["entry_point"]).passed, task["task_id"]
    mbpp = json.loads((DATA / "mbpp" / "sanitized-mbpp.json").read_text(encoding="utf-8"))[:8]
    for task in mbpp:
        tests = "\n".join(task["test_imports"] + task["test_list"]) + "\n"
        assert run_tests(task["code"], tests).passed, task["task_id"]
