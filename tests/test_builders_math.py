"""GSM8K / MATH pair builders: gold re-verified with the math verifier, rejects, real-data yields."""

import json

import pytest
from conftest import shared_data

from data.builders import gsm8k_perturb
from data.builders.math import build_gsm8k, build_math, sampled_pairs
from model.jsonl import Rejects
from model.verifiers.math import answers_match

GSM8K_ROWS = [
    {
        "question": "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
        "in May. "
        "How many clips did Natalia sell altogether in April and May?",
        "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 "
        "clips "
        "altogether in April and May.\n#### 72",
    },
    {
        "question": "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of "
        "babysitting. "
        "How much did she earn?",
        "answer": "Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\nWorking 50 minutes, she earned 0.2 x "
        "50 = "
        "$<<0.2*50=10>>10.\n#### 10",
    },
    {
        "question": "A shop sells 7 boxes with 9 pens each and then 15 more pens. How many pens does it "
        "sell?",
        "answer": "The boxes hold 7*9 = <<7*9=63>>63 pens.\nIn total it sells 63+15 = <<63+15=78>>78 "
        "pens.\n#### 78",
    },
    {"question": "A malformed row without a final answer line.", "answer": "It is 5."},
]
MATH_ROWS = [
    {
        "problem": "What is $6+99\\cdot 4$?",
        "level": "Level 1",
        "type": "Algebra",
        "solution": "We compute $6+99\\cdot 4=6+396=\\boxed{402}$.",
    },
    {"problem": "Find $x$ such that $7x = 9$.", "solution": "Dividing by 7, $x=\\boxed{\\dfrac{9}{7}}$."},
    {"problem": "Solve $x + 3 = -2$.", "solution": "Subtracting 3 gives $x = \\boxed{-5}$."},
    {"problem": "A row whose solution has no boxed answer.", "solution": "The answer is five."},
]


def write_jsonl(path, rows, extra_lines=()):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "".join(x + "\n" for x in extra_lines))
    return path


def assert_math_gold(tasks):
    """Independent of the builder: the verifier must prefer candidate 0 against the reference."""
    for t in tasks:
        assert t.kind == "pairwise" and t.gold == 0 and t.domain == "math"
        good, bad = t.candidates
        assert good != bad
        assert answers_match(good, t.resources.reference), t.id
        assert not answers_match(bad, t.resources.reference), t.id
        assert t.resources.metadata["answer"]
        for key in ("builder", "upstream_id", "perturbation", "split", "variant"):
            assert t.meta.get(key) not in (None, ""), (t.id, key)
        assert t.id.startswith(t.meta["upstream_id"] + "#")
    assert len({t.id for t in tasks}) == len(tasks)


def test_gsm8k_pairs_and_rejects(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", GSM8K_ROWS, ['{"question": "broken json'])
    rejects = Rejects(None)
    tasks = build_gsm8k(path, rejects=rejects, seed=0)
    assert len(tasks) == 3
    assert_math_gold(tasks)
    assert all(t.source == "gsm8k" and "<<" not in t.candidates[0] + t.candidates[1] for t in tasks)
    by_row = {r["row"]: r for r in rejects.rows}
    assert set(by_row) == {4, 5}
    assert by_row[4]["file"] == str(path) and "field 'answer'" in by_row[4]["reason"]
    assert "field '<json>'" in by_row[5]["reason"]


def test_gsm8k_perturbation_is_minimal_and_carried():
    body, final = GSM8K_ROWS[0]["answer"].rsplit("####", 1)
    import random

    out = gsm8k_perturb.perturb(
        body, final.strip(), GSM8K_ROWS[0]["question"], "carried_slip", random.Random(0)
    )
    assert out is not None
    new_body, new_final, desc = out
    old_lines = gsm8k_perturb.strip_annotations(body).splitlines()
    new_lines = gsm8k_perturb.strip_annotations(new_body).splitlines()
    assert len(old_lines) == len(new_lines) and old_lines != new_lines
    assert new_final != final.strip() and new_final in new_lines[-1]  # carried into the last step
    assert new_lines[0].split("=")[0] == old_lines[0].split("=")[0]  # operands of step 1 untouched


def test_math_pairs_and_rejects(tmp_path):
    path = write_jsonl(tmp_path / "math.jsonl", MATH_ROWS)
    rejects = Rejects(None)
    tasks = build_math(path, rejects=rejects)
    assert len(tasks) == 3
    assert_math_gold(tasks)
    assert [r["row"] for r in rejects.rows] == [4] and "field 'solution'" in rejects.rows[0]["reason"]
    first = next(t for t in tasks if "402" in t.candidates[0])
    assert first.meta["level"] == "Level 1" and first.resources.reference == "402"
    # only the boxed answer changes
    good, bad = first.candidates
    assert good.split("\\boxed")[0] == bad.split("\\boxed")[0]


def test_rejects_none_raises_on_malformed_but_drops_unprovable(tmp_path):
    path = write_jsonl(tmp_path / "math.jsonl", MATH_ROWS[:3] + [{"problem": "x"}])
    with pytest.raises(ValueError, match=r"row 4: field 'solution'"):
        build_math(path)


def test_sampled_pairs_from_a_generator(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", GSM8K_ROWS[:2])
    calls = []

    def generate(prompts):
        calls.append(len(prompts))
        return ["I think it is 70.\n#### 70", "She earned $10.\n#### 10"][: len(prompts)]

    tasks = build_gsm8k(path, generate=generate)
    sampled = [t for t in tasks if t.meta["variant"].startswith("sampled")]
    assert calls == [2] and len(sampled) == 1  # the second sample is correct: no pair
    assert_math_gold(tasks)
    assert sampled_pairs([], generate) == []


def test_deterministic_for_a_seed(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", GSM8K_ROWS[:3])
    a = [t.to_dict() for t in build_gsm8k(path, seed=3)]
    assert a == [t.to_dict() for t in build_gsm8k(path, seed=3)]


def test_real_gsm8k_and_math_yields():
    for builder, path, limit in (
        (build_gsm8k, shared_data("gsm8k", "train.jsonl"), 60),
        (build_math, shared_data("math", "math_test_minus_math500.jsonl"), 40),
    ):
        rejects = Rejects(None)
        tasks = builder(path, limit=limit, rejects=rejects)
        rows = tasks[-1].meta["row"]
        print(
            f"{builder.__name__}: {len(tasks)} pairs from {rows} rows; rejected: "
            f"{sorted({r['reason'][:70] for r in rejects.rows})}"
        )
        assert len(tasks) == limit and len(rejects) <= 0.3 * rows
        assert_math_gold(tasks)
