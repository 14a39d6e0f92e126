"""RewardBench 2: best-of-4 with the 0.25 unparseable rule, and the Ties score on hand-computed groups."""
import math

import numpy as np
import pytest

from eval.metrics import rewardbench2_metrics
from eval.metrics.rewardbench2 import margin_term, ties_score


def listwise(task_id, subset, gold, choice, parse_ok=True):
    verdict = "ABCD"[choice] if choice is not None else None  # identity order for simplicity
    return {"task_id": task_id, "benchmark": "rewardbench2", "kind": "listwise", "order": [0, 1, 2, 3],
            "verdict": verdict, "choice": choice, "score": None, "parse_ok": parse_ok, "gold": gold,
            "meta": {"subset": subset}}


def rating(prompt_id, k, is_correct, score):
    """One Ties answer rating; score None = unparseable."""
    return {"task_id": f"{prompt_id}/{k}", "benchmark": "rewardbench2", "kind": "pointwise", "order": [0],
            "verdict": None if score is None else str(score), "choice": None, "score": score,
            "parse_ok": score is not None, "gold": None,
            "meta": {"subset": "Ties", "prompt_id": prompt_id, "is_correct": is_correct}}


def group(prompt_id, correct, incorrect):
    return [rating(prompt_id, k, True, s) for k, s in enumerate(correct)] + [
        rating(prompt_id, len(correct) + k, False, s) for k, s in enumerate(incorrect)]


BEST_OF_4 = [
    listwise("m1", "Math", 2, 2),  # right -> 1
    listwise("m2", "Math", 0, 3),  # wrong -> 0
    listwise("m3", "Math", 1, None, parse_ok=False),  # unparseable -> 0.25
    listwise("m4", "Math", 3, 3),  # right -> 1          Math = 2.25 / 4 = 0.5625
    listwise("f1", "Focus", 0, 1),  # wrong -> 0
    listwise("f2", "Focus", 0, None),  # parsed but no slot (e.g. "tie") -> 0.25; Focus = 0.125
]

TIES = (
    group("ref:1", [8], [5, 3])  # margin 8-5 = 3 -> accurate
    + group("tied:1", [9, 7], [4])  # margin 7-4 = 3, spread 9-7 = 2 -> accurate
    + group("ref:2", [6], [7])  # margin -1 -> not accurate
    + group("tied:2", [8, 8], [5])  # margin 3, spread 0 -> accurate
    + group("ref:3", [None], [2])  # unparseable rating -> -1: margin -3 -> not accurate (no tied:3)
    + group("tied:4", [5, 5], [5])  # margin 0 -> not accurate (no ref:4)
    + group("ref:5", [7, 6], [])  # no incorrect answer -> skipped
)
# ref_acc = 1/3 (ref:1 of ref:1,2,3), tied_acc = 2/3 (tied:1, tied:2 of tied:1,2,4); paired prompts: 1, 2
# prompt 1: pref 3 > 2 yes; hard min(3, 3) = 3 > 2 yes; margin term tanh(3/2 - 1) = tanh(0.5)
# prompt 2: pref 3 > 0 yes; hard min(-1, 3) = -1 > 0 no; spread 0, margin -1 -> tanh(-inf) = -1
# pref = 1, pref_hard = 0.5, margin_score = (tanh(0.5) - 1) / 2
TANH_HALF = math.tanh(0.5)  # 0.46211715726000974
EXPECTED_TIES = 0.3 * 2 / 3 + 0.3 * 1 / 3 + 0.2 * 1 + 0.2 * 0.5 + 0.01 * (TANH_HALF - 1) / 2  # 0.597310585786


def test_best_of_4_scores_and_invalid_rate():
    m = rewardbench2_metrics(BEST_OF_4)
    assert m["per_subset"]["Math"]["score"] == pytest.approx(0.5625)
    assert m["per_subset"]["Math"]["invalid_rate"] == pytest.approx(0.25)
    assert m["per_subset"]["Focus"]["score"] == pytest.approx(0.125)
    assert m["per_subset"]["Focus"]["invalid"] == 1
    assert m["headline"] == pytest.approx((0.5625 + 0.125) / 2)
    assert m["invalid_rate"] == pytest.approx(2 / 6)
    assert "Ties" in m["subsets_missing"]


def test_ties_score_hand_computed():
    t = ties_score(TIES)
    assert (t["ref_groups"], t["tied_groups"], t["paired_prompts"], t["skipped_groups"]) == (3, 3, 2, 1)
    assert t["ref_accuracy"] == pytest.approx(1 / 3)
    assert t["tied_accuracy"] == pytest.approx(2 / 3)
    assert t["correctness_preferred"] == 1.0
    assert t["correctness_preferred_hard"] == 0.5
    assert t["correctness_margin_score"] == pytest.approx((TANH_HALF - 1) / 2)
    assert t["score"] == pytest.approx(EXPECTED_TIES)
    assert t["score"] == pytest.approx(0.597310585786, abs=1e-12)
    assert t["invalid"] == 1


def test_ties_zero_spread_variant_of_metrics_md():
    t = ties_score(TIES, zero_spread_margin="zero")
    assert t["correctness_margin_score"] == pytest.approx(TANH_HALF / 2)
    assert t["score"] == pytest.approx(0.6 + 0.01 * TANH_HALF / 2)


def test_margin_term_edge_cases_match_numpy():
    # the official score is numpy: tanh(x / 0 - 1) -> tanh(+-inf) = +-1, nan (0/0) -> 0
    with np.errstate(divide="ignore", invalid="ignore"):
        margins, spreads = np.array([2.0, -1.0, 0.0, 3.0]), np.array([0.0, 0.0, 0.0, 2.0])
        ref = np.nan_to_num(np.tanh(margins / spreads - 1), nan=0.0)
    got = [margin_term(2, 0), margin_term(-1, 0), margin_term(0, 0), margin_term(3, 2)]
    assert got == pytest.approx(ref.tolist())


def test_headline_unweighted_over_present_subsets():
    m = rewardbench2_metrics(BEST_OF_4 + TIES)
    assert m["subsets_present"] == ["Focus", "Math", "Ties"]
    assert m["headline"] == pytest.approx((0.5625 + 0.125 + EXPECTED_TIES) / 3)
