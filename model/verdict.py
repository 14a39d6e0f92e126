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
# A label inside a dedicated verdict slot (final_answer's argument, JSON "verdict", [[...]], \boxed{...}):
# case does not matter there, the slot itself is unambiguous.
_LABEL_WORD = r"(?:response|answer|assistant|candidate|output|option)?\s*\(?([A-J]|tie)\)?"
_SLOT_PATTERNS = [
    ("brackets", re.compile(r"\[\[\s*" + _LABEL_WORD + r"\s*\]\]", re.IGNORECASE)),
    ("boxed", re.compile(r"\\boxed\{\s*" + _LABEL_WORD + r"\s*\}", re.IGNORECASE)),
]
# In prose a label must be unmistakable: a capital letter standing alone (or "tie"), right after a verdict
# keyword and a colon / "is", and nothing but punctuation after it on that line. "My final verdict is a
# tie" reads as tie; "the verdict is a close call but B is better" reads as nothing.
_KEYWORD = r"(?i:final\s+(?:answer|verdict|decision)|final|verdict|winner|better\s+response|preferred(?:\s+response)?)"
_PROSE_LABEL = (r"(?:(?i:response|answer|assistant|candidate|output|option)\s+)?\(?([A-J])\)?"
                r"|(?:(?i:a)\s+)?((?i:tie))")
_KEYWORD_LINE = re.compile(
    r"(?m)^[\s>*#_-]*(?:(?i:my|the|our)\s+)?" + _KEYWORD + r"[*_]*\s*(?:(?i:is)|:|=|-)\s*[*_\s]*(?:" + _PROSE_LABEL
    + r")[*_\s]*[.!]?[*_\s]*$")
# A reply (or its last line) that is nothing but a label: "A", "**B**", "(A).", "Response B"
_STANDALONE = re.compile(r"^[\s*_(\[]*(?:(?i:response|answer|assistant|candidate|output|option)\s+)?([A-J]|(?i:tie))"
                         r"[\s*_)\].!]*$")
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
    """Parses a verdict from free text, only from an unambiguous form: a JSON "verdict", [[X]], \\boxed{X},
    a verdict line ("Verdict: A", "My final verdict is a tie"), or a reply / last line that is only a
    label. Different labels in such forms are a conflict: a parse failure, never a pick."""
    if not text or not text.strip():
        return Verdict(error="empty reply")
    if pointwise:
        return _parse_score_text(text)
    found: list[tuple[str, str]] = []  # (how, label) in text order within each rule
    for obj in _json_objects(text):
        if "verdict" in obj:
            v = parse_verdict_value(obj["verdict"], labels, allow_tie)
            if v.ok:
                found.append(("json", v.label))
    for how, pattern in _SLOT_PATTERNS:
        found += [(how, lab) for m in pattern.finditer(text)
                  if (lab := normalize_label(m.group(1), labels, allow_tie)) is not None]
    for m in _KEYWORD_LINE.finditer(text):
        lab = normalize_label(m.group(1) or m.group(2), labels, allow_tie)
        if lab is not None:
            found.append(("final_line", lab))
    if not found:
        lines = [line for line in text.strip().splitlines() if line.strip()]
        m = _STANDALONE.match(lines[-1]) if lines else None
        lab = normalize_label(m.group(1), labels, allow_tie) if m else None
        if lab is not None:
            found.append(("standalone", lab))
    if not found:
        return Verdict(error="no verdict found in reply")
    distinct = sorted({lab for _, lab in found})
    if len(distinct) > 1:
        return Verdict(error=f"conflicting verdicts in reply: {', '.join(distinct)}")
    return Verdict(label=distinct[0], ok=True, how=found[0][0])


def _parse_score_text(text: str) -> Verdict:
    for obj in _json_objects(text):
        if "verdict" in obj and (score := parse_score(obj["verdict"])) is not None:
            return Verdict(score=score, ok=True, how="json")
    for how, pattern in zip(("brackets", "final_line"), _SCORE_PATTERNS):
        for m in reversed(list(pattern.finditer(text))):
            score = parse_score(m.group(1))
            if score is not None:
                return Verdict(score=score, ok=True, how=how)
    return Verdict(error="no rating found in reply")


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
