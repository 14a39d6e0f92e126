"""JudgeBench accuracy (620 pairs: 350 GPT-4o + 270 Claude-3.5-Sonnet responses).

Official definition checked in ScalerLab/JudgeBench utils/metrics.py `compute_final_metrics`
(reverse_order=True) and run_judge.py:
- each pair is judged in both orders; a judgment votes +1 (right), -1 (wrong), 0 otherwise — a tie,
  an unparseable answer and a failed call (judgment None) all leave the counter unchanged;
- a pair is correct iff the counter is > 0; accuracy = correct / n_pairs, where n_pairs counts every
  pair, so a pair whose judgments all failed to parse is incorrect (counter 0);
- the reverse order is scored by flipping its decision, which is what comparing `choice` (a candidate
  index) with `gold` does here.
Reported per source prefix (mmlu-pro, livebench-reasoning, livebench-math, livecodebench) and per
response-model file, plus single-order (per-judgment) accuracy.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eval.metrics.common import (
    Row,
    bootstrap_ci,
    group_by_task,
    judgment_stats,
    meta,
    one_per_order,
    safe_div,
    vote,
    vote_sum,
)
from eval.metrics.pairwise import both_orders_accuracy, per_group_accuracy, single_order_accuracy

SOURCE_PREFIXES = ("mmlu-pro", "livebench-reasoning", "livebench-math", "livecodebench")


def source_prefix(source: str | None) -> str:
    """Category of a JudgeBench source: "mmlu-pro-law" -> "mmlu-pro"; unknown sources pass through."""
    s = (source or "").strip()
    for prefix in SOURCE_PREFIXES:
        if s.startswith(prefix):
            return prefix
    return s or "unknown"


def pair_subset(row: Row) -> str:
    return source_prefix(meta(row, "subset") or meta(row, "source"))


def pair_file(row: Row) -> str:
    return str(meta(row, "file") or "unknown")


def pair_breakdown(rows: Sequence[Row]) -> dict[str, Any]:
    """Counts behind the headline: pairs with vote sum > 0 / < 0 / == 0, and both-right pairs."""
    tasks = list(group_by_task(rows).values())
    sums = [vote_sum(t) for t in tasks]
    both_right = sum(
        1 for t in tasks if len(one_per_order(t)) >= 2 and all(vote(r) == 1 for r in one_per_order(t)[:2])
    )
    return {
        "pairs": len(tasks),
        "correct": sum(s > 0 for s in sums),
        "incorrect": sum(s < 0 for s in sums),
        "tied": sum(s == 0 for s in sums),
        "both_orders_right": both_right,
        "pairs_single_judgment": sum(len(one_per_order(t)) < 2 for t in tasks),
    }


def judgebench_metrics(rows: Sequence[Row], seed: int = 0) -> dict[str, Any]:
    """Headline = correct pairs / all pairs (both files merged); per subset and per file."""
    rows = [r for r in rows if r.get("kind", "pairwise") == "pairwise"]
    overall = both_orders_accuracy(rows)
    outcomes = [float(vote_sum(t) > 0) for t in group_by_task(rows).values()]
    per_subset = per_group_accuracy(rows, pair_subset)
    return {
        "headline": overall["accuracy"],
        "accuracy": overall["accuracy"],
        "accuracy_ci95": bootstrap_ci(outcomes, seed=seed),
        **pair_breakdown(rows),
        "single_order_accuracy": single_order_accuracy(rows)["accuracy"],
        "per_subset": per_subset,
        "per_file": per_group_accuracy(rows, pair_file),
        "macro_subset_accuracy": safe_div(sum(v["accuracy"] for v in per_subset.values()), len(per_subset)),
        "stats": judgment_stats(rows),
    }
