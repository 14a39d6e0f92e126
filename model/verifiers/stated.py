"""Explicit constraints stated in a prompt's own text, parsed into the runtime's IFEval checks.

This is how a judge without the sample's constraint list (the fair setting) still checks the hard
requirements a user wrote: "use no commas", "at least 60 words", "end with the exact phrase 'Thank you
for reading.'". It understands the phrasing of model.verifiers.ifeval.describe (which the synthetic
tasks use) and the official IFEval prompt templates. It only reads the prompt; what it cannot parse
it leaves out (a judge then falls back to the rubric), never guesses a threshold.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Constraint = dict[str, Any]
_Q = r"'([^']+)'"  # a single-quoted item
_QLIST = r"((?:'[^']+'(?:\s*(?:,|and|or)\s*)?)+)"
_REL = r"(at least|fewer than|less than|at most|no more than|more than|exactly)"
_WORDS_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
              "nine": 9, "ten": 10}
_NUM = r"(\d+|" + "|".join(_WORDS_NUM) + r")"
_IN_ENGLISH = r"(?:english,? )?(?:and )?(?:in )?"


def _n(text: str) -> int:
    return _WORDS_NUM.get(text.lower(), None) or int(text)


def _relation(rel: str, n: int) -> tuple[str, int] | None:
    """IFEval knows two relations: 'at least' and 'less than'."""
    rel = rel.lower()
    if rel == "at least":
        return "at least", n
    if rel in ("fewer than", "less than"):
        return "less than", n
    if rel in ("at most", "no more than"):
        return "less than", n + 1
    if rel == "more than":
        return "at least", n + 1
    return None  # "exactly N words" has no IFEval counterpart


def _items(group: str) -> list[str]:
    return re.findall(_Q, group)


def _frequency(keyword: str, rel: str, n: str) -> Constraint | None:
    relation = _relation(rel, _n(n))
    return None if relation is None else {"id": "keywords:frequency", "kwargs": {
        "keyword": keyword, "relation": relation[0], "frequency": relation[1]}}


def _counted(iid: str, key: str, unit: str) -> tuple[str, Callable[[re.Match], Constraint | None]]:
    def build(m: re.Match) -> Constraint | None:
        rel = _relation(m.group(1), _n(m.group(2)))
        return None if rel is None else {"id": iid, "kwargs": {"relation": rel[0], key: rel[1]}}

    return _REL + r"\s+" + _NUM + r"\s+" + unit + r"\b", build


_RULES: list[tuple[str, Callable[[re.Match], Constraint | None]]] = [
    (r"\b(?:use no commas|(?:do not|don't|refrain from)\s+(?:use|using|the use of|include)\s+any commas"
     r"|without (?:using )?(?:any )?commas)\b",
     lambda m: {"id": "punctuation:no_comma", "kwargs": {}}),
    (r"\ball lower ?case letters\b|\bentire(?:ly)? (?:response )?in " + _IN_ENGLISH + r"lower ?case\b",
     lambda m: {"id": "change_case:english_lowercase", "kwargs": {}}),
    (r"\ball capital letters\b|\bentire(?:ly)? (?:response )?in " + _IN_ENGLISH + r"(?:all )?capital letters\b",
     lambda m: {"id": "change_case:english_capital", "kwargs": {}}),
    _counted("length_constraints:number_words", "num_words", "words"),
    _counted("length_constraints:number_sentences", "num_sentences", "sentences"),
    (r"\bexactly " + _NUM + r" paragraphs\b|\bthere should be " + _NUM + r" paragraphs\b",
     lambda m: {"id": "length_constraints:number_paragraphs",
                "kwargs": {"num_paragraphs": _n(m.group(1) or m.group(2))}}),
    (r"\bexactly " + _NUM + r" (?:markdown )?bullet points\b",
     lambda m: {"id": "detectable_format:number_bullet_lists", "kwargs": {"num_bullets": _n(m.group(1))}}),
    (r"\binclude (?:the )?keywords? " + _QLIST,
     lambda m: {"id": "keywords:existence", "kwargs": {"keywords": _items(m.group(1))}}),
    (r"\b(?:do not|don't) (?:use|include) (?:the )?(?:words?|keywords?) " + _QLIST,
     lambda m: {"id": "keywords:forbidden_words", "kwargs": {"forbidden_words": _items(m.group(1))}}),
    (r"(?:\bthe (?:word|keyword) )?" + _Q + r"(?: \([^)]*\))? (?:appears|should appear) " + _REL + r"\s+"
     + _NUM + r" times\b", lambda m: _frequency(m.group(1), m.group(2), m.group(3))),
    (r"\btitle wrapped in (?:double angular brackets|<<)",
     lambda m: {"id": "detectable_format:title", "kwargs": {}}),
    (r"\bpostscript starting with " + _Q,
     lambda m: {"id": "detectable_content:postscript", "kwargs": {"postscript_marker": m.group(1)}}),
    (r"\b(?:end|finish) (?:your response )?with (?:the|this) exact phrase " + _Q,
     lambda m: {"id": "startend:end_checker", "kwargs": {"end_phrase": m.group(1)}}),
    (r"\bwrap (?:the|your) entire response (?:in|with) double quotation marks\b",
     lambda m: {"id": "startend:quotation", "kwargs": {}}),
    (r"\bat least " + _NUM + r" sections? highlighted\b|\bhighlight at least " + _NUM + r" sections?\b",
     lambda m: {"id": "detectable_format:number_highlighted_sections",
                "kwargs": {"num_highlights": _n(m.group(1) or m.group(2))}}),
    (r"\bat least " + _NUM + r" placeholders?\b",
     lambda m: {"id": "detectable_content:number_placeholders", "kwargs": {"num_placeholders": _n(m.group(1))}}),
]
_COMPILED = [(re.compile(p, re.IGNORECASE), build) for p, build in _RULES]


def stated_constraints(prompt: str) -> list[Constraint]:
    """The checkable constraints the prompt states, in the order they appear (one per instruction id)."""
    found: list[tuple[int, Constraint]] = []
    seen: set[str] = set()
    for pattern, build in _COMPILED:
        for m in pattern.finditer(prompt):
            c = build(m)
            if c is not None and c["id"] not in seen:
                seen.add(c["id"])
                found.append((m.start(), c))
                break
    return [c for _, c in sorted(found, key=lambda x: x[0])]
