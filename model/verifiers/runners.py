"""The runners behind `run_resource`: each adapts one evidence module to VerifierInput/Result.

With the sample's resources: math_answer, code_tests, instruction_checks, reference_match,
checklist_score. From the visible text alone (the fair settings too): math_extract, arithmetic_steps,
stated_constraints, prompt_examples (and code_tests / instruction_checks / checklist_score with the
judge's own arguments).
"""
from __future__ import annotations

import ast
import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from model.verifiers import checklist as cl
from model.verifiers import ifeval
from model.verifiers.arithmetic import check_solutions
from model.verifiers.base import VerifierError, VerifierInput, VerifierResult, register, separating
from model.verifiers.code import extract_code, run_tests
from model.verifiers.examples import asserts_from_examples
from model.verifiers.math import extract_answer, is_equivalent
from model.verifiers.reference import compare_to_reference
from model.verifiers.stated import stated_constraints

CODE_TIMEOUT_S = 10.0


def _as_text(value: Any, runner: str, name: str) -> str:
    if not isinstance(value, str):
        raise VerifierError(f"{runner}: '{name}' must be text, got {type(value).__name__}")
    return value


def _labels(labels: list[str]) -> str:
    return ", ".join(labels) if labels else "none"


# --- math -----------------------------------------------------------------------------------


@register("math_answer")
def math_answer(inp: VerifierInput) -> VerifierResult:
    reference = _as_text(inp.require("reference", "math_answer"), "math_answer", "reference")
    ref_answer = extract_answer(reference)
    if ref_answer is None:
        raise VerifierError("math_answer: no final answer could be extracted from the reference")
    per = {}
    for label, text in inp.candidates.items():
        answer = extract_answer(text)
        per[label] = {"final_answer": answer, "matches_reference": is_equivalent(answer, ref_answer)}
    matched = [lab for lab, f in per.items() if f["matches_reference"]]
    missing = [lab for lab, f in per.items() if f["final_answer"] is None]
    summary = f"reference answer: {ref_answer}; matching the reference: {_labels(matched)}"
    if missing:
        summary += f"; no final answer found in {_labels(missing)}"
    decisive, good = separating({lab: f["matches_reference"] for lab, f in per.items()})
    return VerifierResult("math_answer", per, summary, decisive, good)


@register("math_extract")
def math_extract(inp: VerifierInput) -> VerifierResult:
    answers = {label: extract_answer(text) for label, text in inp.candidates.items()}
    per: dict[str, dict[str, Any]] = {}
    for label, answer in answers.items():
        agree = [other for other, a in answers.items()
                 if other != label and answer is not None and is_equivalent(answer, a)]
        per[label] = {"final_answer": answer, "agrees_with": agree}
    found = [lab for lab, a in answers.items() if a is not None]
    if len(found) < len(answers):
        missing = [lab for lab in answers if lab not in found]
        summary = f"no final answer found in {_labels(missing)}"
    elif all(len(f["agrees_with"]) == len(answers) - 1 for f in per.values()):
        summary = f"all candidates give the same final answer ({next(iter(answers.values()))})"
    else:
        summary = "candidates give different final answers: " + ", ".join(
            f"{lab}={a}" for lab, a in answers.items())
    return VerifierResult("math_extract", per, summary + " (no reference: agreement is not correctness)",
                          decisive=False)


@register("arithmetic_steps")
def arithmetic_steps(inp: VerifierInput) -> VerifierResult:
    """Recomputes each candidate's written calculations and checks its use of the question's quantities."""
    per = check_solutions(inp.prompt, inp.candidates)
    for label, text in inp.candidates.items():
        per[label]["final_answer"] = extract_answer(text)
    unchecked = [lab for lab, f in per.items() if not f["steps_checked"]]
    wrong = {lab: bool(f["wrong_steps"]) for lab, f in per.items()}
    quantity = {lab: bool(f["unused_quantities"] or f["reused_quantities"]) for lab, f in per.items()}
    decisive, good = False, []
    if not unchecked:
        for failing in (wrong, quantity):  # a wrong calculation outweighs a quantity-use difference
            decisive, good = separating({lab: not bad for lab, bad in failing.items()})
            if decisive:
                break
    if unchecked:
        summary = f"no written calculation to check in {_labels(unchecked)}"
    else:
        summary = ("wrong calculations: " + _labels([lab for lab, w in wrong.items() if w])
                   + "; a question quantity dropped or used twice: "
                   + _labels([lab for lab, q in quantity.items() if q]))
    return VerifierResult("arithmetic_steps", per, summary, decisive, good)


# --- code -----------------------------------------------------------------------------------


def _defined_functions(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _infer_entry_point(code: str, prompt: str) -> str | None:
    """For check(candidate) tests without an entry point: the one function the code defines, or the
    one of them that the prompt names."""
    names = _defined_functions(code)
    if len(names) == 1:
        return names[0]
    named = [n for n in names if re.search(rf"\b{re.escape(n)}\s*\(", prompt)]
    return named[0] if len(named) == 1 else None


@register("code_tests")
def code_tests(inp: VerifierInput) -> VerifierResult:
    tests = _as_text(inp.require("tests", "code_tests"), "code_tests", "tests")
    entry_point = inp.resources.metadata.get("entry_point") or (inp.args or {}).get("entry_point")
    needs_entry = re.search(r"^def\s+check\s*\(", tests, re.MULTILINE) is not None
    try:
        from model.sandbox import run_python  # noqa: F401
    except ImportError as e:
        raise VerifierError(f"code_tests: the sandbox is not available ({e})") from e

    def one(text: str) -> dict[str, Any]:
        code = extract_code(text, entry_point)
        ep = entry_point or (_infer_entry_point(code, inp.prompt) if needs_entry else None)
        if needs_entry and not ep and code:
            return {"passed": False, "error": "cannot tell which function check() should call "
                    "(give metadata.entry_point or args.entry_point)", "timed_out": False}
        outcome = run_tests(code, tests, ep, timeout_s=CODE_TIMEOUT_S, allow_weak_isolation=inp.allow_weak_isolation)
        return {"passed": outcome.passed, "error": outcome.error, "timed_out": outcome.timed_out}

    # candidates run concurrently: each is its own sandboxed process, so time limits overlap
    try:
        with ThreadPoolExecutor(max_workers=min(4, len(inp.candidates))) as pool:
            per = dict(zip(inp.candidates, pool.map(one, inp.candidates.values()), strict=True))
    except RuntimeError as e:  # SandboxError: the sandbox itself could not run (never the code's fault)
        raise VerifierError(f"code_tests: the sandbox failed to run ({e})") from e
    passed = [lab for lab, f in per.items() if f["passed"]]
    failed = [lab for lab in per if lab not in passed]
    summary = f"tests passed: {_labels(passed)}; failed: {_labels(failed)}"
    decisive, good = separating({lab: f["passed"] for lab, f in per.items()})
    return VerifierResult("code_tests", per, summary, decisive, good)


@register("prompt_examples")
def prompt_examples(inp: VerifierInput) -> VerifierResult:
    """The input/output examples stated in the prompt, run as tests on each candidate's code."""
    tests = asserts_from_examples(inp.prompt)
    if tests is None:
        per = {lab: {"passed": None} for lab in inp.candidates}
        return VerifierResult("prompt_examples", per, "the prompt states no input/output examples to run")
    res = code_tests(VerifierInput(prompt=inp.prompt, candidates=inp.candidates, args={"tests": tests},
                                   allow_weak_isolation=inp.allow_weak_isolation))
    n = len(tests.splitlines())
    return VerifierResult("prompt_examples", res.per_candidate, f"{n} examples from the prompt; {res.summary}",
                          res.decisive, res.favours)


# --- instruction following ------------------------------------------------------------------


def _constraints(raw: Any) -> list[dict[str, Any]]:
    """Accepts [{id, kwargs}], bare ids, IFEval rows ({instruction_id_list, kwargs}) or JSON text."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise VerifierError("instruction_checks: constraints must be a JSON list of {id, kwargs}") \
                from None
    if isinstance(raw, dict) and "instruction_id_list" in raw:
        kwargs = raw.get("kwargs") or [{}] * len(raw["instruction_id_list"])
        if len(kwargs) != len(raw["instruction_id_list"]):
            raise VerifierError("instruction_checks: instruction_id_list and kwargs differ in length")
        raw = [{"id": i, "kwargs": k} for i, k in zip(raw["instruction_id_list"], kwargs, strict=True)]
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise VerifierError("instruction_checks: constraints must be a list of {id, kwargs}")
    out = []
    for c in raw:
        if isinstance(c, str):
            c = {"id": c, "kwargs": {}}
        if not isinstance(c, dict) or not isinstance(c.get("id"), str):
            raise VerifierError(f"instruction_checks: bad constraint {c!r}; expected {{id, kwargs}}")
        if c.get("kwargs") is not None and not isinstance(c["kwargs"], dict):
            raise VerifierError(f"instruction_checks: kwargs of {c['id']} must be an object")
        out.append({"id": c["id"], "kwargs": c.get("kwargs") or {}})
    unknown = [c["id"] for c in out if c["id"] not in ifeval.INSTRUCTIONS]
    if unknown:
        raise VerifierError(f"instruction_checks: unknown instruction ids {unknown}; known: "
                            + ", ".join(sorted(ifeval.INSTRUCTIONS)))
    return out


@register("instruction_checks")
def instruction_checks(inp: VerifierInput) -> VerifierResult:
    constraints = _constraints(inp.require("constraints", "instruction_checks"))
    per = _check_constraints(constraints, inp, "instruction_checks")
    return _constraint_result("instruction_checks", per, len(constraints))


def _check_constraints(constraints: list[dict[str, Any]], inp: VerifierInput, runner: str) -> dict[str, Any]:
    per = {}
    for label, text in inp.candidates.items():
        failed = []
        for c in constraints:
            try:
                ok = ifeval.check(c["id"], c["kwargs"], text, inp.prompt)
            except ValueError as e:
                raise VerifierError(f"{runner}: constraint {c['id']}: {e}") from e
            if not ok:
                failed.append(f"{c['id']} ({ifeval.describe(c['id'], c['kwargs'])})")
        per[label] = {"passed": f"{len(constraints) - len(failed)}/{len(constraints)}",
                      "all_passed": not failed, "failed": failed}
    return per


def _constraint_result(runner: str, per: dict[str, Any], n: int, prefix: str = "") -> VerifierResult:
    counts = {lab: n - len(f["failed"]) for lab, f in per.items()}
    summary = prefix + f"{n} constraints; passed: " + ", ".join(f"{lab} {k}/{n}" for lab, k in counts.items())
    best = max(counts.values()) if counts else 0
    decisive = len(set(counts.values())) > 1
    return VerifierResult(runner, per, summary, decisive, [lab for lab, k in counts.items() if k == best])


@register("stated_constraints")
def stated_constraints_check(inp: VerifierInput) -> VerifierResult:
    """The explicit constraints the prompt's own text states, parsed into IFEval checks and run."""
    constraints = stated_constraints(inp.prompt)
    if not constraints:
        per = {lab: {"passed": None} for lab in inp.candidates}
        return VerifierResult("stated_constraints", per, "the prompt states no constraint this checker can parse")
    per = _check_constraints(constraints, inp, "stated_constraints")
    stated = "; ".join(ifeval.describe(c["id"], c["kwargs"]) for c in constraints)
    return _constraint_result("stated_constraints", per, len(constraints), prefix=f"stated in the prompt: {stated}. ")


# --- reference ------------------------------------------------------------------------------


@register("reference_match")
def reference_match(inp: VerifierInput) -> VerifierResult:
    reference = _as_text(inp.require("reference", "reference_match", from_args=False),
                         "reference_match", "reference")
    per = {label: compare_to_reference(text, reference) for label, text in inp.candidates.items()}
    matched = [lab for lab, f in per.items() if f["matches"]]
    how = "final answer" if any("final_answer_match" in f for f in per.values()) else \
        "normalized exact match or containment"
    summary = f"matching the reference ({how}): {_labels(matched)}; token F1: " + ", ".join(
        f"{lab} {f['token_f1']:.2f}" for lab, f in per.items())
    decisive, good = separating({lab: f["matches"] for lab, f in per.items()})
    return VerifierResult("reference_match", per, summary, decisive, good)


# --- checklist ------------------------------------------------------------------------------


def _checklist(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = [re.sub(r"^\s*(?:[-*]|\d+[.)])\s*", "", ln) for ln in raw.splitlines() if ln.strip()]
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
        raise VerifierError("checklist_score: checklist must be a non-empty list of strings")
    return raw


@register("checklist_score")
def checklist_score(inp: VerifierInput) -> VerifierResult:
    items = _checklist(inp.require("checklist", "checklist_score"))
    marks = (inp.args or {}).get("marks")
    if marks is not None:
        try:
            parsed = cl.parse_marks(marks, len(items), list(inp.candidates))
        except ValueError as e:
            raise VerifierError(f"checklist_score: {e}") from e
        per = {lab: {"score": round(sum(m) / len(m), 3), "satisfied": f"{sum(m):g}/{len(m)}",
                     "unmet_items": [i + 1 for i, v in enumerate(m) if v < 1]}
               for lab, m in parsed.items()}
        summary = f"{len(items)} items, judge's marks: " + ", ".join(
            f"{lab} {f['satisfied']} ({f['score']:.2f})" for lab, f in per.items())
        best = max(f["score"] for f in per.values())
        return VerifierResult("checklist_score", per, summary, decisive=len({f["score"] for f in per.values()}) > 1,
                              favours=[lab for lab, f in per.items() if f["score"] == best])
    per = {}
    for label, text in inp.candidates.items():
        scores = cl.heuristic_scores(items, text)
        covered = sum(s >= cl.COVERED_AT for s in scores)
        per[label] = {"coverage": round(sum(scores) / len(scores), 3),
                      "items_covered": f"{covered}/{len(items)}", "per_item": scores}
    summary = (f"HEURISTIC lexical coverage of {len(items)} items (content-word overlap only, not a "
               "judgement of whether an item is met; pass args.marks to score your own judgement): "
               + ", ".join(f"{lab} {f['coverage']:.2f}" for lab, f in per.items()))
    return VerifierResult("checklist_score", per, summary, decisive=False)
