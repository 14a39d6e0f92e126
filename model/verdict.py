"""Verdict parsing: final_answer arguments, JSON, `[[A]]`, `Final: A` / `Verdict: A`, ratings for pointwise.

A verdict that cannot be parsed is reported as such (ok=False with the reason); it is never mapped
to a default label.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

TIE = "tie"
_LABEL_WORD = r"(?:response|answer|assistant|candidate|output|option)?\s*\(?([A-J]|tie)\)?"
_PATTERNS = [
    re.compile(r"\[\[\s*" + _LABEL_WORD + r"\s*\]\]", re.IGNORECASE),
    re.compile(r"\\boxed\{\s*" + _LABEL_WORD + r"\s*\}", re.IGNORECASE),
    re.compile(
        r"(?:final\s+(?:answer|verdict)|final|verdict|winner|better\s+response|preferred)\s*(?:is)?\s*[:=\-]?\s*\**\s*"
        + _LABEL_WORD + r"\b",
        re.IGNORECASE,
    ),
]
_SCORE_PATTERNS = [
    re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]"),
    re.compile(r"(?:rating|score|final(?:\s+(?:answer|score|rating))?|verdict)\s*(?:is)?\s*[:=]?\s*\**\s*"
               r"(\d+(?:\.\d+)?)\s*(?:/\s*10)?", re.IGNORECASE),
]


@dataclass
class Verdict:
    label: str | None = None    # "A", "B", ... or "tie"; None for pointwise or failure
    score: float | None = None  # pointwise rating
    ok: bool = False
    how: str = ""               # which rule parsed it
    error: str | None = None


def normalize_label(value: Any, labels: Sequence[str], allow_tie: bool) -> str | None:
    """'A', 'a', 'Response A', '(B)', '[[A]]', 'tie' -> canonical label, or None."""
    if not isinstance(value, str):
        return None
    text = value.strip().strip("[]().*'\" ").strip()
    m = re.fullmatch(_LABEL_WORD, text, re.IGNORECASE)
    if not m:
        return None
    label = m.group(1)
    if label.lower() == TIE:
        return TIE if allow_tie else None
    label = label.upper()
    return label if label in labels else None


def parse_score(value: Any, low: float = 1, high: float = 10) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        score = float(value)
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*\[*\s*(\d+(?:\.\d+)?)\s*\]*\s*(?:/\s*10)?\s*", value)
        if not m:
            return None
        score = float(m.group(1))
    else:
        return None
    return score if low <= score <= high else None


def parse_verdict_value(value: Any, labels: Sequence[str], allow_tie: bool = True,
                        pointwise: bool = False) -> Verdict:
    """Parses the `verdict` argument of a final_answer call."""
    if pointwise:
        score = parse_score(value)
        if score is None:
            return Verdict(error=f"final_answer verdict {value!r} is not a rating in 1-10")
        return Verdict(score=score, ok=True, how="final_answer")
    label = normalize_label(value, labels, allow_tie)
    if label is None:
        allowed = list(labels) + ([TIE] if allow_tie else [])
        return Verdict(error=f"final_answer verdict {value!r} is not one of {allowed}")
    return Verdict(label=label, ok=True, how="final_answer")


def parse_verdict_text(text: str, labels: Sequence[str], allow_tie: bool = True,
                       pointwise: bool = False) -> Verdict:
    """Parses a verdict from free text; the last explicit verdict wins."""
    if not text or not text.strip():
        return Verdict(error="empty reply")
    for obj in _json_objects(text):
        if "verdict" in obj:
            v = parse_verdict_value(obj["verdict"], labels, allow_tie, pointwise)
            if v.ok:
                v.how = "json"
                return v
    patterns = _SCORE_PATTERNS if pointwise else _PATTERNS
    for how, pattern in zip(("brackets", "boxed", "final_line") if not pointwise else ("brackets", "final_line"),
                            patterns):
        matches = list(pattern.finditer(text))
        for m in reversed(matches):
            if pointwise:
                score = parse_score(m.group(1))
                if score is not None:
                    return Verdict(score=score, ok=True, how=how)
            else:
                label = normalize_label(m.group(1), labels, allow_tie)
                if label is not None:
                    return Verdict(label=label, ok=True, how=how)
    return Verdict(error="no verdict found in reply")


def _json_objects(text: str) -> list[dict]:
    """Top-level JSON objects embedded in text (last first)."""
    found: list[dict] = []
    decoder = json.JSONDecoder()
    i = text.find("{")
    while i != -1:
        try:
            obj, end = decoder.raw_decode(text, i)
            if isinstance(obj, dict):
                found.append(obj)
            i = text.find("{", end)
        except json.JSONDecodeError:
            i = text.find("{", i + 1)
    return found[::-1]
