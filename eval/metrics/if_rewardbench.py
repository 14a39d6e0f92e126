"""IF-RewardBench ranking metric: per-prompt Elo from pairwise judgments, Kendall tau-b vs the gold graph.

Official code checked: thu-coai/IF-RewardBench metrics/analysis_overall_assessment.py
(`compute_elo_with_indices`, `calculate_pairwise_metrics`, `calculate_metric_stats`, `__main__`):
- comparisons: every unordered response pair is judged once, in the order of position_maps.json;
  a decisive verdict gives (loser, winner); a tie or an unparseable answer ("C") is skipped.
  They are listed in the official loop order, i.e. sorted by (response shown as A, response shown as B).
- Elo: ratings start at 1200; ONE run of 100 epochs over the same ratings (not several runs averaged),
  each epoch reshuffles the list in place and applies K = 32, decaying linearly after 20% of the
  epochs: K = max(1, 32 * (1 - (epoch - 20) / 80)) for epoch > 20.
- tau_b: for each gold edge (chosen, rejected) of the preference graph, C if elo[chosen] >
  elo[rejected], D if <, T if equal; tau_b = (C - D) / max(1, sqrt((C + D)(C + D + T)));
  pair accuracy = C / #edges.
- headline: mean over instruction types present (Single_Turn, Multi_Turn, System_Prompt) of the
  mean per-prompt tau_b.
Seeding: the official script calls random.seed(42) once and shares that stream across prompts in file
order; here each prompt gets its own `random.Random(f"{seed}:{prompt_id}")`, so a prompt's rating does
not depend on which other prompts are in the file (same shuffle algorithm, different stream).
"""
from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from eval.metrics.common import Row, group_by, is_tie, meta, safe_div

INSTRUCTION_TYPES = ("Single_Turn", "Multi_Turn", "System_Prompt")


def elo_ratings(
    n: int,
    comparisons: Sequence[tuple[int, int]],
    rng: random.Random,
    k_factor: float = 32.0,
    initial_rating: float = 1200.0,
    epochs: int = 100,
) -> list[float]:
    """Official `compute_elo_with_indices`: comparisons are (loser, winner) response indices."""
    ratings = [float(initial_rating)] * n
    data = list(comparisons)
    for epoch in range(epochs):
        rng.shuffle(data)
        k = k_factor
        if epoch > epochs * 0.2:
            k = max(1.0, k_factor * (1 - (epoch - epochs * 0.2) / (epochs * 0.8)))
        for loser, winner in data:
            r_l, r_w = ratings[loser], ratings[winner]
            exp_w = 1 / (1 + 10 ** ((r_l - r_w) / 400))
            exp_l = 1 / (1 + 10 ** ((r_w - r_l) / 400))
            ratings[winner] = r_w + k * (1 - exp_w)
            ratings[loser] = r_l + k * (0 - exp_l)
    return ratings


def comparison(row: Row) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """((shown A, shown B) response ids, (loser, winner)) of one judgment, None for tie/unparseable."""
    if not row.get("parse_ok") or is_tie(row) or row.get("choice") is None:
        return None
    pair = [int(x) for x in meta(row, "pair")]
    order = row.get("order") or [0, 1]
    shown = (pair[order[0]], pair[order[1]])
    winner = pair[row["choice"]]
    loser = pair[1 - row["choice"]]
    return shown, (loser, winner)


def prompt_comparisons(rows: Sequence[Row]) -> list[tuple[int, int]]:
    """(loser, winner) list in the official loop order (by shown A, then shown B)."""
    found = [c for c in (comparison(r) for r in rows) if c is not None]
    return [lw for _, lw in sorted(found, key=lambda c: c[0])]


def gold_edges(graph: Sequence[Any]) -> list[tuple[int, int]]:
    """(chosen, rejected) response ids from an upstream preference_graph (dict edges or pairs)."""
    edges = []
    for e in graph or []:
        if isinstance(e, dict):
            edges.append((int(e["chosen"]["response_id"]), int(e["rejected"]["response_id"])))
        else:
            edges.append((int(e[0]), int(e[1])))
    return edges


def kendall_tau_b(scores: Sequence[float], edges: Sequence[tuple[int, int]]) -> dict[str, float]:
    """Official `calculate_metric_stats` over gold edges: C/D/T, tau_b and pair accuracy."""
    c = sum(scores[a] > scores[b] for a, b in edges)
    d = sum(scores[a] < scores[b] for a, b in edges)
    t = len(edges) - c - d
    tau = (c - d) / max(1.0, math.sqrt((c + d) * (c + d + t)))
    return {"tau_b": tau, "accuracy": safe_div(c, len(edges)), "concordant": c, "discordant": d, "tied": t}


def prompt_metrics(rows: Sequence[Row], seed: int = 42) -> dict[str, Any]:
    """Elo ratings and tau_b of one prompt's judgments."""
    first = rows[0]
    pid = meta(first, "prompt_id", first.get("task_id"))
    edges = gold_edges(meta(first, "preference_graph"))
    ids = [int(x) for r in rows for x in meta(r, "pair")] + [i for e in edges for i in e]
    n = max(int(meta(first, "n_responses") or 0), 1 + max(ids, default=-1))  # response ids are 0..n-1
    comps = prompt_comparisons(rows)
    ratings = elo_ratings(n, comps, random.Random(f"{seed}:{pid}"))
    return {
        "prompt_id": pid,
        "instruction_type": meta(first, "instruction_type") or "unknown",
        "elo": ratings,
        "comparisons": len(comps),
        "judgments": len(rows),
        **kendall_tau_b(ratings, edges),
    }


def if_rewardbench_metrics(rows: Sequence[Row], seed: int = 42) -> dict[str, Any]:
    """Headline = mean over instruction types of the mean per-prompt tau_b (official Overall)."""
    prompts = group_by(rows, lambda r: str(meta(r, "prompt_id", r.get("task_id"))))
    per_prompt = [prompt_metrics(p, seed) for p in prompts.values()]
    per_type = {}
    for itype, items in sorted(group_by(per_prompt, lambda m: m["instruction_type"]).items()):
        per_type[itype] = {
            "tau_b": safe_div(sum(m["tau_b"] for m in items), len(items)),
            "accuracy": safe_div(sum(m["accuracy"] for m in items), len(items)),
            "prompts": len(items),
        }
    types_present = [t for t in INSTRUCTION_TYPES if t in per_type] or sorted(per_type)
    return {
        "headline": safe_div(sum(per_type[t]["tau_b"] for t in types_present), len(types_present)),
        "accuracy": safe_div(sum(per_type[t]["accuracy"] for t in types_present), len(types_present)),
        "per_instruction_type": per_type,
        "prompts": len(per_prompt),
        "per_prompt": per_prompt,
        "seed": seed,
    }
