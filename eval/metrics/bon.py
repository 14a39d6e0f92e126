"""Best-of-N selection metrics for a sequential-knockout judge (JETTS-style, METRICS.md).

Each group is one prompt: `scores` = ground-truth score per candidate in the seeded order,
`winner` = index the knockout kept (the runner plays incumbent vs next candidate), optional
`answers` = extracted final answer per candidate (None where none could be extracted).
SeqKO@N = mean gt score of the winners; pass@1 = first candidate; random@N = expected score of a
uniform pick (mean of the scores); oracle@N = best candidate; majority vote = the most frequent
extracted answer (ties -> the one seen first), scored as its first candidate; a group with no
extractable answer falls back to the first candidate.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from eval.metrics.common import safe_div


def majority_index(answers: Sequence[Any]) -> int:
    """Index of the first candidate carrying the most frequent non-None answer (0 if none)."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return 0
    top = max(counts.values())
    return next(i for i, a in enumerate(answers) if a is not None and counts[a] == top)


def bon_metrics(groups: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """SeqKO@N next to pass@1, random@N, oracle@N and (when answers are given) majority vote."""
    n = len(groups)
    out: dict[str, Any] = {
        "groups": n,
        "n_candidates": sorted({len(g["scores"]) for g in groups}),
        "seqko": safe_div(sum(float(g["scores"][g["winner"]]) for g in groups), n),
        "pass_at_1": safe_div(sum(float(g["scores"][0]) for g in groups), n),
        "random": safe_div(sum(safe_div(sum(map(float, g["scores"])), len(g["scores"])) for g in groups), n),
        "oracle": safe_div(sum(max(map(float, g["scores"])) for g in groups), n),
    }
    voted = [g for g in groups if g.get("answers") is not None]
    if voted:
        picked = [float(g["scores"][majority_index(g["answers"])]) for g in voted]
        out["majority"] = safe_div(sum(picked), len(picked))
        out["majority_groups"] = len(voted)
    out["headline"] = out["seqko"]
    return out
