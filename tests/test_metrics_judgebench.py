"""JudgeBench and generic pairwise metrics on hand-computed pairs; judgment stats; always-A judge."""
import pytest

from eval.metrics import METRICS, judgebench_metrics, judgment_stats, pairwise_metrics
from eval.metrics.common import bootstrap_ci, pair_correct, vote
from eval.metrics.judgebench import source_prefix

LABEL = {"A": 0, "B": 1}


def judgment(task_id, order, verdict, gold=0, **meta):
    """One pairwise prediction row; verdict "A"/"B"/"tie" or None (unparseable)."""
    parsed = verdict is not None
    choice = order[LABEL[verdict]] if verdict in LABEL else None
    return {"task_id": task_id, "benchmark": "judgebench", "kind": "pairwise", "order": list(order),
            "verdict": verdict, "choice": choice, "score": None, "parse_ok": parsed, "gold": gold,
            "meta": dict(meta)}


def pair(task_id, first, second, **meta):
    """Both orders of one pair (gold = candidate 0): `first` shown as [0, 1], `second` as [1, 0]."""
    return [judgment(task_id, [0, 1], first, **meta), judgment(task_id, [1, 0], second, **meta)]


# gold = candidate 0. In order [0, 1] "A" is right; in order [1, 0] "B" is right.
GPT, CLAUDE = "gpt-4o-2024-05-13", "claude-3-5-sonnet-20240620"
ROWS = (
    pair("p1", "A", "A", subset="mmlu-pro-law", file=GPT)  # right + wrong -> sum 0 -> NOT correct
    + pair("p2", "A", "tie", subset="mmlu-pro-law", file=GPT)  # right + tie -> 1 -> correct
    + pair("p3", "tie", "tie", subset="livebench-math", file=GPT)  # tie + tie -> 0 -> not correct
    + pair("p4", "A", None, subset="livebench-math", file=GPT)  # right + unparseable -> 1 -> correct
    + pair("p5", None, None, subset="livecodebench", file=CLAUDE)  # nothing parsed -> 0 -> incorrect
    + pair("p6", "A", "B", subset="livecodebench", file=CLAUDE)  # right + right -> 2 -> correct
    + pair("p7", "B", "A", subset="livebench-reasoning", file=CLAUDE)  # wrong + wrong -> -2
)


def test_votes():
    assert [vote(r) for r in pair("x", "A", "A")] == [1, -1]
    assert [vote(r) for r in pair("x", "tie", None)] == [0, None]
    assert pair_correct(pair("x", "A", "tie")) and not pair_correct(pair("x", "tie", "tie"))
    assert not pair_correct(pair("x", "A", "A")) and not pair_correct(pair("x", None, None))


def test_source_prefix():
    assert source_prefix("mmlu-pro-computer science") == "mmlu-pro"
    assert source_prefix("livebench-math") == "livebench-math"
    assert source_prefix("livecodebench") == "livecodebench"
    assert source_prefix("livebench-reasoning") == "livebench-reasoning"


def test_judgebench_headline_and_breakdowns():
    m = judgebench_metrics(ROWS)
    assert m["pairs"] == 7 and m["correct"] == 3  # p2, p4, p6; p5 (all unparseable) stays in the denominator
    assert m["headline"] == pytest.approx(3 / 7)
    assert (m["incorrect"], m["tied"], m["both_orders_right"]) == (1, 3, 1)
    subsets = {k: v["accuracy"] for k, v in m["per_subset"].items()}
    assert subsets == {"mmlu-pro": 0.5, "livebench-math": 0.5, "livecodebench": 0.5,
                       "livebench-reasoning": 0.0}
    assert m["per_file"][GPT]["accuracy"] == pytest.approx(2 / 4)
    assert m["per_file"][CLAUDE]["accuracy"] == pytest.approx(1 / 3)
    # right judgments: p1 1, p2 1, p4 1, p6 2 -> 5 of 14 (unparseable and tie count as not right)
    assert m["single_order_accuracy"] == pytest.approx(5 / 14)
    assert m["macro_subset_accuracy"] == pytest.approx(1.5 / 4)


def test_judgment_stats_hand_values():
    s = judgment_stats(ROWS)
    assert s["judgments"] == 14 and s["parse_failures"] == 3
    assert s["parse_failure_rate"] == pytest.approx(3 / 14)
    # 11 parsed; verdict "A": p1 x2, p2, p4, p6, p7 -> 6
    assert s["position_a_rate"] == pytest.approx(6 / 11)
    assert s["tie_rate"] == pytest.approx(3 / 11)
    # both parsed: p1 (0 vs 1), p2 (0 vs tie), p3 (tie, tie), p6 (0, 0), p7 (1, 1) -> 3 of 5 consistent
    assert s["order_consistency_tasks"] == 5
    assert s["order_consistency"] == pytest.approx(3 / 5)


def test_always_a_judge_scores_zero_in_both_orders():
    rows = [r for i in range(6) for r in pair(f"q{i}", "A", "A", subset="mmlu-pro-math", file=GPT)]
    m = judgebench_metrics(rows)
    assert m["headline"] == 0.0  # every pair gets +1 (shown first) and -1 (shown second)
    assert m["tied"] == 6
    assert m["single_order_accuracy"] == 0.5
    assert m["stats"]["position_a_rate"] == 1.0
    assert m["stats"]["order_consistency"] == 0.0


def test_generic_pairwise_per_subset_and_macro():
    rows = (
        pair("c1", "A", "B", subset="chat")  # correct
        + pair("c2", "B", "A", subset="chat")  # wrong
        + pair("r1", "A", "tie", subset="reasoning")  # correct
        + pair("n1", "A", "A")  # no subset -> "all"; not correct
    )
    m = pairwise_metrics(rows)
    per_subset = {k: v["accuracy"] for k, v in m["per_subset"].items()}
    assert per_subset == {"all": 0.0, "chat": 0.5, "reasoning": 1.0}
    assert m["headline"] == pytest.approx(0.5)  # macro (0 + 0.5 + 1) / 3
    assert m["accuracy"] == pytest.approx(2 / 4)  # micro
    assert m["single_order_accuracy"] == pytest.approx(4 / 8)
    assert METRICS["pairwise"] is pairwise_metrics


def test_bootstrap_ci_is_seeded():
    values = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1]
    a, b = bootstrap_ci(values, seed=3), bootstrap_ci(values, seed=3)
    assert a == b
    assert a["mean"] == pytest.approx(0.7)
    assert a["ci_low"] <= 0.7 <= a["ci_high"]
    assert bootstrap_ci([])["n"] == 0
