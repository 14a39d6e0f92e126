"""Scripted judges with known scores, for checking the harness end to end (tests, smoke runs).

Each is a ScriptedBackend policy. They read the episode the agent loop attaches to a request
(`request.context`: the task and the order shown), which a real judge never sees; `oracle` even reads
the gold. That is the point: their scores follow from the metric definitions alone.
"""

from __future__ import annotations

from typing import Any

from model.backends import GenerationRequest
from model.backends.scripted import ScriptedBackend
from model.records import LABELS


def _shown(req: GenerationRequest) -> tuple[Any, list[str]]:
    ep = req.context
    return ep, [ep.task.candidates[i] for i in ep.order]


def always(label: str = "A", rating: int = 5):
    """Always the same slot (pairwise/listwise) and the same rating (pointwise)."""

    def policy(req: GenerationRequest) -> str:
        ep, _ = _shown(req)
        return f"[[{rating}]]" if ep.task.kind == "pointwise" else f"Verdict: [[{label}]]"

    return policy


def prefer_longer(req: GenerationRequest) -> str:
    """The longest shown candidate (the first of equals)."""
    ep, shown = _shown(req)
    if ep.task.kind == "pointwise":
        return f"[[{min(10, 1 + len(shown[0]) // 100)}]]"
    best = max(range(len(shown)), key=lambda k: (len(shown[k]), -k))
    return f"[[{LABELS[best]}]]"


def oracle(req: GenerationRequest) -> str:
    """The gold candidate (pointwise: 9 for a correct answer, 2 otherwise)."""
    ep, _ = _shown(req)
    gold = ep.task.gold
    if ep.task.kind == "pointwise":
        return "[[9]]" if gold in (1, 1.0, True) else "[[2]]"
    if gold is None:
        return "[[tie]]"
    return f"[[{LABELS[ep.order.index(gold)]}]]"


def unparseable(req: GenerationRequest) -> str:
    return "Both responses have merits; I cannot decide."


def tie(req: GenerationRequest) -> str:
    return "[[tie]]"


def backend(policy: Any, name: str = "scripted") -> ScriptedBackend:
    return ScriptedBackend(policy, name=name)
