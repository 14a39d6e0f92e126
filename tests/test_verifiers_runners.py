"""The run_verifier layer: each runner on a two-candidate input, missing inputs, text rendering."""
import threading

import pytest

from model.records import Resources
from model.verifiers import VERIFIERS, VerifierError, VerifierInput, run_verifier

RUNNERS = {"math_answer", "math_extract", "code_tests", "instruction_checks", "reference_match",
           "checklist_score"}


def _has_sandbox() -> bool:
    try:
        from model.sandbox import run_python  # noqa: F401
    except ImportError:
        return False
    return True


HAS_SANDBOX = _has_sandbox()


def _inp(a, b, resources=None, args=None, prompt="Solve it."):
    return VerifierInput(prompt=prompt, candidates={"A": a, "B": b},
                         resources=resources or Resources(), args=args or {})


def test_registry_names():
    assert set(VERIFIERS) == RUNNERS


def test_unknown_runner():
    with pytest.raises(VerifierError, match="unknown runner 'nope'.*math_answer"):
        run_verifier("nope", _inp("a", "b"))


@pytest.mark.parametrize("runner, field", [
    ("math_answer", "reference"), ("code_tests", "tests"), ("instruction_checks", "constraints"),
    ("reference_match", "reference"), ("checklist_score", "checklist"),
])
def test_missing_inputs_name_the_field(runner, field):
    with pytest.raises(VerifierError, match=f"{runner}: needs resources.{field}"):
        run_verifier(runner, _inp("a", "b"))


def test_reference_match_ignores_args_reference():
    with pytest.raises(VerifierError, match="reference_match"):
        run_verifier("reference_match", _inp("a", "b", args={"reference": "a"}))


def test_math_answer_from_resources_and_args():
    inp = _inp("Halving gives \\boxed{\\frac{1}{2}}.", "The answer is 0.6.", Resources(reference="#### 0.5"))
    res = run_verifier("math_answer", inp)
    assert res.per_candidate["A"] == {"final_answer": "\\frac{1}{2}", "matches_reference": True}
    assert res.per_candidate["B"]["matches_reference"] is False
    assert res.decisive
    text = res.to_text()
    assert "A:" in text and "B:" in text and "0.5" in text
    # the no-resources setting: the judge supplies its own reference
    res = run_verifier("math_answer", _inp("x = 3", "x = 4", args={"reference": "3"}))
    assert [f["matches_reference"] for f in res.per_candidate.values()] == [True, False]


def test_math_answer_unusable_reference():
    with pytest.raises(VerifierError, match="no final answer"):
        run_verifier("math_answer", _inp("1", "2", Resources(reference="We cannot say.")))


def test_math_extract_agreement():
    res = run_verifier("math_extract", _inp("so #### 1,000", "The answer is $1000$."))
    assert res.per_candidate["A"]["agrees_with"] == ["B"]
    assert "same final answer" in res.summary and not res.decisive
    res = run_verifier("math_extract", _inp("#### 3", "I do not know."))
    assert res.per_candidate["B"]["final_answer"] is None
    assert "no final answer found in B" in res.summary


def test_instruction_checks_counts_and_failures():
    cons = [{"id": "punctuation:no_comma", "kwargs": {}},
            {"id": "length_constraints:number_words", "kwargs": {"relation": "less than", "num_words": 5}}]
    res = run_verifier("instruction_checks", _inp("short and sweet", "Well, this one is far too long.",
                                                  Resources(constraints=cons)))
    assert res.per_candidate["A"]["passed"] == "2/2"
    assert res.per_candidate["B"]["passed"] == "0/2"
    assert any("fewer than 5 words" in f for f in res.per_candidate["B"]["failed"])
    assert res.decisive
    # args in the no-resources setting: bare ids and JSON text are accepted
    args = {"constraints": '["punctuation:no_comma"]'}
    res = run_verifier("instruction_checks", _inp("a b", "a, b", args=args))
    assert res.per_candidate["B"]["all_passed"] is False


def test_instruction_checks_bad_constraints():
    with pytest.raises(VerifierError, match="unknown instruction ids \\['made:up'\\]"):
        run_verifier("instruction_checks", _inp("a", "b", args={"constraints": [{"id": "made:up"}]}))
    with pytest.raises(VerifierError, match="num_words"):
        run_verifier("instruction_checks", _inp("a", "b", args={"constraints": [
            {"id": "length_constraints:number_words", "kwargs": {"relation": "less than"}}]}))


def test_reference_match_text_and_math():
    res = run_verifier("reference_match", _inp("It is Paris, of course.", "It is Lyon.",
                                               Resources(reference="Paris")))
    assert res.per_candidate["A"]["contains_reference"] and not res.per_candidate["B"]["matches"]
    assert res.per_candidate["A"]["token_f1"] > res.per_candidate["B"]["token_f1"]
    assert res.decisive
    res = run_verifier("reference_match", _inp("So the total is 1,200 dollars.", "#### 1300",
                                               Resources(reference="1200")))
    assert res.per_candidate["A"]["final_answer_match"] is True
    assert res.per_candidate["B"]["final_answer_match"] is False


def test_checklist_marks_and_heuristic():
    items = ["Mentions museums in Paris", "Suggests food to try"]
    inp = _inp("Visit the Paris museums, then eat croissants.", "Stay home.", Resources(checklist=items))
    res = run_verifier("checklist_score", inp)
    assert "HEURISTIC" in res.summary and not res.decisive
    assert res.per_candidate["A"]["coverage"] > res.per_candidate["B"]["coverage"]
    inp.args = {"marks": {"A": [1, 1], "B": [1, 0]}}
    res = run_verifier("checklist_score", inp)
    assert res.per_candidate["A"]["score"] == 1.0 and res.per_candidate["B"]["score"] == 0.5
    assert res.per_candidate["B"]["unmet_items"] == [2] and res.decisive
    inp.args = {"marks": {"A": [1, 1]}}
    with pytest.raises(VerifierError, match="marks missing for B"):
        run_verifier("checklist_score", inp)
    inp.args = {"marks": {"A": [1], "B": [0, 1]}}
    with pytest.raises(VerifierError, match="2 values"):
        run_verifier("checklist_score", inp)


@pytest.mark.skipif(not HAS_SANDBOX, reason="model.sandbox.run_python is not importable yet")
def test_code_tests_runner():
    good = "```python\ndef add(a, b):\n    return a + b\n```"
    bad = "```python\ndef add(a, b):\n    return a - b\n```"
    res = run_verifier("code_tests", _inp(good, bad, Resources(tests="assert add(2, 3) == 5\n")))
    assert res.per_candidate["A"]["passed"] and not res.per_candidate["B"]["passed"]
    assert "assert add(2, 3) == 5" in res.per_candidate["B"]["error"]
    assert res.decisive and "A:" in res.to_text() and "B:" in res.to_text()


def test_runners_see_no_gold():
    """VerifierInput has no field through which a gold label or order could reach a runner."""
    assert set(VerifierInput.__dataclass_fields__) == {"prompt", "candidates", "resources", "args"}


def test_runs_in_worker_thread():
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", run_verifier(
        "math_answer", _inp("\\boxed{(x+1)^2}", "\\boxed{x^2+1}", Resources(reference="x^2+2x+1")))))
    t.start()
    t.join()
    assert [f["matches_reference"] for f in out["r"].per_candidate.values()] == [True, False]


@pytest.mark.skipif(not HAS_SANDBOX, reason="model.sandbox.run_python is not importable yet")
def test_code_tests_humaneval_style_entry_point():
    tests = "def check(candidate):\n    assert candidate(3) == 9\n"
    good = "```python\ndef square(x):\n    return x * x\n```"
    bad = "I would loop forever:\n```python\ndef square(x):\n    return x + x\n```"
    resources = Resources(tests=tests, metadata={"entry_point": "square"})
    res = run_verifier("code_tests", _inp(good, bad, resources))
    assert [f["passed"] for f in res.per_candidate.values()] == [True, False]
    # without an entry point, the single function a candidate defines is the one check() calls
    res = run_verifier("code_tests", _inp(good, "No code, sorry.", args={"tests": tests}))
    assert res.per_candidate["A"]["passed"]
    assert res.per_candidate["B"] == {"passed": False, "error": "no code found", "timed_out": False}
