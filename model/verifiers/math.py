"""Final-answer extraction and equivalence for math responses.

Extraction order (the first rule that fires wins; within a rule the last occurrence wins):
`\\boxed{...}` / `\\fbox{...}` (nested braces), GSM8K `#### 42`, "the (final) answer is X" /
"Final answer: X", the whole text when it is a bare answer ("x = 3", "\\frac{1}{2}"), the last number.
Equivalence: normalized string equality, numeric tolerance, then math-verify (sympy) on both sides.
"""
from __future__ import annotations

import math
import re
import threading

import sympy
from math_verify import parse, verify

_MAX_ANSWER_CHARS = 400  # math-verify runs without a timeout off the main thread; bound its input
_TIMEOUT_S = 5
_MAX_BITS = 1_000_000  # sympy evaluates integer powers exactly: 2^{2^{100}} would never finish

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*")
_GSM_RE = re.compile(r"####\s*([^\n]+)")
_PHRASE_RE = re.compile(r"(?:final answer|the answer|answer)\s*(?:is|:|=)\s*:?", re.IGNORECASE)
_NUMBER_RE = re.compile(r"(?:(?<![\w)\]}])-)?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
_PLAIN_NUMBER_RE = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:/\d+)?$")
_LATEX_CMD_RE = re.compile(r"\\[a-zA-Z]+")
_NOT_ANSWERS = set(
    "the an that this not to be as in of we it is correct incorrect wrong right follows below "
    "above clear simple obvious given still now then indeed unclear".split()
)


def extract_answer(text: str | None) -> str | None:
    """The final answer stated in `text`, cleaned (no $, commas, trailing units), or None."""
    if not text or not text.strip():
        return None
    for finder in (_last_boxed, _last_gsm8k, _last_phrase, _bare_answer, _last_number):
        found = finder(text)
        if found is not None:
            cleaned = clean_answer(found)
            if cleaned:
                return cleaned
    return None


def _last_boxed(text: str) -> str | None:
    found = None
    for m in _BOX_RE.finditer(text):
        start = m.end()
        if start < len(text) and text[start] == "{":
            content = _braced(text, start)
            if content is not None:
                found = content
        else:  # \boxed 5
            tok = re.match(r"[^\s$]+", text[start:])
            if tok:
                found = tok.group(0)
    return found


def _braced(text: str, open_idx: int) -> str | None:
    """Content of the brace group opening at `open_idx`, honouring nesting; None if unbalanced."""
    depth = 0
    for i in range(open_idx, len(text)):
        ch = text[i]
        if ch == "{" and text[i - 1 : i] != "\\":
            depth += 1
        elif ch == "}" and text[i - 1 : i] != "\\":
            depth -= 1
            if depth == 0:
                return text[open_idx + 1 : i]
    return None


def _last_gsm8k(text: str) -> str | None:
    found = _GSM_RE.findall(text)
    return found[-1] if found else None


def _last_phrase(text: str) -> str | None:
    """The last "answer is X" whose X looks like an answer ("the answer is correct" does not)."""
    for m in reversed(list(_PHRASE_RE.finditer(text))):
        lines = [ln.strip() for ln in text[m.end() :].split("\n")]
        tail = next((ln for ln in lines if ln.strip("*_ ")), "")
        math_mode = re.match(r"^\$+([^$]+)\$+", tail) or re.match(r"^\\[(\[](.+?)\\[)\]]", tail)
        if math_mode:
            return math_mode.group(1)
        # cut at the end of the sentence (a period followed by a space, not a decimal point); in
        # prose a trailing "!" is an exclamation, not a factorial
        tail = re.split(r"(?<!\d)\.(?:\s|$)|\.\s", tail, maxsplit=1)[0].rstrip("!")
        first = re.match(r"[*_\s]*([A-Za-z]+)", tail)
        if tail.strip("*_ ") and not (first and first.group(1).lower() in _NOT_ANSWERS):
            return tail
    return None


def _bare_answer(text: str) -> str | None:
    """The whole text when it is just an answer: one short line that is not a sentence around a number
    ("It is 4." is a sentence: its answer is the number; "New York" or "x = 5" are answers)."""
    stripped = text.strip()
    if "\n" in stripped or len(stripped) > 80:
        return None
    no_latex = _LATEX_CMD_RE.sub(" ", re.sub(r"\\text\{[^}]*\}", " ", stripped))
    n_words = len(re.findall(r"[A-Za-z]{2,}", no_latex))
    return stripped if n_words <= (1 if _NUMBER_RE.search(no_latex) else 2) else None


def _last_number(text: str) -> str | None:
    found = _NUMBER_RE.findall(text)
    return found[-1] if found else None


def clean_answer(ans: str) -> str:
    """Strips math delimiters, markdown, currency, thousands separators and trailing units."""
    a = ans.strip()
    a = re.sub(r"^\\[(\[]|\\[)\]]$", "", a).strip()
    a = a.replace("\\$", "").replace("$", "").replace("**", "").strip()
    a = a.rstrip(".;:,?").strip()
    a = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", a)
    a = re.sub(r"(?<=\d)\\[,!;]\s*(?=\d{3})", "", a)  # 1\,000
    a = re.sub(r"(?<=\d)\{,\}(?=\d{3})", "", a)  # 1{,}000
    unit = re.match(r"^([-+]?\d+(?:\.\d+)?(?:/\d+)?)\s*(?:\\(?:text|mbox|mathrm)\{[^}]*\}\s*)+$", a)
    if unit:
        return unit.group(1)
    words = re.match(r"^([-+]?\d+(?:\.\d+)?(?:/\d+)?)\s+[A-Za-z][A-Za-z .'/-]*$", a)
    if words:
        return words.group(1)
    return a


def _normalize(ans: str) -> str:
    a = re.sub(r"\\text\{([^}]*)\}", r"\1", ans)
    a = a.replace("\\left", "").replace("\\right", "").replace("\\!", "").replace("dfrac", "frac")
    a = a.replace("tfrac", "frac").replace("\\,", "").replace(" ", "").lower()
    m = re.fullmatch(r"\(([a-z])\)", a)
    return m.group(1) if m else a


def _as_float(ans: str) -> float | None:
    a = ans.replace(" ", "")
    if not _PLAIN_NUMBER_RE.match(a):
        return None
    if "/" in a:
        num, den = a.split("/")
        return float(num) / float(den) if float(den) != 0 else None
    return float(a)


def _timeout() -> int | None:
    """math-verify's timeout uses SIGALRM, which only works in the main thread."""
    return _TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


def _parse(ans: str) -> list:
    ans = ans[:_MAX_ANSWER_CHARS]
    try:
        parsed = parse(f"${ans}$", parsing_timeout=_timeout())
        return parsed or parse(ans, parsing_timeout=_timeout())
    except Exception:  # math-verify raises a variety of sympy/latex errors on odd input
        return []


def is_equivalent(a: str | None, b: str | None) -> bool:
    """Whether two final answers denote the same value (order-insensitive for sets)."""
    if not a or not b:
        return False
    a, b = clean_answer(a), clean_answer(b)
    if not a or not b:
        return False
    if _normalize(a) == _normalize(b):
        return True
    fa, fb = _as_float(a), _as_float(b)
    if fa is not None and fb is not None:
        if fa.is_integer() and fb.is_integer() and max(abs(fa), abs(fb)) < 2**53:
            return int(fa) == int(fb)  # integers compare exactly: 99940008 is not 99940009
        return math.isclose(fa, fb, rel_tol=1e-6, abs_tol=1e-9)
    pa, pb = _parse(a), _parse(b)
    if not pa or not pb or _too_big(pa) or _too_big(pb):
        return False
    try:
        return bool(verify(pb, pa, timeout_seconds=_timeout()))
    except Exception:
        return False


def _bits(expr: sympy.Basic) -> float:
    """Upper bound on log2 of the integers sympy would build when evaluating `expr`."""
    if isinstance(expr, sympy.Integer):
        return math.log2(abs(int(expr)) + 1)
    if isinstance(expr, sympy.Pow):
        base, exp = _bits(expr.base), _bits(expr.exp)
        return math.inf if exp > 64 else max(base, 1.0) * 2.0**exp
    if isinstance(expr, sympy.factorial):
        n = _bits(expr.args[0])
        return math.inf if n > 24 else 2.0**n * n
    return sum(_bits(a) for a in expr.args) + 1 if expr.args else 0.0


def _too_big(parsed: list) -> bool:
    return any(isinstance(p, sympy.Basic) and _bits(p) > _MAX_BITS for p in parsed)


def answers_match(candidate_text: str, reference_text: str) -> bool:
    """Extracts the final answer of both texts and checks their equivalence."""
    return is_equivalent(extract_answer(candidate_text), extract_answer(reference_text))


def looks_like_math_answer(text: str | None) -> bool:
    """True when `text` states a math-style final answer (boxed, ####, or a short number/expression)."""
    if not text:
        return False
    if _last_boxed(text) is not None or _last_gsm8k(text) is not None:
        return True
    bare = _bare_answer(text)
    return bare is not None and bool(re.search(r"\d|\\[a-zA-Z]+|[=^+*/]", bare))


def states_final_answer(text: str | None) -> bool:
    """True when `text` ends in an explicit final answer (boxed, `#### X`, "the answer is X", "Answer: X")
    that contains a number: the mark of a worked math solution, visible to any judge."""
    if not text:
        return False
    for finder in (_last_boxed, _last_gsm8k, _last_phrase):
        found = finder(text)
        if found is not None and re.search(r"\d", found):
            return True
    return False
