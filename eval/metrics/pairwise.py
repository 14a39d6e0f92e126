"""Generic pairwise accuracy (RewardBench-v1 / LLMBar style files, any chosen/rejected JSONL).

Definition (METRICS.md; same rule as JudgeBench compute_final_metrics): every pair is judged in both
orders, votes +1 right / -1 wrong / 0 tie / none unparseable, and a pair is correct iff the vote sum
is > 0. Reported per `meta.subset` (absent -> "all"); headline = macro average over subsets.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eval.metrics.common import (
    Row,
    bootstrap_ci,
    group_by,
    group_by_task,
    is_correct,
    judgment_stats,
    meta,
    pair_correct,
    safe_div,
)


def both_orders_accuracy(rows: Sequence[Row]) -> dict[str, Any]:
    """Pairs (grouped by task_id) whose vote sum is > 0, over all pairs seen."""
    outcomes = [pair_correct(task_rows) for task_rows in group_by_task(rows).values()]
    n_ok = sum(outcomes)
    return {"pairs": len(outcomes), "correct": n_ok, "accuracy": safe_div(n_ok, len(outcomes))}


def single_order_accuracy(rows: Sequence[Row]) -> dict[str, Any]:
    """Per-judgment accuracy: share of judgments that picked the gold (unparseable/tie = wrong)."""
    n_ok = sum(is_correct(r) for r in rows)
    return {"judgments": len(rows), "correct": n_ok, "accuracy": safe_div(n_ok, len(rows))}


def per_group_accuracy(rows: Sequence[Row], key: Callable[[Row], Any]) -> dict[str, dict[str, Any]]:
    """Both-orders accuracy per group (a task's group is taken from its first judgment)."""
    tasks = group_by_task(rows)
    by_group = group_by(tasks.values(), lambda task_rows: key(task_rows[0]))
    out = {}
    for name, task_lists in sorted(by_group.items(), key=lambda kv: str(kv[0])):
        flat = [r for task_rows in task_lists for r in task_rows]
        single = single_order_accuracy(flat)["accuracy"]
        out[str(name)] = {**both_orders_accuracy(flat), "single_order_accuracy": single}
    return out


def pairwise_metrics(rows: Sequence[Row], seed: int = 0) -> dict[str, Any]:
    """Per-subset and macro-averaged both-orders accuracy, plus micro, single-order and stats."""
    rows = [r for r in rows if r.get("kind", "pairwise") == "pairwise"]
    per_subset = per_group_accuracy(rows, lambda r: meta(r, "subset") or "all")
    micro = both_orders_accuracy(rows)
    outcomes = [float(pair_correct(t)) for t in group_by_task(rows).values()]
    macro = safe_div(sum(s["accuracy"] for s in per_subset.values()), len(per_subset))
    return {
        "headline": macro,
        "macro_accuracy": macro,
        "accuracy": micro["accuracy"],
        "pairs": micro["pairs"],
        "correct": micro["correct"],
        "accuracy_ci95": bootstrap_ci(outcomes, seed=seed),
        "single_order_accuracy": single_order_accuracy(rows)["accuracy"],
        "per_subset": per_subset,
        "stats": judgment_stats(rows),
    }
