"""Checklist scoring: aggregate the judge's per-item marks, or a lexical-coverage heuristic.

The heuristic only measures whether an item's content words occur in a response; it cannot tell
whether the response actually satisfies the item, so it is never decisive evidence.
"""
from __future__ import annotations

import re
from typing import Any

from model.verifiers.language import STOPWORDS
from model.verifiers.text import words

COVERED_AT = 0.5  # an item counts as covered when half of its content words occur
_EXTRA_STOP = set("should must response answer include includes including mention mentions does "
                  "whether clearly provide provides explain explains user".split())


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in words(text.lower()) if len(w) > 2 and w not in STOPWORDS["en"]
            and w not in _EXTRA_STOP}


def _stem(word: str) -> str:
    """Crude suffix stripping so that 'prices' and 'pricing' meet 'price'."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def item_coverage(item: str, response: str) -> float:
    """Share of the item's content words that occur in the response (1.0 for an item without any)."""
    need = content_words(item)
    if not need:
        return 1.0
    return len(need & content_words(response)) / len(need)


def heuristic_scores(checklist: list[str], response: str) -> list[float]:
    return [round(item_coverage(item, response), 3) for item in checklist]


def parse_marks(marks: Any, n_items: int, labels: list[str]) -> dict[str, list[float]]:
    """Validates `{"A": [1, 0, 1], ...}`: one mark in [0, 1] per item, for every label."""
    if not isinstance(marks, dict):
        raise ValueError("marks must be an object mapping each label to a list of 0/1 marks")
    missing = [lab for lab in labels if lab not in marks]
    if missing:
        raise ValueError(f"marks missing for {', '.join(missing)}")
    out: dict[str, list[float]] = {}
    for label in labels:
        row = marks[label]
        if isinstance(row, str):
            row = [int(x) for x in re.findall(r"[01]", row)]
        if not isinstance(row, list) or len(row) != n_items:
            raise ValueError(f"marks for {label} must be a list of {n_items} values (one per item)")
        vals = []
        for v in row:
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"marks for {label} must be numbers in [0, 1], got {v!r}") from None
            if not 0.0 <= f <= 1.0:
                raise ValueError(f"marks for {label} must be in [0, 1], got {v!r}")
            vals.append(f)
        out[label] = vals
    return out
