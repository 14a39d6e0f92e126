"""Benchmark metrics, one file per benchmark; each `fn(rows) -> dict` (bon takes groups).

Definitions: shared/docs/METRICS.md, matched to the official code named in each module's docstring.
Values are fractions in [0, 1] (published.py keeps the papers' percent).
"""
from __future__ import annotations

from eval.metrics.bon import bon_metrics
from eval.metrics.common import bootstrap_ci, judgment_stats, vote
from eval.metrics.if_rewardbench import if_rewardbench_metrics
from eval.metrics.judgebench import judgebench_metrics
from eval.metrics.pairwise import pairwise_metrics
from eval.metrics.published import PUBLISHED, published_rows
from eval.metrics.rewardbench2 import rewardbench2_metrics
from eval.metrics.rmbench import rmbench_metrics

METRICS = {
    "judgebench": judgebench_metrics,
    "rmbench": rmbench_metrics,
    "rewardbench2": rewardbench2_metrics,
    "pairwise": pairwise_metrics,
    "if_rewardbench": if_rewardbench_metrics,
    "bon": bon_metrics,
}

__all__ = [
    "METRICS",
    "PUBLISHED",
    "bon_metrics",
    "bootstrap_ci",
    "if_rewardbench_metrics",
    "judgebench_metrics",
    "judgment_stats",
    "pairwise_metrics",
    "published_rows",
    "rewardbench2_metrics",
    "rmbench_metrics",
    "vote",
]
