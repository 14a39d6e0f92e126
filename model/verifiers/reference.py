"""Comparison of a response with a reference answer: exact match, containment, token F1, final answer."""
from __future__ import annotations

from collections import Counter
from typing import Any

from model.verifiers.math import extract_answer, is_equivalent, looks_like_math_answer
from model.verifiers.text import normalize


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style bag-of-tokens F1 over normalized text."""
    pred, ref = normalize(prediction).split(), normalize(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def compare_to_reference(candidate: str, reference: str) -> dict[str, Any]:
    """Findings for one candidate. `matches` is the headline: the final-answer match when the
    reference is a math-style answer, else exact match or containment of the normalized reference."""
    cand_n, ref_n = normalize(candidate), normalize(reference)
    out: dict[str, Any] = {
        "exact": bool(ref_n) and cand_n == ref_n,
        "contains_reference": bool(ref_n) and f" {ref_n} " in f" {cand_n} ",
        "token_f1": round(token_f1(candidate, reference), 3),
    }
    if looks_like_math_answer(reference):
        answer = extract_answer(candidate)
        out["final_answer"] = answer
        out["final_answer_match"] = is_equivalent(answer, extract_answer(reference))
        out["matches"] = out["final_answer_match"]
    else:
        out["matches"] = out["exact"] or out["contains_reference"]
    return out
