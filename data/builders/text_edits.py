"""Text surgery the IFEval edits are made of: sentence boundaries, the longest prefix or fewest cut
sentences that break a rule, filler sentences inserted at one place until a rule breaks, span deletion.

Every function takes the rule as a predicate `violated(text) -> bool`, so nothing here knows IFEval.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from model.verifiers.text import count_words

FILLER = (
    "There is more that could be said here.",
    "This part deserves a closer look.",
    "Many people find this point useful.",
    "It helps to keep the bigger picture in mind.",
    "Small details can matter a great deal.",
    "This is worth thinking about for a moment.",
    "The same idea shows up in other places too.",
    "Some readers may want to explore this further.",
    "That is one way to look at the question.",
    "Each step builds on the one before it.",
    "Context often changes how this is seen.",
    "A simple example can make this clearer.",
)
MAX_ADDED_WORDS = 400
_BOUNDARY_RE = re.compile(r"(?<=[.!?:;])[\"'”’)*_]*(?=\s)|\n")


def boundaries(text: str) -> list[int]:
    """Positions right after a sentence end or at a line break: places to cut or insert sentences."""
    return sorted({m.end() for m in _BOUNDARY_RE.finditer(text)} | {len(text)})


def longest_violating_prefix(text: str, violated: Callable[[str], bool]) -> str | None:
    """The longest sentence-boundary prefix of `text` for which `violated` holds (None if none does)."""
    for pos in reversed(boundaries(text)):
        prefix = text[:pos].rstrip()
        if prefix and prefix != text.rstrip() and violated(prefix):
            return prefix
    return None


def shortened_keeping_ending(text: str, violated: Callable[[str], bool]) -> str | None:
    """`text` with the fewest sentences before its last one removed (the ending, e.g. a required
    closing phrase or postscript, stays) such that `violated` holds."""
    cuts = [b for b in boundaries(text) if b < len(text.rstrip())]
    if len(cuts) < 2:
        return None
    last = cuts[-1]
    for start in reversed(cuts[:-1]):
        candidate = text[:start].rstrip() + text[last:]
        if violated(candidate):
            return candidate
    return None


def insertion_point(text: str) -> int:
    """End of the first prose paragraph (inside closing quotes / markup): titles, headings, lists,
    postscripts and the ending stay where they are."""
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S(?:.|\n(?!\s*\n))*", text)]
    prose = [
        sp
        for sp in spans
        if re.search(r"[.!?][\"”'*_)]*$", text[sp[0] : sp[1]])
        and not re.match(r"(<<|#|[*+-]\s|\d+[.)]\s|p\.\s?s)", text[sp[0] : sp[1]], re.IGNORECASE)
    ]
    end = (prose or spans or [(0, len(text.rstrip()))])[0][1]
    while end > 0 and text[end - 1] in "\"”'*_)}]":
        end -= 1
    return end


def insert_sentences(text: str, added: list[str]) -> str:
    pos = insertion_point(text)
    glue = " " if pos and not text[pos - 1].isspace() else ""
    return text[:pos] + glue + " ".join(added) + text[pos:]


def styled(sentence: str, text: str) -> str:
    """A sentence in the case style of `text` (all lower / all upper)."""
    if text.islower():
        return sentence.lower()
    if text.isupper():
        return sentence.upper()
    return sentence


def grow_until(
    text: str, violated: Callable[[str], bool], rng: random.Random, bank: tuple[str, ...] = FILLER
) -> str | None:
    """`text` with the fewest filler sentences added (at one place) that make `violated` hold."""
    order = list(bank)
    rng.shuffle(order)
    added: list[str] = []
    while count_words(" ".join(added)) <= MAX_ADDED_WORDS:
        added.append(styled(order[len(added) % len(order)], text))
        candidate = insert_sentences(text, added)
        if violated(candidate):
            return candidate
    return None


def delete_spans(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    return re.sub(r"[ \t]{2,}", " ", text)
