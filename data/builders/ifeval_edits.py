"""Minimal edits that make a response violate one IFEval-style constraint (and repairs that fix one).

`violations(instruction_id, response, kwargs, prompt, rng)` returns candidate edits, most minimal
first, as (description, edited response). The caller keeps the first candidate that fails the target
constraint and, where possible, still passes the others. The edits are what a careless writer does:
one comma too many, a capitalised word, a dropped postscript, a cut or padded text, a forbidden word
slipped in, a keyword removed, broken JSON, a title without its brackets, unwrapped quotes, ...
Counts are pushed just past the threshold: the longest prefix that violates a minimum, the fewest
added sentences that violate a maximum.

`REPAIRS` holds the few fixes that are safe to apply mechanically to a response that fails its own
constraint (remove commas, change case, wrap in quotes, append the end phrase).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from data.builders.text_edits import (
    FILLER,
    boundaries,
    delete_spans,
    grow_until,
    insert_sentences,
    longest_violating_prefix,
    shortened_keeping_ending,
    styled,
)
from model.verifiers import ifeval
from model.verifiers.text import count_words, sentences

Edit = tuple[str, str]
EditFn = Callable[[str, dict[str, Any], str, random.Random], list[Edit]]

EDITS: dict[str, EditFn] = {}

KEYWORD_SENTENCES = (
    "This also touches on {w}.",
    "It is worth mentioning {w} here.",
    "Think of {w} as well.",
    "Here {w} plays a part too.",
)
_HIGHLIGHT_RE = re.compile(r"(?<!\*)(\*\*?)(?![*\s])([^\n*]*?[^\s*])\1(?!\*)")
_PLACEHOLDER_RE = re.compile(r"\[([^\[\]\n]*\w[^\[\]\n]*)\]")
_BULLET_LINE_RE = re.compile(r"^[ \t]*[*+-][ \t]+\S.*(?:\n|$)", re.MULTILINE)
_DIVIDER_RE = re.compile(r"\n?[ \t]*\*\s?\*\s?\*[ \t]*\n?")


def edit(*instruction_ids: str):
    def deco(fn: EditFn) -> EditFn:
        for i in instruction_ids:
            EDITS[i] = fn
        return fn

    return deco


def violations(
    instruction_id: str, response: str, kwargs: dict[str, Any], prompt: str, rng: random.Random
) -> list[Edit]:
    """Candidate violating edits of `response` for one constraint ([] when there is no minimal edit)."""
    fn = EDITS.get(instruction_id)
    if fn is None:
        return []
    clean = {k: v for k, v in (kwargs or {}).items() if v is not None}
    return [(d, e) for d, e in fn(response, clean, prompt, rng) if e != response]


def violates(instruction_id: str, kwargs: dict[str, Any], text: str, prompt: str = "") -> bool:
    return not ifeval.check(instruction_id, kwargs, text, prompt)


def _rel(kwargs: dict[str, Any], key: str = "relation") -> str:
    return str(kwargs.get(key, "")).strip().lower()


def _needs_fewer(relation: str) -> bool:
    """Violating 'at least' / 'more than' / 'exactly' means going below; 'less than' / 'at most' above."""
    return relation in ("at least", "more than", "exactly")


# --------------------------------------------------------------------------- edits


@edit("punctuation:no_comma")
def _add_comma(resp, kw, prompt, rng):
    out = []
    m = re.search(r"(?<=\w) (and|but|so|which|while) (?=\w)", resp)
    if m:
        out.append((f"comma added before '{m.group(1)}'", resp[: m.start()] + ", " + resp[m.start() + 1 :]))
    spots = [m.start() for m in re.finditer(r"(?<=\w\w\w \w\w\w\w)(?= [a-z]{3,} \w)", resp)] or [
        m.start() for m in re.finditer(r"(?<=\w\w)(?= \w\w)", resp)
    ]
    if spots:
        pos = rng.choice(spots)
        out.append(("comma added inside a sentence", resp[:pos] + "," + resp[pos:]))
    return out


@edit("length_constraints:number_words")
def _word_count(resp, kw, prompt, rng):
    iid = "length_constraints:number_words"
    return _count_edit(iid, resp, kw, prompt, rng, "words")


@edit("length_constraints:number_sentences")
def _sentence_count(resp, kw, prompt, rng):
    iid = "length_constraints:number_sentences"
    return _count_edit(iid, resp, kw, prompt, rng, "sentences")


def _count_edit(iid, resp, kw, prompt, rng, unit):
    def bad(t: str) -> bool:
        return violates(iid, kw, t, prompt)

    if _needs_fewer(_rel(kw)):
        cuts = [c for c in (longest_violating_prefix(resp, bad), shortened_keeping_ending(resp, bad)) if c]
        return [(f"cut to {_count(c, unit)} {unit}", c) for c in dict.fromkeys(cuts)]
    grown = grow_until(resp, bad, rng)
    return [(f"padded to {_count(grown, unit)} {unit}", grown)] if grown else []


def _count(text: str, unit: str) -> int:
    return count_words(text) if unit == "words" else len(sentences(text))


@edit("length_constraints:number_paragraphs")
def _paragraphs(resp, kw, prompt, rng):
    dividers = list(_DIVIDER_RE.finditer(resp))
    out = []
    if dividers:
        d = dividers[-1]
        out.append(
            (
                "last '***' divider removed (two paragraphs merged)",
                resp[: d.start()] + "\n\n" + resp[d.end() :],
            )
        )
    spots = [b for b in boundaries(resp) if 0 < b < len(resp.rstrip()) and resp[b : b + 1] in (" ", "\n")]
    if spots:
        b = spots[len(spots) // 2]
        out.append(("an extra '***' divider inserted", resp[:b].rstrip() + "\n***\n" + resp[b:].lstrip()))
    return out


@edit("length_constraints:nth_paragraph_first_word")
def _nth_first_word(resp, kw, prompt, rng):
    paras = list(re.finditer(r"(?:^|\n\s*\n)\s*(\S[\s\S]*?)(?=\n\s*\n|\s*$)", resp))
    try:
        nth = int(kw.get("nth_paragraph", 0))
    except (TypeError, ValueError):
        return []
    if not 1 <= nth <= len(paras):
        return []
    start = paras[nth - 1].start(1)
    m = re.match(r"([\W_]*)(\w[\w'’-]*)\s+(\w)", resp[start:])
    if not m:
        return []
    rest = resp[start + m.end(3) - 1 :]
    new = resp[:start] + m.group(1) + rest[:1].upper() + rest[1:]
    return [(f"first word '{m.group(2)}' of paragraph {nth} removed", new)]


@edit("keywords:existence")
def _remove_keyword(resp, kw, prompt, rng):
    keywords = [k for k in kw.get("keywords") or [] if isinstance(k, str) and k.strip()]
    rng.shuffle(keywords)
    out = []
    for k in keywords:
        spans = [
            m.span() for m in re.finditer(r"\s?\b\w*" + re.escape(k.strip()) + r"\w*\b", resp, re.IGNORECASE)
        ]
        if spans:
            out.append((f"keyword '{k}' removed", delete_spans(resp, spans)))
    return out


@edit("keywords:frequency")
def _keyword_frequency(resp, kw, prompt, rng):
    iid, word = "keywords:frequency", str(kw.get("keyword", "")).strip()
    if not word:
        return []
    if _needs_fewer(_rel(kw)):
        spans = [
            m.span()
            for m in re.finditer(
                r"\s?(?<!\w)" + re.escape(word) + r"(?:s|es|['’]s)?(?!\w)", resp, re.IGNORECASE
            )
        ]
        for k in range(1, len(spans) + 1):
            cand = delete_spans(resp, spans[-k:])
            if violates(iid, kw, cand, prompt):
                return [(f"{k} occurrence(s) of '{word}' removed", cand)]
        return []
    bank = tuple(s.format(w=word) for s in KEYWORD_SENTENCES)
    grown = grow_until(resp, lambda t: violates(iid, kw, t, prompt), rng, bank)
    return [(f"'{word}' repeated more often", grown)] if grown else []


@edit("keywords:forbidden_words")
def _forbidden(resp, kw, prompt, rng):
    words = [w for w in kw.get("forbidden_words") or [] if isinstance(w, str) and w.strip()]
    if not words:
        return []
    w = rng.choice(words).strip()
    sentence = styled(rng.choice(KEYWORD_SENTENCES).format(w=w), resp)
    return [(f"forbidden word '{w}' used", insert_sentences(resp, [sentence]))]


@edit("keywords:letter_frequency")
def _letter_frequency(resp, kw, prompt, rng):
    iid, letter = "keywords:letter_frequency", str(kw.get("letter", "")).lower()
    if len(letter) != 1:
        return []

    def bad(t: str) -> bool:
        return violates(iid, kw, t, prompt)

    if _needs_fewer(_rel(kw, "let_relation")):
        cut = longest_violating_prefix(resp, bad)
        return [(f"cut below the required count of '{letter}'", cut)] if cut else []
    rich = sorted({w for w in re.findall(r"[A-Za-z]{4,}", resp) if letter in w.lower()}) or [letter * 3]
    bank = tuple(s.format(w=w) for w in rich[:8] for s in KEYWORD_SENTENCES[:2])
    grown = grow_until(resp, bad, rng, bank)
    return [(f"more words with '{letter}' added", grown)] if grown else []


@edit("detectable_format:number_highlighted_sections")
def _highlights(resp, kw, prompt, rng):
    found = list(_HIGHLIGHT_RE.finditer(resp))
    try:
        need = int(kw.get("num_highlights", 1))
    except (TypeError, ValueError):
        return []
    drop = len(found) - need + 1
    if drop <= 0 or drop > len(found):
        return []
    text = resp
    for m in sorted(found[-drop:], key=lambda m: m.start(), reverse=True):
        text = text[: m.start()] + m.group(2) + text[m.end() :]
    return [(f"{drop} highlight(s) un-marked", text)]


@edit("detectable_format:title")
def _title(resp, kw, prompt, rng):
    return [("title brackets << >> removed", re.sub(r"<<([^<>\n]+)>>", r"\1", resp))]


@edit("detectable_format:json_format")
def _json(resp, kw, prompt, rng):
    text = resp.rstrip()
    out = [("a sentence added before the JSON", "Here is the requested output in JSON.\n" + resp)]
    closer = max(text.rfind("}"), text.rfind("]"))
    if closer >= 0:
        out.append(("closing bracket of the JSON removed", text[:closer] + text[closer + 1 :]))
    return out


@edit("detectable_format:number_bullet_lists")
def _bullets(resp, kw, prompt, rng):
    lines = list(_BULLET_LINE_RE.finditer(resp))
    out = []
    if lines:
        m = lines[-1]
        out.append(("last bullet point removed", resp[: m.start()] + resp[m.end() :]))
        bullet = re.match(r"[ \t]*[*+-][ \t]+", m.group(0)).group(0)
        extra = bullet + styled(rng.choice(FILLER), resp)
        out.append(
            ("one bullet point added", resp[: m.end()].rstrip("\n") + "\n" + extra + "\n" + resp[m.end() :])
        )
    return out


@edit("detectable_format:multiple_sections")
def _sections(resp, kw, prompt, rng):
    spliter = str(kw.get("section_spliter", "")).strip()
    if not spliter:
        return []
    marks = list(re.finditer(r"(?<!\w)" + re.escape(spliter) + r"\s*\d+[:.]?[ \t]*", resp))
    if not marks:
        return []
    m = marks[-1]
    return [(f"last '{spliter}' marker removed", resp[: m.start()] + resp[m.end() :])]


@edit("detectable_format:constrained_response")
def _constrained(resp, kw, prompt, rng):
    text = resp
    for option in ifeval.CONSTRAINED_ANSWERS:
        word = option.split()[-1].rstrip(".")
        text = re.sub(re.escape(option.rstrip(".")), word.capitalize(), text, flags=re.IGNORECASE)
    return [("'My answer is ...' phrase shortened", text)]


@edit("detectable_content:postscript")
def _postscript(resp, kw, prompt, rng):
    marker = str(kw.get("postscript_marker", "")).strip()
    if not marker:
        return []
    letters = [re.escape(p) for p in re.split(r"\.\s*", marker.rstrip(".")) if p]
    body = r"\.?\s?".join(letters) if len(letters) > 1 else re.escape(marker.rstrip("."))
    found = list(re.finditer(r"^[ \t>*_#]*(" + body + r"\.?)(?!\w)", resp, re.IGNORECASE | re.MULTILINE))
    if not found:
        return []
    m = found[-1]
    renamed = resp[: m.start(1)] + "Note:" + resp[m.end(1) :].lstrip(":")
    return [
        (f"postscript marker '{marker}' replaced by 'Note:'", renamed),
        ("postscript dropped", resp[: m.start()].rstrip()),
    ]


@edit("detectable_content:number_placeholders")
def _placeholders(resp, kw, prompt, rng):
    found = list(_PLACEHOLDER_RE.finditer(resp))
    try:
        need = int(kw.get("num_placeholders", 1))
    except (TypeError, ValueError):
        return []
    drop = len(found) - need + 1
    if drop <= 0 or drop > len(found):
        return []
    text = resp
    for m in sorted(found[-drop:], key=lambda m: m.start(), reverse=True):
        text = text[: m.start()] + m.group(1) + text[m.end() :]
    return [(f"{drop} placeholder(s) filled in without brackets", text)]


@edit("startend:quotation")
def _quotation(resp, kw, prompt, rng):
    text = resp.strip()
    if len(text) < 2:
        return []
    return [("wrapping quotation marks removed", text[1:-1].strip())]


@edit("startend:end_checker")
def _end_checker(resp, kw, prompt, rng):
    phrase = str(kw.get("end_phrase", "")).strip()
    out = [("a sentence added after the end phrase", resp.rstrip() + " " + styled(rng.choice(FILLER), resp))]
    idx = resp.lower().rfind(phrase.lower()) if phrase else -1
    if idx >= 0:
        out.append(("end phrase removed", (resp[:idx] + resp[idx + len(phrase) :]).rstrip()))
    return out


@edit("combination:repeat_prompt")
def _repeat_prompt(resp, kw, prompt, rng):
    m = re.match(r"\s*\S+\s+", resp)
    return [("first word of the repeated request dropped", resp[m.end() :])] if m else []


@edit("combination:two_responses")
def _two_responses(resp, kw, prompt, rng):
    return [("'******' separator removed (one response)", re.sub(r"\s*\*{6}\s*", "\n\n", resp, count=1))]


@edit("change_case:english_lowercase")
def _not_lowercase(resp, kw, prompt, rng):
    m = re.search(r"[a-z]", resp)
    if not m:
        return []
    spots = [x.start() for x in re.finditer(r"(?<![\w'’])[a-z]", resp)]
    pos = rng.choice(spots[: max(1, len(spots) // 3)]) if spots else m.start()
    return [("one word capitalised", resp[:pos] + resp[pos].upper() + resp[pos + 1 :])]


@edit("change_case:english_capital")
def _not_capital(resp, kw, prompt, rng):
    found = list(re.finditer(r"\b[A-Z]{3,}\b", resp))
    if not found:
        return []
    m = rng.choice(found)
    return [
        (f"'{m.group(0)}' written in lowercase", resp[: m.start()] + m.group(0).lower() + resp[m.end() :])
    ]


@edit("change_case:capital_word_frequency")
def _capital_words(resp, kw, prompt, rng):
    iid = "change_case:capital_word_frequency"
    if _needs_fewer(_rel(kw, "capital_relation")):
        caps = [m for m in re.finditer(r"\b\w+\b", resp) if m.group(0).isupper()]
        text = resp
        for k, m in enumerate(reversed(caps), 1):
            text = text[: m.start()] + m.group(0).capitalize() + text[m.end() :]
            if violates(iid, kw, text, prompt):
                return [(f"{k} all-caps word(s) written normally", text)]
        return []
    candidates = [m for m in re.finditer(r"\b[a-z]{4,}\b", resp)]
    text = resp
    for k, m in enumerate(candidates, 1):
        text = text[: m.start()] + m.group(0).upper() + text[m.end() :]
        if violates(iid, kw, text, prompt):
            return [(f"{k} word(s) written in all caps", text)]
    return []


# --------------------------------------------------------------------------- repairs


def _remove_commas(resp: str, kw: dict[str, Any]) -> str:
    return re.sub(r"\s*[,，]\s*", " ", resp).replace(" .", ".")


def _append_end(resp: str, kw: dict[str, Any]) -> str:
    return resp.rstrip() + "\n" + str(kw.get("end_phrase", "")).strip()


def _wrap_quotes(resp: str, kw: dict[str, Any]) -> str:
    return '"' + resp.strip().strip('"') + '"'


REPAIRS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "punctuation:no_comma": _remove_commas,
    "change_case:english_lowercase": lambda r, kw: r.lower(),
    "change_case:english_capital": lambda r, kw: r.upper(),
    "startend:quotation": _wrap_quotes,
    "startend:end_checker": _append_end,
}
