"""Minimal wrong-answer perturbations of solutions whose answer is the last `\\boxed{...}` (MATH).

Only the boxed final answer changes, as a slip in the last step would change it; the derivation is
left identical. Perturbations (each applies only to answers of the right shape):

- off_by_one:  one number of the answer is one more or less (the last digit for decimals);
- sign_flip:   a leading minus sign is added or removed;
- reciprocal:  a single fraction is turned upside down;
- wrong_choice: a multiple-choice letter (A)-(E) becomes another letter.

The caller proves the result with the math verifier (a perturbation can be an equivalent answer, e.g.
flipping the sign of 0, and is then dropped).
"""

from __future__ import annotations

import random
import re

KINDS = ("off_by_one", "sign_flip", "reciprocal", "wrong_choice")

_BOX_RE = re.compile(r"\\boxed\s*\{")
_NUM_RE = re.compile(r"\d+(?:\.\d+)?")
_FRAC_RE = re.compile(r"^(-?)\\([dt]?frac)\{([^{}]+)\}\{([^{}]+)\}$")
_CHOICE_RE = re.compile(r"^\(?(\\text\{)?\(?([A-E])\)?(\})?\)?$")


def last_boxed_span(text: str) -> tuple[int, int] | None:
    """(start, end) of the content of the last `\\boxed{...}` (nested braces allowed)."""
    found = None
    for m in _BOX_RE.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if text[i] == "{" and text[i - 1] != "\\":
                depth += 1
            elif text[i] == "}" and text[i - 1] != "\\":
                depth -= 1
            i += 1
        if depth == 0:
            found = (m.end(), i - 1)
    return found


def last_boxed(text: str) -> str | None:
    span = last_boxed_span(text)
    return text[span[0] : span[1]] if span else None


def perturb(solution: str, kind: str, rng: random.Random) -> tuple[str, str] | None:
    """(new solution, description) or None when `kind` does not apply to this answer."""
    span = last_boxed_span(solution)
    if span is None:
        return None
    answer = solution[span[0] : span[1]]
    new = _perturb_answer(answer.strip(), kind, rng)
    if new is None or new == answer.strip():
        return None
    return solution[: span[0]] + new + solution[span[1] :], f"{kind}: boxed answer {answer.strip()} -> {new}"


def _perturb_answer(answer: str, kind: str, rng: random.Random) -> str | None:
    if kind == "off_by_one":
        return _off_by_one(answer, rng)
    if kind == "sign_flip":
        # a negative count or length is an implausible slip: flip only signed answers and expressions
        if "," in answer or re.match(r"^[\[(]", answer) or not re.search(r"\d|\\pi|\\sqrt|[a-z]", answer):
            return None
        if answer.startswith("-"):
            return answer[1:].lstrip()
        return None if re.fullmatch(r"[\d.]+", answer) else "-" + answer
    if kind == "reciprocal":
        m = _FRAC_RE.match(answer)
        if not m or m.group(3) == m.group(4):
            return None
        return f"{m.group(1)}\\{m.group(2)}{{{m.group(4)}}}{{{m.group(3)}}}"
    if kind == "wrong_choice":
        m = _CHOICE_RE.match(answer)
        if not m:
            return None
        other = rng.choice([c for c in "ABCDE" if c != m.group(2)])
        return answer.replace(m.group(2), other, 1)
    raise ValueError(f"unknown perturbation {kind!r}; expected one of {KINDS}")


def _off_by_one(answer: str, rng: random.Random) -> str | None:
    # numbers inside \text{...}, exponents and subscripts would make an odd slip; skip them
    masked = re.sub(r"\\text\{[^}]*\}|[\^_]\{?\d+\}?", lambda m: "#" * len(m.group(0)), answer)
    nums = list(_NUM_RE.finditer(masked))
    if not nums:
        return None
    m = rng.choice(nums)
    tok = m.group(0)
    delta = rng.choice((1, -1))
    if "." in tok:
        decimals = len(tok.split(".")[1])
        new_value = round(float(tok) + delta * 10**-decimals, decimals)
        if new_value < 0:
            new_value = round(float(tok) + 10**-decimals, decimals)
        new_tok = f"{new_value:.{decimals}f}"
    else:
        value = int(tok)
        if value >= 10**6:  # the verifier's relative tolerance would call a +-1 slip equal
            delta *= 10 ** (len(tok) - 4)
        new_int = value + delta
        if new_int < 0 or (new_int == 0 and _is_divisor(masked, m)):
            new_int = value + 1
        new_tok = str(new_int)
    return answer[: m.start()] + new_tok + answer[m.end() :]


def _is_divisor(masked: str, m: re.Match) -> bool:
    """A denominator (second group of \\frac or after '/') must not become 0."""
    before = masked[: m.start()]
    return before.endswith("/") or re.search(r"\\[dt]?frac\{[^{}]*\}\{\s*$", before) is not None
