"""IFEval instruction checkers with the semantics of google-research `instruction_following_eval`.

Each instruction id (e.g. "length_constraints:number_words") maps to a `Checker`: a predicate over
(response, kwargs, prompt) plus a one-line description. `check` is the official strict test
(`test_instruction_following_strict`): a blank response follows nothing, and each predicate is the
official `check_following`, quirks included (keywords are case-insensitive regular expressions
matched anywhere, any line opening with "-" is a bullet, ...); tests/test_verifiers_ifeval.py holds
it to 100% agreement with the official code on the public IFEval responses.

Where the official code would draw a random value for a missing or out-of-range kwarg, `check`
raises ValueError instead (a None value counts as absent); a `letter` that is not an ASCII letter
is counted as given. Beyond the official kwargs (on which the official code raises), a relation may
also be "at most", "more than" or "exactly", and a language any code langdetect knows.
"""
from __future__ import annotations

import collections
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from model.verifiers.ifeval_text import count_sentences, count_words, word_tokenize
from model.verifiers.language import detect_language, langdetect_codes

Kwargs = dict[str, Any]


@dataclass(frozen=True)
class Checker:
    check: Callable[[str, Kwargs, str], bool]  # (response, kwargs, prompt) -> passed
    describe: Callable[[Kwargs], str]


INSTRUCTIONS: dict[str, Checker] = {}

_RELATIONS: dict[str, Callable[[int, int], bool]] = {
    "less than": lambda c, n: c < n,  # official
    "at least": lambda c, n: c >= n,  # official
    "at most": lambda c, n: c <= n,
    "more than": lambda c, n: c > n,
    "exactly": lambda c, n: c == n,
}
CONSTRAINED_ANSWERS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")
# The languages of the official `language:response_language` (instructions_util.LANGUAGE_CODES).
OFFICIAL_LANGUAGES = {
    "en": "English", "es": "Spanish", "pt": "Portuguese", "ar": "Arabic", "hi": "Hindi",
    "fr": "French", "ru": "Russian", "de": "German", "ja": "Japanese", "it": "Italian",
    "bn": "Bengali", "uk": "Ukrainian", "th": "Thai", "ur": "Urdu", "ta": "Tamil", "te": "Telugu",
    "bg": "Bulgarian", "ko": "Korean", "pl": "Polish", "he": "Hebrew", "fa": "Persian",
    "vi": "Vietnamese", "ne": "Nepali", "sw": "Swahili", "kn": "Kannada", "mr": "Marathi",
    "gu": "Gujarati", "pa": "Punjabi", "ml": "Malayalam", "fi": "Finnish",
}


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
    """Whether `response` follows the instruction (official strict mode).

    Raises UnknownInstruction, or ValueError for bad kwargs (whatever the response)."""
    if instruction_id not in INSTRUCTIONS:
        raise UnknownInstruction(instruction_id)
    response = response or ""
    passed = INSTRUCTIONS[instruction_id].check(response, _clean(kwargs), prompt or "")
    return bool(response.strip()) and bool(passed)


def describe(instruction_id: str, kwargs: dict | None) -> str:
    if instruction_id not in INSTRUCTIONS:
        raise UnknownInstruction(instruction_id)
    return INSTRUCTIONS[instruction_id].describe(_clean(kwargs))


# --- kwargs ---------------------------------------------------------------------------------


def _need(kw: Kwargs, name: str) -> Any:
    if name not in kw or kw[name] in ("", []):
        raise ValueError(f"missing kwarg {name!r}")
    return kw[name]


def _str(kw: Kwargs, name: str) -> str:
    value = _need(kw, name)
    if not isinstance(value, str):
        raise ValueError(f"kwarg {name!r} must be a string, got {value!r}")
    return value


def _count(kw: Kwargs, name: str) -> int:
    value = _need(kw, name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"kwarg {name!r} must be an integer, got {value!r}") from None
    if number < 0:
        raise ValueError(f"kwarg {name!r} must not be negative, got {value!r}")
    return number


def _relation(kw: Kwargs, name: str = "relation") -> str:
    relation = str(_need(kw, name)).strip().lower()
    if relation not in _RELATIONS:
        raise ValueError(f"kwarg {name!r} must be one of {list(_RELATIONS)}, got {kw[name]!r}")
    return relation


def _compare(count: int, relation: str, threshold: int) -> bool:
    return _RELATIONS[relation](count, threshold)


def _patterns(kw: Kwargs, name: str) -> list[str]:
    """A list of regular expressions (the official checkers pass keywords to `re` unescaped)."""
    items = _need(kw, name)
    if not isinstance(items, (list, tuple)) or not all(isinstance(x, str) and x for x in items):
        raise ValueError(f"kwarg {name!r} must be a list of non-empty strings, got {items!r}")
    return [_regex(pattern, name) for pattern in items]


def _regex(pattern: str, name: str) -> str:
    try:
        re.compile(pattern)
    except re.error as e:
        raise ValueError(f"kwarg {name!r}: {pattern!r} is not a valid regular expression ({e}); "
                         "the official checker matches it as one") from None
    return pattern


def _relation_text(relation: Any, n: Any, unit: str) -> str:
    return f"{'fewer than' if relation == 'less than' else relation} {n} {unit}"


def _quoted(items: Any) -> str:
    return ", ".join(f"'{x}'" for x in items) if isinstance(items, (list, tuple)) else repr(items)


# --- keywords -------------------------------------------------------------------------------


@instruction("keywords:existence",
             lambda kw: f"include the keywords {_quoted(kw.get('keywords'))} (any case, also "
                        "inside longer words)")
def _keywords_existence(resp: str, kw: Kwargs, prompt: str) -> bool:
    return all(re.search(k, resp, re.IGNORECASE) for k in _patterns(kw, "keywords"))


@instruction("keywords:frequency",
             lambda kw: f"'{kw.get('keyword')}' (any case, also inside longer words) appears "
                        + _relation_text(kw.get("relation"), kw.get("frequency"), "times"))
def _keyword_frequency(resp: str, kw: Kwargs, prompt: str) -> bool:
    keyword = _regex(_str(kw, "keyword").strip(), "keyword")
    occurrences = len(re.findall(keyword, resp, re.IGNORECASE))
    return _compare(occurrences, _relation(kw), _count(kw, "frequency"))


@instruction("keywords:forbidden_words",
             lambda kw: f"do not use the words {_quoted(kw.get('forbidden_words'))}")
def _forbidden_words(resp: str, kw: Kwargs, prompt: str) -> bool:
    words = _patterns(kw, "forbidden_words")
    return not any(re.search(r"\b" + w + r"\b", resp, re.IGNORECASE) for w in words)


@instruction("keywords:letter_frequency",
             lambda kw: f"the letter '{kw.get('letter')}' (any case) appears "
                        + _relation_text(kw.get("let_relation"), kw.get("let_frequency"), "times"))
def _letter_frequency(resp: str, kw: Kwargs, prompt: str) -> bool:
    letter = _str(kw, "letter")
    if len(letter) != 1:
        raise ValueError(f"kwarg 'letter' must be one character, got {letter!r}")
    # the official code swaps a non-letter ('#', '!' in two IFEval prompts) for a random letter;
    # here the character the prompt names is counted
    count = collections.Counter(resp.lower())[letter.lower()]
    return _compare(count, _relation(kw, "let_relation"), _count(kw, "let_frequency"))


# --- language -------------------------------------------------------------------------------


def _language(kw: Kwargs) -> str:
    language = _need(kw, "language")
    if language not in langdetect_codes():  # a superset of the official codes
        raise ValueError(f"kwarg 'language' must be one of langdetect's codes {langdetect_codes()}, "
                         f"got {language!r}")
    return language


@instruction("language:response_language",
             lambda kw: f"respond only in {OFFICIAL_LANGUAGES.get(kw.get('language'), kw.get('language'))}")
def _response_language(resp: str, kw: Kwargs, prompt: str) -> bool:
    language = _language(kw)
    detected = detect_language(resp)
    return detected is None or detected == language  # undetectable counts as followed (official)


# --- length ---------------------------------------------------------------------------------


@instruction("length_constraints:number_sentences",
             lambda kw: _relation_text(kw.get("relation"), kw.get("num_sentences"), "sentences"))
def _number_sentences(resp: str, kw: Kwargs, prompt: str) -> bool:
    return _compare(count_sentences(resp), _relation(kw), _count(kw, "num_sentences"))


@instruction("length_constraints:number_paragraphs",
             lambda kw: f"exactly {kw.get('num_paragraphs')} paragraphs separated by '***'")
def _number_paragraphs(resp: str, kw: Kwargs, prompt: str) -> bool:
    expected = _count(kw, "num_paragraphs")
    paragraphs = re.split(r"\s?\*\*\*\s?", resp)
    count = len(paragraphs)
    for index, paragraph in enumerate(paragraphs):
        if not paragraph.strip():
            if index in (0, len(paragraphs) - 1):
                count -= 1
            else:
                return False  # an empty paragraph between two dividers
    return count == expected


@instruction("length_constraints:number_words",
             lambda kw: _relation_text(kw.get("relation"), kw.get("num_words"), "words"))
def _number_words(resp: str, kw: Kwargs, prompt: str) -> bool:
    return _compare(count_words(resp), _relation(kw), _count(kw, "num_words"))


_FIRST_WORD_STOP = set(".,?!'\"")


@instruction("length_constraints:nth_paragraph_first_word",
             lambda kw: f"exactly {kw.get('num_paragraphs')} paragraphs separated by blank lines, "
                        f"paragraph {kw.get('nth_paragraph')} starting with '{kw.get('first_word')}'")
def _nth_paragraph_first_word(resp: str, kw: Kwargs, prompt: str) -> bool:
    expected, nth = _count(kw, "num_paragraphs"), _count(kw, "nth_paragraph")
    if not 1 <= nth <= expected:
        raise ValueError(f"kwarg 'nth_paragraph' must be in 1..{expected}, got {nth}")
    first_word = _str(kw, "first_word").lower()
    paragraphs = resp.split("\n\n")
    count = sum(1 for p in paragraphs if p.strip())
    # as in the official code, nth indexes the split list, empty pieces included
    if nth > count or not paragraphs[nth - 1].strip():
        return False
    word = paragraphs[nth - 1].split()[0].lstrip("'").lstrip('"')
    head = ""
    for letter in word:
        if letter in _FIRST_WORD_STOP:
            break
        head += letter.lower()
    return count == expected and head == first_word


# --- detectable content ---------------------------------------------------------------------


@instruction("detectable_content:number_placeholders",
             lambda kw: f"at least {kw.get('num_placeholders')} placeholders in square brackets "
                        "like [address]")
def _number_placeholders(resp: str, kw: Kwargs, prompt: str) -> bool:
    return len(re.findall(r"\[.*?\]", resp)) >= _count(kw, "num_placeholders")


@instruction("detectable_content:postscript",
             lambda kw: f"add a postscript starting with '{kw.get('postscript_marker')}'")
def _postscript(resp: str, kw: Kwargs, prompt: str) -> bool:
    marker = _str(kw, "postscript_marker").strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = _regex(r"\s*" + marker.lower() + r".*$", "postscript_marker")
    return bool(re.findall(pattern, resp.lower(), flags=re.MULTILINE))


# --- detectable format ----------------------------------------------------------------------


@instruction("detectable_format:number_bullet_lists",
             lambda kw: f"exactly {kw.get('num_bullets')} markdown bullet points ('* ' or '- ')")
def _number_bullets(resp: str, kw: Kwargs, prompt: str) -> bool:
    stars = re.findall(r"^\s*\*[^\*].*$", resp, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", resp, flags=re.MULTILINE)
    return len(stars) + len(dashes) == _count(kw, "num_bullets")


@instruction("detectable_format:constrained_response",
             lambda kw: "answer with one of: " + " / ".join(CONSTRAINED_ANSWERS))
def _constrained_response(resp: str, kw: Kwargs, prompt: str) -> bool:
    text = resp.strip()
    return any(option in text for option in CONSTRAINED_ANSWERS)


@instruction("detectable_format:number_highlighted_sections",
             lambda kw: f"at least {kw.get('num_highlights')} sections highlighted with markdown, "
                        "i.e. *highlighted section*")
def _number_highlights(resp: str, kw: Kwargs, prompt: str) -> bool:
    singles = [h for h in re.findall(r"\*[^\n\*]*\*", resp) if h.strip("*").strip()]
    doubles = [h for h in re.findall(r"\*\*[^\n\*]*\*\*", resp)
               if h.removeprefix("**").removesuffix("**").strip()]
    return len(singles) + len(doubles) >= _count(kw, "num_highlights")


@instruction("detectable_format:multiple_sections",
             lambda kw: f"at least {kw.get('num_sections')} sections marked "
                        f"'{kw.get('section_spliter')} 1', '{kw.get('section_spliter')} 2', ...")
def _multiple_sections(resp: str, kw: Kwargs, prompt: str) -> bool:
    spliter = _str(kw, "section_spliter").strip()
    pattern = _regex(r"\s?" + spliter + r"\s?\d+\s?", "section_spliter")
    return len(re.split(pattern, resp)) - 1 >= _count(kw, "num_sections")


@instruction("detectable_format:json_format",
             lambda kw: "the whole response is valid JSON (``` fences allowed)")
def _json_format(resp: str, kw: Kwargs, prompt: str) -> bool:
    text = (resp.strip().removeprefix("```json").removeprefix("```Json").removeprefix("```JSON")
            .removeprefix("```").removesuffix("```").strip())
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@instruction("detectable_format:title", lambda kw: "include a title wrapped in <<double angular brackets>>")
def _title(resp: str, kw: Kwargs, prompt: str) -> bool:
    return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", resp))


# --- combination ----------------------------------------------------------------------------


@instruction("combination:two_responses",
             lambda kw: "give two different responses separated by ******")
def _two_responses(resp: str, kw: Kwargs, prompt: str) -> bool:
    parts = resp.split("******")
    answers = []
    for index, part in enumerate(parts):
        if part.strip():
            answers.append(part.strip())
        elif index not in (0, len(parts) - 1):
            return False  # an empty response between two separators
    return len(answers) == 2 and answers[0] != answers[1]


@instruction("combination:repeat_prompt",
             lambda kw: "first repeat the request word for word, then answer")
def _repeat_prompt(resp: str, kw: Kwargs, prompt: str) -> bool:
    target = _str(kw, "prompt_to_repeat")
    return resp.strip().lower().startswith(target.strip().lower())


# --- start / end ----------------------------------------------------------------------------


@instruction("startend:end_checker",
             lambda kw: f"end with the exact phrase '{kw.get('end_phrase')}'")
def _end_checker(resp: str, kw: Kwargs, prompt: str) -> bool:
    phrase = _str(kw, "end_phrase").strip().lower()
    return resp.strip().strip('"').lower().endswith(phrase)


@instruction("startend:quotation", lambda kw: "wrap the entire response in double quotation marks")
def _quotation(resp: str, kw: Kwargs, prompt: str) -> bool:
    text = resp.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'


# --- case -----------------------------------------------------------------------------------


@instruction("change_case:capital_word_frequency",
             lambda kw: "words in ALL CAPS appear "
                        + _relation_text(kw.get("capital_relation"), kw.get("capital_frequency"), "times"))
def _capital_word_frequency(resp: str, kw: Kwargs, prompt: str) -> bool:
    capitals = sum(1 for token in word_tokenize(resp) if token.isupper())
    return _compare(capitals, _relation(kw, "capital_relation"), _count(kw, "capital_frequency"))


def _english_or_undetectable(text: str) -> bool:
    return detect_language(text) in ("en", None)  # undetectable counts as followed (official)


@instruction("change_case:english_capital", lambda kw: "respond in English, all capital letters")
def _english_capital(resp: str, kw: Kwargs, prompt: str) -> bool:
    return resp.isupper() and _english_or_undetectable(resp)


@instruction("change_case:english_lowercase", lambda kw: "respond in English, all lowercase letters")
def _english_lowercase(resp: str, kw: Kwargs, prompt: str) -> bool:
    return resp.islower() and _english_or_undetectable(resp)


# --- punctuation ----------------------------------------------------------------------------


@instruction("punctuation:no_comma", lambda kw: "use no commas (',')")
def _no_comma(resp: str, kw: Kwargs, prompt: str) -> bool:
    return "," not in resp
