"""IFEval-style instruction checkers, written for this project from the documented semantics.

Each instruction id (as in the IFEval data, e.g. "length_constraints:number_words") maps to a
`Checker`: a predicate over (response, kwargs, prompt) plus a one-line description. Kwargs use the
IFEval names; a None value counts as absent. Checks are strict (no loosening of the response).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from model.verifiers.language import detect_language
from model.verifiers.text import count_words, paragraphs_by_blank_lines, sentences, words

Kwargs = dict[str, Any]


@dataclass(frozen=True)
class Checker:
    check: Callable[[str, Kwargs, str], bool]  # (response, kwargs, prompt) -> passed
    describe: Callable[[Kwargs], str]


INSTRUCTIONS: dict[str, Checker] = {}

_RELATIONS: dict[str, Callable[[int, int], bool]] = {
    "less than": lambda c, n: c < n,
    "at least": lambda c, n: c >= n,
    "at most": lambda c, n: c <= n,
    "more than": lambda c, n: c > n,
    "exactly": lambda c, n: c == n,
}
_LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "fi": "Finnish", "sw": "Swahili", "vi": "Vietnamese",
    "ru": "Russian", "bg": "Bulgarian", "uk": "Ukrainian", "ar": "Arabic", "fa": "Persian",
    "ur": "Urdu", "hi": "Hindi", "mr": "Marathi", "ne": "Nepali", "bn": "Bengali", "pa": "Punjabi",
    "gu": "Gujarati", "ta": "Tamil", "te": "Telugu", "kn": "Kannada", "ml": "Malayalam",
    "th": "Thai", "ko": "Korean", "ja": "Japanese", "zh": "Chinese", "el": "Greek", "he": "Hebrew",
}
CONSTRAINED_ANSWERS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


class UnknownInstruction(KeyError):
    def __str__(self) -> str:
        return f"unknown instruction id {self.args[0]!r}; known ids: {', '.join(sorted(INSTRUCTIONS))}"


def instruction(instruction_id: str, describe: Callable[[Kwargs], str]):
    def deco(fn: Callable[[str, Kwargs, str], bool]):
        INSTRUCTIONS[instruction_id] = Checker(fn, describe)
        return fn

    return deco


def _clean(kwargs: dict | None) -> Kwargs:
    return {k: v for k, v in (kwargs or {}).items() if v is not None}


def check(instruction_id: str, kwargs: dict | None, response: str, prompt: str = "") -> bool:
    """Whether `response` follows the instruction. Raises UnknownInstruction / ValueError (bad kwargs)."""
    if instruction_id not in INSTRUCTIONS:
        raise UnknownInstruction(instruction_id)
    return bool(INSTRUCTIONS[instruction_id].check(response or "", _clean(kwargs), prompt or ""))


def describe(instruction_id: str, kwargs: dict | None) -> str:
    if instruction_id not in INSTRUCTIONS:
        raise UnknownInstruction(instruction_id)
    return INSTRUCTIONS[instruction_id].describe(_clean(kwargs))


# --- kwargs helpers -------------------------------------------------------------------------


def _need(kw: Kwargs, name: str) -> Any:
    if name not in kw or kw[name] in ("", []):
        raise ValueError(f"missing kwarg {name!r}")
    return kw[name]


def _int(kw: Kwargs, name: str) -> int:
    value = _need(kw, name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"kwarg {name!r} must be an integer, got {value!r}") from None


def _compare(count: int, relation: str, n: int) -> bool:
    rel = str(relation).strip().lower()
    if rel not in _RELATIONS:
        raise ValueError(f"relation must be one of {sorted(_RELATIONS)}, got {relation!r}")
    return _RELATIONS[rel](count, n)


def _rel_text(relation: Any, n: Any, unit: str) -> str:
    rel = {"less than": "fewer than"}.get(str(relation).lower(), str(relation).lower())
    return f"{rel} {n} {unit}"


def _quoted(items: Any) -> str:
    return ", ".join(f"'{x}'" for x in items) if isinstance(items, (list, tuple)) else repr(items)


def _word_re(word: str, plural: bool = False) -> re.Pattern:
    """Matches `word` as a whole word/phrase, case-insensitively (and its plural/possessive)."""
    suffix = r"(?:s|es|['’]s)?" if plural else ""
    return re.compile(r"(?<!\w)" + re.escape(word.strip()) + suffix + r"(?!\w)", re.IGNORECASE)


# --- keywords -------------------------------------------------------------------------------


@instruction("keywords:existence",
             lambda kw: f"include the keywords {_quoted(kw.get('keywords'))}")
def _keywords_existence(resp: str, kw: Kwargs, prompt: str) -> bool:
    # a keyword counts at the start of a word, so inflections ("disgustingly") count, "basalt" not "salt"
    keywords = _need(kw, "keywords")
    return all(re.search(r"(?<!\w)" + re.escape(k.strip()), resp, re.IGNORECASE) for k in keywords)


@instruction("keywords:frequency",
             lambda kw: f"the word '{kw.get('keyword')}' appears "
                        + _rel_text(kw.get("relation"), kw.get("frequency"), "times"))
def _keyword_frequency(resp: str, kw: Kwargs, prompt: str) -> bool:
    count = len(_word_re(_need(kw, "keyword"), plural=True).findall(resp))
    return _compare(count, _need(kw, "relation"), _int(kw, "frequency"))


@instruction("keywords:forbidden_words",
             lambda kw: f"do not use the words {_quoted(kw.get('forbidden_words'))}")
def _forbidden_words(resp: str, kw: Kwargs, prompt: str) -> bool:
    return not any(_word_re(w).search(resp) for w in _need(kw, "forbidden_words"))


@instruction("keywords:letter_frequency",
             lambda kw: f"the letter '{kw.get('letter')}' appears "
                        + _rel_text(kw.get("let_relation"), kw.get("let_frequency"), "times"))
def _letter_frequency(resp: str, kw: Kwargs, prompt: str) -> bool:
    letter = str(_need(kw, "letter")).lower()
    if len(letter) != 1:
        raise ValueError(f"kwarg 'letter' must be one character, got {letter!r}")
    return _compare(resp.lower().count(letter), _need(kw, "let_relation"), _int(kw, "let_frequency"))


# --- language -------------------------------------------------------------------------------


@instruction("language:response_language",
             lambda kw: f"respond only in {_LANGUAGE_NAMES.get(kw.get('language'), kw.get('language'))}")
def _response_language(resp: str, kw: Kwargs, prompt: str) -> bool:
    return detect_language(resp) == str(_need(kw, "language")).lower().split("-")[0]


# --- length ---------------------------------------------------------------------------------


@instruction("length_constraints:number_sentences",
             lambda kw: _rel_text(kw.get("relation"), kw.get("num_sentences"), "sentences"))
def _number_sentences(resp: str, kw: Kwargs, prompt: str) -> bool:
    return _compare(len(sentences(resp)), _need(kw, "relation"), _int(kw, "num_sentences"))


def _markdown_paragraphs(resp: str) -> list[str] | None:
    """Paragraphs separated by a standalone `***` divider (not `***bold***`); None when a middle
    paragraph is empty."""
    parts = [p.strip() for p in re.split(r"(?<!\S)\*\*\*(?!\S)", resp)]
    while parts and not parts[0]:
        parts.pop(0)
    while parts and not parts[-1]:
        parts.pop()
    return None if any(not p for p in parts) else parts


@instruction("length_constraints:number_paragraphs",
             lambda kw: f"exactly {kw.get('num_paragraphs')} paragraphs separated by '***'")
def _number_paragraphs(resp: str, kw: Kwargs, prompt: str) -> bool:
    parts = _markdown_paragraphs(resp)
    return parts is not None and len(parts) == _int(kw, "num_paragraphs")


@instruction("length_constraints:number_words",
             lambda kw: _rel_text(kw.get("relation"), kw.get("num_words"), "words"))
def _number_words(resp: str, kw: Kwargs, prompt: str) -> bool:
    return _compare(count_words(resp), _need(kw, "relation"), _int(kw, "num_words"))


@instruction("length_constraints:nth_paragraph_first_word",
             lambda kw: f"exactly {kw.get('num_paragraphs')} paragraphs (blank-line separated), "
                        f"paragraph {kw.get('nth_paragraph')} starting with '{kw.get('first_word')}'")
def _nth_paragraph_first_word(resp: str, kw: Kwargs, prompt: str) -> bool:
    paras = paragraphs_by_blank_lines(resp)
    n, nth = _int(kw, "num_paragraphs"), _int(kw, "nth_paragraph")
    if len(paras) != n or not 1 <= nth <= n:
        return False
    first = words(paras[nth - 1])
    return bool(first) and first[0].lower() == str(_need(kw, "first_word")).strip().lower()


# --- detectable content ---------------------------------------------------------------------


@instruction("detectable_content:number_placeholders",
             lambda kw: f"at least {kw.get('num_placeholders')} placeholders like [name]")
def _number_placeholders(resp: str, kw: Kwargs, prompt: str) -> bool:
    return len(re.findall(r"\[[^\[\]\n]*\w[^\[\]\n]*\]", resp)) >= _int(kw, "num_placeholders")


@instruction("detectable_content:postscript",
             lambda kw: f"add a postscript starting with '{kw.get('postscript_marker')}'")
def _postscript(resp: str, kw: Kwargs, prompt: str) -> bool:
    marker = str(_need(kw, "postscript_marker")).strip()
    # "P.P.S" also matches "P. P. S." and "p.p.s."; a marker must open a line (markdown allowed)
    letters = [re.escape(part) for part in re.split(r"\.\s*", marker.rstrip(".")) if part]
    body = r"\.?\s?".join(letters) if len(letters) > 1 else re.escape(marker.rstrip("."))
    pattern = r"^[ \t>*_#]*" + body + r"\.?(?!\w)"
    return re.search(pattern, resp, re.IGNORECASE | re.MULTILINE) is not None


# --- detectable format ----------------------------------------------------------------------

_BULLET_RE = re.compile(r"^[ \t]*[*+-][ \t]+\S", re.MULTILINE)


@instruction("detectable_format:number_bullet_lists",
             lambda kw: f"exactly {kw.get('num_bullets')} markdown bullet points")
def _number_bullets(resp: str, kw: Kwargs, prompt: str) -> bool:
    return len(_BULLET_RE.findall(resp)) == _int(kw, "num_bullets")


@instruction("detectable_format:constrained_response",
             lambda kw: "answer with one of: " + " / ".join(CONSTRAINED_ANSWERS))
def _constrained_response(resp: str, kw: Kwargs, prompt: str) -> bool:
    low = resp.strip().lower()
    return any(opt.lower().rstrip(".") in low for opt in CONSTRAINED_ANSWERS)


# *text* or **text**; as in markdown, no space just inside the asterisks
_HIGHLIGHT_RE = re.compile(r"(?<!\*)(\*\*?)(?![*\s])([^\n*]*?[^\s*])\1(?!\*)")


@instruction("detectable_format:number_highlighted_sections",
             lambda kw: f"at least {kw.get('num_highlights')} sections highlighted with markdown *...*")
def _number_highlights(resp: str, kw: Kwargs, prompt: str) -> bool:
    return len(_HIGHLIGHT_RE.findall(resp)) >= _int(kw, "num_highlights")


@instruction("detectable_format:multiple_sections",
             lambda kw: f"at least {kw.get('num_sections')} sections marked "
                        f"'{kw.get('section_spliter')} 1', '{kw.get('section_spliter')} 2', ...")
def _multiple_sections(resp: str, kw: Kwargs, prompt: str) -> bool:
    spliter = str(_need(kw, "section_spliter")).strip()
    marks = re.findall(r"(?<!\w)" + re.escape(spliter) + r"\s*\d+", resp)
    return len(marks) >= _int(kw, "num_sections")


@instruction("detectable_format:json_format",
             lambda kw: "the whole response is valid JSON (a ```json fence is allowed)")
def _json_format(resp: str, kw: Kwargs, prompt: str) -> bool:
    text = resp.strip()
    fenced = re.fullmatch(r"```[a-zA-Z]*\s*\n?(.*?)\n?\s*```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1).strip()
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@instruction("detectable_format:title", lambda kw: "include a title wrapped in <<double angular brackets>>")
def _title(resp: str, kw: Kwargs, prompt: str) -> bool:
    return any(t.strip() for t in re.findall(r"<<([^<>\n]+)>>", resp))


# --- combination ----------------------------------------------------------------------------


@instruction("combination:two_responses",
             lambda kw: "give two different responses separated by ******")
def _two_responses(resp: str, kw: Kwargs, prompt: str) -> bool:
    parts = [p.strip() for p in re.split(r"\*{6}", resp)]
    while parts and not parts[0]:
        parts.pop(0)
    while parts and not parts[-1]:
        parts.pop()
    return len(parts) == 2 and all(parts) and parts[0] != parts[1]


@instruction("combination:repeat_prompt",
             lambda kw: "first repeat the request word for word, then answer")
def _repeat_prompt(resp: str, kw: Kwargs, prompt: str) -> bool:
    target = " ".join(str(_need(kw, "prompt_to_repeat")).split()).lower()
    return " ".join(resp.split()).lower().startswith(target)


# --- start / end ----------------------------------------------------------------------------


@instruction("startend:end_checker",
             lambda kw: f"end with the exact phrase '{kw.get('end_phrase')}'")
def _end_checker(resp: str, kw: Kwargs, prompt: str) -> bool:
    phrase = " ".join(str(_need(kw, "end_phrase")).split()).lower()
    tail = " ".join(resp.split()).lower().rstrip("*_ ")
    return tail.endswith(phrase)


@instruction("startend:quotation", lambda kw: "wrap the entire response in double quotation marks")
def _quotation(resp: str, kw: Kwargs, prompt: str) -> bool:
    text = resp.strip()
    return len(text) > 1 and text[0] in "\"“" and text[-1] in "\"”"


# --- case -----------------------------------------------------------------------------------


@instruction("change_case:capital_word_frequency",
             lambda kw: "words in ALL CAPS appear "
                        + _rel_text(kw.get("capital_relation"), kw.get("capital_frequency"), "times"))
def _capital_word_frequency(resp: str, kw: Kwargs, prompt: str) -> bool:
    caps = [w for w in words(resp) if w.isupper()]
    return _compare(len(caps), _need(kw, "capital_relation"), _int(kw, "capital_frequency"))


def _is_english(text: str) -> bool:
    return detect_language(text) == "en"


@instruction("change_case:english_capital", lambda kw: "respond in English, all capital letters")
def _english_capital(resp: str, kw: Kwargs, prompt: str) -> bool:
    return resp.isupper() and _is_english(resp)


@instruction("change_case:english_lowercase", lambda kw: "respond in English, all lowercase letters")
def _english_lowercase(resp: str, kw: Kwargs, prompt: str) -> bool:
    return resp.islower() and _is_english(resp)


# --- punctuation ----------------------------------------------------------------------------


@instruction("punctuation:no_comma", lambda kw: "use no commas")
def _no_comma(resp: str, kw: Kwargs, prompt: str) -> bool:
    return "," not in resp and "，" not in resp
