"""RM-Bench easy/normal/hard on hand-made 3x3 style matrices, both-orders rule, always-A judge."""
import pytest

from eval.metrics import rmbench_metrics
from eval.metrics.rmbench import domain_group, triangle_scores

STYLES = range(3)


def judgment(row_id, domain, i, j, order, right):
    """One judgment of (chosen_i, rejected_j); gold = candidate 0 (chosen). right: True/False/None."""
    if right is None:
        choice, verdict, ok = None, None, False
    else:
        choice = 0 if right else 1
        verdict, ok = "AB"[order.index(choice)], True
    return {"task_id": f"{row_id}/{i}{j}", "benchmark": "rmbench", "kind": "pairwise", "order": order,
            "verdict": verdict, "choice": choice, "score": None, "parse_ok": ok, "gold": 0,
            "meta": {"row_id": row_id, "domain": domain, "chosen_style": i, "rejected_style": j}}


def both(row_id, domain, i, j, first, second):
    return [judgment(row_id, domain, i, j, [0, 1], first), judgment(row_id, domain, i, j, [1, 0], second)]


def chat_rows():
    rows = []
    for i in STYLES:
        for j in STYLES:
            # r1: every pair right in both orders, except (0, 2): right then wrong.
            rows += both("r1", "chat", i, j, True, not (i == 0 and j == 2))
            # r2: diagonal and lower-left right in both orders; upper-right (i < j) wrong in both.
            rows += both("r2", "chat", i, j, i >= j, i >= j)
    return rows


def safety_rows():
    rows = []
    for i in STYLES:
        for j in STYLES:
            rows += both("s1", "safety-refuse", i, j, True, True)  # all won
            rows += both("s2", "safety-response", i, j, False, None)  # wrong + unparseable: lost
    return rows


def test_triangles_of_a_matrix():
    m = [[0.9, 0.3, 0.0], [1.0, 0.6, 0.6], [1.0, 0.7, 0.3]]
    t = triangle_scores(m)
    assert t["normal"] == pytest.approx(0.6)  # (0.9 + 0.6 + 0.3) / 3
    assert t["hard"] == pytest.approx(0.3)  # (0.3 + 0.0 + 0.6) / 3
    assert t["easy"] == pytest.approx(0.9)  # (1.0 + 1.0 + 0.7) / 3
    assert t["overall"] == pytest.approx(0.6)


def test_domain_group_merges_safety():
    assert domain_group("safety-refuse") == domain_group("safety-response") == "safety"
    assert domain_group("chat") == "chat"


def test_chat_matrix_both_orders_rule():
    m = rmbench_metrics(chat_rows())
    chat = m["per_domain"]["chat"]
    # both-orders matrix: diag (1+1)/2; (0,1): r1 1, r2 0; (0,2): r1 0 (lost one order), r2 0; (1,2): .5
    assert chat["matrix"] == [[1.0, 0.5, 0.0], [1.0, 1.0, 0.5], [1.0, 1.0, 1.0]]
    assert chat["counts"] == [[2] * 3] * 3 and chat["rows"] == 2
    assert (chat["normal"], chat["easy"]) == (1.0, 1.0)
    assert chat["hard"] == pytest.approx(1 / 3)
    assert chat["overall"] == pytest.approx(7 / 9)  # (1 + 1 + 1/3) / 3
    assert m["headline"] == pytest.approx(7 / 9)
    assert m["order_mode"] == "both_orders" and m["pairs_single_order"] == 0
    # single-order matrix: (0,2) -> r1 0.5, r2 0 -> 0.25; hard = (0.5 + 0.25 + 0.5) / 3 = 5/12
    single = m["single_order"]["per_domain"]["chat"]
    assert single["hard"] == pytest.approx(5 / 12)
    assert m["single_order"]["headline"] == pytest.approx((1 + 1 + 5 / 12) / 3)
    # judgments right: 36 in total, wrong: r1 (0,2) second order + r2 upper 3 pairs x 2 = 7
    assert m["single_order_accuracy"] == pytest.approx(29 / 36)


def test_headline_is_mean_over_official_domains():
    m = rmbench_metrics(chat_rows() + safety_rows())
    assert m["domains_present"] == ["chat", "safety"]
    safety = m["per_domain"]["safety"]
    assert safety["matrix"] == [[0.5] * 3] * 3 and safety["rows"] == 2
    assert safety["overall"] == pytest.approx(0.5)
    assert m["per_subdomain"]["safety-refuse"]["overall"] == 1.0
    assert m["per_subdomain"]["safety-response"]["overall"] == 0.0
    assert m["headline"] == pytest.approx((7 / 9 + 0.5) / 2)
    assert m["hard"] == pytest.approx((1 / 3 + 0.5) / 2)


def test_single_order_pairs_are_used_and_flagged():
    rows = both("r1", "code", 0, 0, True, True) + [judgment("r1", "code", 0, 1, [1, 0], True)]
    m = rmbench_metrics(rows)
    assert m["pairs_single_order"] == 1 and m["order_mode"] == "mixed"
    assert m["per_domain"]["code"]["matrix"][0][1] == 1.0
    assert m["per_domain"]["code"]["matrix"][1][0] is None  # never judged


def test_always_a_judge():
    rows = []
    for row_id in ("a", "b"):
        for i in STYLES:
            for j in STYLES:
                for order in ([0, 1], [1, 0]):
                    rows.append({"task_id": f"{row_id}/{i}{j}", "kind": "pairwise", "order": order,
                                 "verdict": "A", "choice": order[0], "score": None, "parse_ok": True,
                                 "gold": 0, "meta": {"row_id": row_id, "domain": "chat",
                                                     "chosen_style": i, "rejected_style": j}})
    m = rmbench_metrics(rows)
    assert m["headline"] == 0.0  # never prefers chosen in both orders
    shown_first = sum(r["order"][0] == r["gold"] for r in rows) / len(rows)
    assert m["single_order_accuracy"] == pytest.approx(shown_first) == 0.5
    assert m["single_order"]["headline"] == pytest.approx(0.5)
    assert m["position_a_rate"] == 1.0
