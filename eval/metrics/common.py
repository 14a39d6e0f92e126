"""Shared pieces of the benchmark metrics: votes, grouping, judgment stats, bootstrap CI.

A prediction row (one judgment, written by the eval runner) carries `task_id`, `kind`, `order`
(`order[k]` = candidate index shown at label k), `verdict`, `choice` (candidate index picked, None for
a tie or an unparseable answer), `score`, `parse_ok`, `gold` and `meta`. Everything here is pure:
rows in, plain dicts of ints/floats out (fractions in [0, 1]).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

Row = dict[str, Any]

TIE = "tie"


def is_tie(row: Row) -> bool:
    """A parsed judgment that declares a tie."""
    return bool(row.get("parse_ok")) and str(row.get("verdict") or "").strip().lower() == TIE


def vote(row: Row) -> int | None:
    """Vote of one pairwise judgment (JudgeBench convention, ScalerLab/JudgeBench utils/metrics.py).

    +1 if the judge picked the gold candidate, -1 if it picked the other one, 0 for a tie,
    None (no vote) when the answer did not parse or named no candidate.
    """
    if not row.get("parse_ok"):
        return None
    if is_tie(row):
        return 0
    choice = row.get("choice")
    if choice is None or row.get("gold") is None:
        return None
    return 1 if choice == row["gold"] else -1


def is_correct(row: Row) -> bool:
    """The judgment picked the gold candidate (unparseable, tie and wrong are all False)."""
    return vote(row) == 1


def group_by(rows: Iterable[Row], key: Callable[[Row], Any]) -> dict[Any, list[Row]]:
    """Rows grouped by `key(row)`, groups and rows in first-seen order."""
    groups: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return dict(groups)


def group_by_task(rows: Iterable[Row]) -> dict[str, list[Row]]:
    """Judgments of the same task (e.g. the two orders of one pair) grouped by `task_id`."""
    return group_by(rows, lambda r: r["task_id"])


def meta(row: Row, key: str, default: Any = None) -> Any:
    return (row.get("meta") or {}).get(key, default)


def one_per_order(rows: Sequence[Row]) -> list[Row]:
    """The first judgment of each distinct shown order, in first-seen order."""
    seen: set[tuple[int, ...]] = set()
    out = []
    for row in rows:
        order = tuple(row.get("order") or ())
        if order not in seen:
            seen.add(order)
            out.append(row)
    return out


def vote_sum(rows: Sequence[Row]) -> int:
    """Sum of the votes of one task's judgments (no vote counts as 0)."""
    return sum(v for v in (vote(r) for r in rows) if v is not None)


def pair_correct(rows: Sequence[Row]) -> bool:
    """Both-orders pair accuracy (JudgeBench compute_final_metrics): correct iff vote sum > 0.

    right+wrong -> 0 -> not correct; right+tie -> 1 -> correct; tie+tie -> 0 -> not correct;
    all judgments unparseable -> 0 -> not correct.
    """
    return vote_sum(rows) > 0


def safe_div(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def mean_or_none(values: Iterable[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def judgment_stats(rows: Sequence[Row]) -> dict[str, Any]:
    """Parse failures, position bias, order consistency and ties over all judgments.

    position_a_rate: share of parsed pairwise/listwise judgments whose verdict is "A" (pointwise
      ratings have no slot and are left out). position_rates gives every slot.
    order_consistency: over pairwise tasks judged in two distinct orders with both judgments parsed,
      the share where the same candidate was chosen (tie+tie counts as consistent, as JudgeBench's
      `decision1 != decision2` inconsistency count does).
    tie_rate: share of parsed judgments that declare a tie.
    """
    n = len(rows)
    parsed = [r for r in rows if r.get("parse_ok")]
    labeled = [r for r in parsed if r.get("kind") in ("pairwise", "listwise")]
    slot_counts: dict[str, int] = defaultdict(int)
    for r in labeled:
        slot_counts[str(r.get("verdict"))] += 1
    position_rates = {k: safe_div(v, len(labeled)) for k, v in sorted(slot_counts.items())}

    consistent = compared = 0
    pairwise = [r for r in rows if r.get("kind") == "pairwise"]
    for task_rows in group_by_task(pairwise).values():
        both = one_per_order([r for r in task_rows if r.get("parse_ok")])
        if len(both) >= 2:
            compared += 1
            consistent += both[0].get("choice") == both[1].get("choice")

    return {
        "judgments": n,
        "parse_failures": n - len(parsed),
        "parse_failure_rate": safe_div(n - len(parsed), n),
        "position_a_rate": safe_div(slot_counts.get("A", 0), len(labeled)),
        "position_rates": position_rates,
        "order_consistency": safe_div(consistent, compared),
        "order_consistency_tasks": compared,
        "tie_rate": safe_div(sum(is_tie(r) for r in parsed), len(parsed)),
    }


def bootstrap_ci(
    values: Sequence[float], n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> dict[str, float]:
    """Seeded percentile bootstrap CI of the mean of `values` (e.g. per-pair 0/1 correctness)."""
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        return {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0, "n": 0, "n_boot": n_boot, "seed": seed}
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return {
        "mean": float(x.mean()),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "n": int(x.size),
        "n_boot": n_boot,
        "seed": seed,
    }
