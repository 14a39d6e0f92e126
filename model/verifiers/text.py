"""Text units shared by the checkers: words, sentences, paragraphs, normalized tokens."""
from __future__ import annotations

import re
import string

_WORD = re.compile(r"\w+(?:(?:['’\-]|(?<=\d)[.,](?=\d))\w+)*")
_ABBREVIATIONS = (
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "inc", "ltd", "co", "corp",
    "no", "fig", "approx", "dept", "est", "e.g", "i.e", "u.s", "u.k", "a.m", "p.m", "ph.d", "jan",
    "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
)
_ABBREV_RE = re.compile(
    r"\b(" + "|".join(re.escape(a) for a in sorted(_ABBREVIATIONS, key=len, reverse=True)) + r")\.",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])[\"'”’)\]*_]*\s+|\n\s*\n")
_PLACEHOLDER = "\u0000"


def words(text: str) -> list[str]:
    """Word tokens: letter/digit runs keeping inner apostrophes, hyphens, and decimal points (3.5)."""
    return _WORD.findall(text)


def count_words(text: str) -> int:
    return len(words(text))


def sentences(text: str) -> list[str]:
    """Sentences split on terminal punctuation and blank lines.

    Dots of common abbreviations (Dr., e.g.), initials (J. R. R.) and decimals (3.14) do not end a
    sentence. Segments without any word character (a lone "***") are dropped.
    """
    protected = _ABBREV_RE.sub(lambda m: m.group(0)[:-1] + _PLACEHOLDER, text)
    protected = re.sub(r"(?<=\d)\.(?=\d)", _PLACEHOLDER, protected)
    protected = re.sub(r"\b([A-Z])\.(?=\s*[A-Z]\.)", r"\1" + _PLACEHOLDER, protected)
    protected = re.sub(r"(?<=[A-Z]" + _PLACEHOLDER + r" )([A-Z])\.", r"\1" + _PLACEHOLDER, protected)
    parts = _SENTENCE_END.split(protected)
    return [p.replace(_PLACEHOLDER, ".").strip() for p in parts if p and re.search(r"\w", p)]


def paragraphs_by_blank_lines(text: str) -> list[str]:
    """Paragraphs separated by one or more blank lines; empty ones dropped."""
    return [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def normalize(text: str) -> str:
    """Lowercase, drop punctuation and articles, collapse whitespace (SQuAD-style answer norm)."""
    text = text.lower()
    text = "".join(" " if ch in string.punctuation else ch for ch in text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())
