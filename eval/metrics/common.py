"""Shared pieces of the benchmark metrics: votes, grouping, judgment stats (model.judgment_stats), bootstrap CI.

A prediction row (one judgment, written by the eval runner) carries `task_id`, `kind`, `order`
(`order[k]` = candidate index shown at label k), `verdict`, `choice` (candidate index picked, None for
a tie or an unparseable answer), `score`, `parse_ok`, `gold` and `meta`. Everything here is pure:
rows in, plain dicts of ints/floats out (fractions in [0, 1]).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.judgment_stats import (  # noqa: F401 (the metrics modules import these from here)
    TIE,
    Row,
    group_by,
    group_by_task,
    is_correct,
    is_tie,
    judgment_stats,
    mean_or_none,
    meta,
    one_per_order,
    pair_correct,
    safe_div,
    vote,
    vote_sum,
)


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


def paired_bootstrap_ci(a: dict[str, float], b: dict[str, float], n_boot: int = 2000, alpha: float = 0.05,
                        seed: int = 0) -> dict[str, object]:
    """Seeded percentile bootstrap CI of mean(a[k] - b[k]) over the keys both have (e.g. two judges'
    0/1 pair outcomes on the same pairs): resampling the pairs keeps each pair's two outcomes together."""
    common = sorted(set(a) & set(b))
    diff = np.array([a[k] - b[k] for k in common], dtype=float)
    if not diff.size:
        return {"margin": None, "ci95": None, "pairs": 0}
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, (n_boot, diff.size))].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return {"margin": float(diff.mean()), "ci95": [float(lo), float(hi)], "pairs": int(diff.size),
            "gained": int((diff > 0).sum()), "lost": int((diff < 0).sum()), "n_boot": n_boot, "seed": seed}
