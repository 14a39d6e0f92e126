"""IF-RewardBench: Elo (official schedule, seeded), Kendall tau-b over gold edges, headline by type."""
import itertools
import math
import random

import pytest

from eval.metrics import if_rewardbench_metrics
from eval.metrics.if_rewardbench import elo_ratings, gold_edges, kendall_tau_b, prompt_comparisons


def edge(chosen, rejected):
    """A gold edge in the upstream preference_graph format (texts left out)."""
    return {"pair_id": 0, "chosen": {"response_id": chosen, "label": []},
            "rejected": {"response_id": rejected, "label": []}}


def judgment(prompt_id, itype, pair, order, winner, graph, n):
    """Judgment of responses `pair` = [i, j] shown in `order`; winner = response id, "tie" or None."""
    if winner is None:
        verdict, choice, ok = None, None, False
    elif winner == "tie":
        verdict, choice, ok = "tie", None, True
    else:
        choice = pair.index(winner)
        verdict, ok = "AB"[order.index(choice)], True
    return {"task_id": f"{prompt_id}/{pair[0]}_{pair[1]}", "benchmark": "if_rewardbench", "kind": "pairwise",
            "order": order, "verdict": verdict, "choice": choice, "score": None, "parse_ok": ok, "gold": None,
            "meta": {"prompt_id": prompt_id, "instruction_type": itype, "pair": pair, "n_responses": n,
                     "preference_graph": graph}}


def test_elo_one_and_two_epochs_by_hand():
    # one comparison, response 0 beats 1; epoch 0 uses K = 32 and expected score 0.5
    assert elo_ratings(2, [(1, 0)], random.Random(0), epochs=1) == [1216.0, 1184.0]
    # epochs=2: epoch 1 > 0.2 * 2, so K = 32 * (1 - (1 - 0.4) / 1.6) = 20
    gain = 20 * (1 - 1 / (1 + 10 ** (-32 / 400)))
    assert elo_ratings(2, [(1, 0)], random.Random(0), epochs=2) == pytest.approx([1216 + gain, 1184 - gain])


def test_elo_is_deterministic_with_a_seed():
    comps = [(1, 0), (2, 1), (2, 0), (0, 1), (3, 2)]
    a = elo_ratings(4, comps, random.Random("42:p"))
    b = elo_ratings(4, comps, random.Random("42:p"))
    assert a == b
    chain = elo_ratings(3, [(1, 0), (2, 1), (2, 0)], random.Random(1))
    assert chain[0] > chain[1] > chain[2]


def test_kendall_tau_b_hand_values():
    scores = [3.0, 2.0, 2.0, 1.0]
    edges = [(0, 1), (1, 2), (0, 3), (3, 2)]  # C, T, C, D
    k = kendall_tau_b(scores, edges)
    assert (k["concordant"], k["discordant"], k["tied"]) == (2, 1, 1)
    assert k["tau_b"] == pytest.approx(1 / math.sqrt(3 * 4))  # (2 - 1) / sqrt((2 + 1)(2 + 1 + 1))
    assert k["accuracy"] == pytest.approx(2 / 4)
    assert kendall_tau_b([1.0, 1.0], [(0, 1)])["tau_b"] == 0.0  # all tied: max(1, 0) denominator
    assert kendall_tau_b([1.0], [])["tau_b"] == 0.0


def test_kendall_tau_b_matches_scipy_on_a_total_order():
    # gold = a strict ranking of all responses -> its edges are all pairs; then tau_b equals scipy's
    gold_rank = [5, 4, 3, 2, 1, 0]
    scores = [9.0, 7.0, 7.0, 8.0, 1.0, 1.0]
    pairs = itertools.combinations(range(6), 2)
    edges = [(a, b) if gold_rank[a] > gold_rank[b] else (b, a) for a, b in pairs]
    ours = kendall_tau_b(scores, edges)["tau_b"]
    # hand: C = 11, D = 2 ((1,3), (2,3)), T = 2 ((1,2), (4,5)) -> 9 / sqrt(13 * 15)
    assert ours == pytest.approx(9 / math.sqrt(13 * 15))
    stats = pytest.importorskip("scipy.stats")
    assert ours == pytest.approx(stats.kendalltau(gold_rank, scores).statistic)


def test_gold_edges_from_upstream_graph():
    assert gold_edges([edge(0, 4), edge(2, 4)]) == [(0, 4), (2, 4)]
    assert gold_edges([[1, 0]]) == [(1, 0)]


def test_comparisons_follow_shown_order():
    graph = [edge(0, 1)]
    rows = [judgment("p", "Single_Turn", [0, 1], [1, 0], 1, graph, 2),  # shown (1, 0); 1 wins
            judgment("p", "Single_Turn", [0, 2], [0, 1], 2, graph, 3),  # shown (0, 2); 2 wins
            judgment("p", "Single_Turn", [1, 2], [0, 1], "tie", graph, 3),  # skipped
            judgment("p", "Single_Turn", [0, 3], [0, 1], None, graph, 4)]  # unparseable: skipped
    assert prompt_comparisons(rows) == [(0, 2), (0, 1)]  # (loser, winner), sorted by (shown A, shown B)


def prompt_rows(prompt_id, itype, ranking_winner, graph, n=3):
    """All pairs of n responses, alternating shown orders; winner chosen by `ranking_winner(i, j)`."""
    rows = []
    for k, (i, j) in enumerate(itertools.combinations(range(n), 2)):
        rows.append(judgment(prompt_id, itype, [i, j], [0, 1] if k % 2 == 0 else [1, 0],
                             ranking_winner(i, j), graph, n))
    return rows


def test_headline_is_mean_over_instruction_types():
    graph = [edge(0, 1), edge(0, 2), edge(1, 2)]  # gold: 0 > 1 > 2
    rows = (
        prompt_rows("p1", "Single_Turn", lambda i, j: min(i, j), graph)  # agrees -> tau 1
        + prompt_rows("p2", "Multi_Turn", lambda i, j: max(i, j), graph)  # reversed -> tau -1
        + prompt_rows("p3", "Single_Turn", lambda i, j: "tie", graph)  # all ties -> all 1200 -> tau 0
    )
    m = if_rewardbench_metrics(rows, seed=42)
    taus = {p["prompt_id"]: p["tau_b"] for p in m["per_prompt"]}
    assert taus == {"p1": 1.0, "p2": -1.0, "p3": 0.0}
    assert m["per_instruction_type"]["Single_Turn"]["tau_b"] == pytest.approx(0.5)
    assert m["headline"] == pytest.approx((0.5 - 1.0) / 2)
    assert if_rewardbench_metrics(rows, seed=42) == m  # deterministic
