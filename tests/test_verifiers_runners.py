"""The run_verifier layer: each runner on a two-candidate input, missing inputs, text rendering."""
import threading

import pytest

from model.records import Resources
from model.verifiers import VERIFIERS, VerifierError, VerifierInput, run_verifier

RUNNERS = {"math_answer", "math_extract", "code_tests", "instruction_checks", "reference_match",
           "checklist_score", "arithmetic_steps", "stated_constraints", "prompt_examples"}


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
    """VerifierInput has no field through which a gold label or order could reach a runner: besides the
    inputs, only the sandbox's isolation opt-in (a bool, default off)."""
    fields = VerifierInput.__dataclass_fields__
    assert set(fields) == {"prompt", "candidates", "resources", "args", "allow_weak_isolation"}
    assert fields["allow_weak_isolation"].type in (bool, "bool") and fields["allow_weak_isolation"].default is False


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


# --- evidence from the visible text alone (the fair settings) ----------------------------------

QUESTION = "Maya has $20. Maya earns $5 per week for 3 weeks and then spends $7 on a book. How much now?"
GOOD = "Maya earns 5 x 3 = 15 dollars.\nShe has 20 + 15 = 35 dollars.\nAfter the book: 35 - 7 = 28.\nThe answer is 28."


@pytest.mark.parametrize("bad,finding", [
    ("Maya earns 5 x 3 = 15 dollars.\nShe has 20 + 15 = 36 dollars.\nAfter the book: 36 - 7 = 29.\nThe answer is 29.",
     "wrong_steps"),
    ("Maya earns 5 x 3 = 15 dollars.\nShe has 20 + 15 = 35 dollars.\nThe answer is 35.", "unused_quantities"),
    ("Maya earns 5 x 3 = 15 dollars.\nShe has 20 + 15 = 35 dollars.\nAfter the book: 35 - 7 = 28.\n"
     "Again: 28 - 7 = 21.\nThe answer is 21.", "reused_quantities"),
])
def test_arithmetic_steps_finds_slips_dropped_and_repeated_steps_without_a_reference(bad, finding):
    for a, b, good_label in ((GOOD, bad, "A"), (bad, GOOD, "B")):
        res = run_verifier("arithmetic_steps", _inp(a, b, prompt=QUESTION))
        assert res.decisive and res.favours == [good_label], res.to_text()
        bad_label = "B" if good_label == "A" else "A"
        assert res.per_candidate[bad_label][finding] and not res.per_candidate[good_label][finding]
        assert f"decisive: yes, favours {good_label}" in res.to_text()


def test_arithmetic_steps_is_not_decisive_when_every_step_checks_out():
    wrong_op = ("Maya earns 5 + 3 = 8 dollars.\nShe has 20 + 8 = 28 dollars.\nAfter the book: 28 - 7 = 21.\n"
                "The answer is 21.")
    res = run_verifier("arithmetic_steps", _inp(GOOD, wrong_op, prompt=QUESTION))
    assert not res.decisive and res.favours == []  # a wrong operation leaves every calculation right
    no_work = run_verifier("arithmetic_steps", _inp(GOOD, "It is 28.", prompt=QUESTION))
    assert not no_work.decisive and "no written calculation" in no_work.summary


def test_arithmetic_steps_reads_chained_expressions_and_results_reused_as_operands():
    from model.verifiers.arithmetic import check_solutions, wrong_steps

    assert wrong_steps("Betty needs 100 - 50 - 30 - 15 = $5 more.") == []
    assert wrong_steps("(5 + 3) x 2 = 16, 80/100 * 10 = 8, 1,200 / 4 = 300") == []
    assert wrong_steps("100 - 50 - 29 - 15 = 6") == []
    assert wrong_steps("100 - 50 - 29 - 15 = 7") == ["100 - 50 - 29 - 15 = 7 (should be 6)"]
    # 35 x 1 = 35, then 140 + 35: the 35 is the step's result, not a second use of the question's 35
    per = check_solutions("70 km/h for 2 hours, then 35 km/h for 1 hours. Total km?",
                          {"A": "70 x 2 = 140. 35 x 1 = 35. 140 + 35 = 175.",
                           "B": "70 x 2 = 140. 35 + 1 = 36. 140 + 36 = 176."})
    assert per["A"]["reused_quantities"] == [] and per["B"]["reused_quantities"] == []


def test_stated_constraints_checks_what_the_prompt_says_without_the_sample_list():
    prompt = "Write about tea. Use no commas; at least 5 words; end with the exact phrase 'Thank you for reading.'"
    good = "Tea is calm and fresh and warm. Thank you for reading."
    bad = "Tea is calm, fresh and warm. Thank you for reading."
    res = run_verifier("stated_constraints", _inp(good, bad, prompt=prompt))
    assert res.decisive and res.favours == ["A"]
    assert "punctuation:no_comma" in " ".join(res.per_candidate["B"]["failed"])
    assert "stated in the prompt: use no commas" in res.summary
    none = run_verifier("stated_constraints", _inp(good, bad, prompt="Write about tea."))
    assert not none.decisive and "no constraint" in none.summary


def test_stated_constraints_round_trips_every_synthetic_request():
    import random

    from data.builders import synth_constraints
    from model.verifiers.stated import stated_constraints

    def norm(cs):
        return sorted((c["id"], sorted(c["kwargs"].items())) for c in cs)

    n = 0
    for i in range(300):
        rng = random.Random(i)
        pair = synth_constraints.make_pair(rng, rng.choice(["easy", "medium", "hard"]))
        if pair:
            n += 1
            assert norm(stated_constraints(pair["prompt"])) == norm(pair["constraints"]), pair["prompt"]
    assert n > 200


def test_stated_constraints_reads_official_ifeval_phrasing():
    from model.verifiers.stated import stated_constraints

    prompt = ("Your ENTIRE response should be in English, and in all lowercase letters. Answer with at most 50 words."
              " Do not include any commas. Highlight at least 2 sections in your answer with markdown. "
              "Finish your response with this exact phrase 'Any other questions?'. No other words should follow.")
    got = {c["id"]: c["kwargs"] for c in stated_constraints(prompt)}
    assert got == {"change_case:english_lowercase": {},
                   "length_constraints:number_words": {"relation": "less than", "num_words": 51},
                   "punctuation:no_comma": {},
                   "detectable_format:number_highlighted_sections": {"num_highlights": 2},
                   "startend:end_checker": {"end_phrase": "Any other questions?"}}
    assert stated_constraints("Answer with exactly 50 words.") == []  # IFEval has no 'exactly N words'


def test_prompt_examples_runs_the_examples_the_prompt_states():
    prompt = "Write add(a, b).\n>>> add(1, 2)\n3\n>>> add(-1, 1)\n0"
    good = "```python\ndef add(a, b):\n    return a + b\n```"
    bad = "```python\ndef add(a, b):\n    return a - b\n```"
    res = run_verifier("prompt_examples", _inp(good, bad, prompt=prompt))
    assert res.decisive and res.favours == ["A"] and "2 examples from the prompt" in res.summary
    none = run_verifier("prompt_examples", _inp(good, bad, prompt="Write add(a, b)."))
    assert not none.decisive and "no input/output examples" in none.summary
