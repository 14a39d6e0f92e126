"""Verifiable math pairs from GSM8K (`question, answer` ending in `#### N`) and MATH (`problem, solution`).

good = the reference solution, cleaned (GSM8K calculator annotations `<<48/2=24>>` removed) and ending
in a clear final answer; bad = the same text with a minimal perturbation that makes the final answer
wrong (`gsm8k_perturb` carries a changed step into the answer; `boxed_perturb` changes the boxed
answer). Proof at build time, the same check the runtime's `math_answer` verifier makes:
`answers_match(good, reference)` and not `answers_match(bad, reference)`.

With `generate` (a callable from prompts to sampled solutions, e.g. backed by a model),
`sampled_pairs` adds pairs whose bad candidate is a sampled solution with a wrong final answer.

Resources: reference = the final answer (bare when the extractor reads it back unchanged, else
wrapped in `\\boxed{}`), metadata {"answer": the final answer}.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from data.builders import boxed_perturb, gsm8k_perturb
from data.builders._common import PairFactory, build_rows, content_id, fail_proof, open_rows, row_rng
from data.sources._common import fail, req_str
from model.jsonl import Rejects
from model.records import JudgeTask, Resources
from model.verifiers.math import answers_match, extract_answer, is_equivalent

GSM8K_HUB = ("openai/gsm8k", "main", "train")
# How the final answer is stated after the worked solution (picked per problem; both candidates share it).
ANSWER_LINES = (
    "#### {a}",
    "The answer is {a}.",
    "Final answer: {a}",
    "Therefore, the final answer is $\\boxed{{{a}}}$.",
)

Generate = Callable[[list[str]], list[str]]


def build_gsm8k(
    path: str | Path | None = None,
    *,
    limit: int | None = None,
    seed: int = 0,
    split: str | None = None,
    heldout_fraction: float = 0.1,
    rejects: Rejects | None = None,
    max_pairs_per_row: int = 1,
    generate: Generate | None = None,
) -> list[JudgeTask]:
    """GSM8K pairs; `path` is a local JSON/JSONL file or a Hub id (None: openai/gsm8k main/train)."""
    factory = PairFactory(
        source="gsm8k", builder="gsm8k", domain="math", split=split, heldout_fraction=heldout_fraction
    )
    label, rows = open_rows(path, GSM8K_HUB, "gsm8k")

    def parse(row: dict[str, Any], rownum: int) -> list[JudgeTask]:
        return gsm8k_pairs(row, rownum, factory, seed, max_pairs_per_row)

    tasks = build_rows(label, rows, parse, rejects, limit)
    return tasks + (sampled_pairs(tasks, generate) if generate else [])


def build_math(
    path: str | Path,
    *,
    limit: int | None = None,
    seed: int = 0,
    split: str | None = None,
    heldout_fraction: float = 0.1,
    rejects: Rejects | None = None,
    max_pairs_per_row: int = 1,
    generate: Generate | None = None,
) -> list[JudgeTask]:
    """MATH pairs from a JSON/JSONL file (or a Hub dataset) with `problem, solution` rows."""
    factory = PairFactory(
        source="math", builder="math", domain="math", split=split, heldout_fraction=heldout_fraction
    )
    label, rows = open_rows(path, None, "math")

    def parse(row: dict[str, Any], rownum: int) -> list[JudgeTask]:
        return math_pairs(row, rownum, factory, seed, max_pairs_per_row)

    tasks = build_rows(label, rows, parse, rejects, limit)
    return tasks + (sampled_pairs(tasks, generate) if generate else [])


# --------------------------------------------------------------------------- GSM8K


def gsm8k_pairs(
    row: dict[str, Any], rownum: int, factory: PairFactory, seed: int, max_pairs: int = 1
) -> list[JudgeTask]:
    question = req_str(row, "question")
    answer = req_str(row, "answer")
    if "####" not in answer:
        fail("answer", "has no '#### <final answer>' line")
    body, final = answer.rsplit("####", 1)
    final = final.strip()
    if not final or not body.strip():
        fail("answer", "empty solution or final answer")
    uid = content_id("gsm8k", question)
    if not factory.wanted(uid):
        return []
    rng = row_rng(seed, uid)
    line = rng.choice(ANSWER_LINES)
    good = gsm8k_perturb.strip_annotations(body).rstrip() + "\n" + line.format(a=final)
    resources = math_resources(final)
    prove_good(good, resources.reference, "answer")
    kinds = list(gsm8k_perturb.KINDS)
    rng.shuffle(kinds)
    tasks = []
    for kind in kinds:
        out = gsm8k_perturb.perturb(body, final, question, kind, rng)
        if out is None:
            continue
        new_body, new_final, desc = out
        bad = gsm8k_perturb.strip_annotations(new_body).rstrip() + "\n" + line.format(a=new_final)
        if bad == good or answers_match(bad, resources.reference):
            continue
        tasks.append(
            factory.pair(
                upstream_id=uid,
                variant=kind,
                prompt=question,
                good=good,
                bad=bad,
                perturbation=desc,
                resources=resources,
                extra_meta={"row": rownum},
            )
        )
        if len(tasks) >= max_pairs:
            break
    if not tasks:
        fail_proof(
            "answer",
            "no perturbation applies (no annotated step that can be changed and carried "
            "into the final answer)",
        )
    return tasks


# --------------------------------------------------------------------------- MATH


def math_pairs(
    row: dict[str, Any], rownum: int, factory: PairFactory, seed: int, max_pairs: int = 1
) -> list[JudgeTask]:
    problem = req_str(row, "problem")
    solution = req_str(row, "solution")
    answer = boxed_perturb.last_boxed(solution)
    if answer is None or not answer.strip():
        fail("solution", "has no \\boxed{...} final answer")
    answer = answer.strip()
    uid = content_id("math", problem)
    if not factory.wanted(uid):
        return []
    rng = row_rng(seed, uid)
    good = solution.strip()
    resources = math_resources(answer)
    prove_good(good, resources.reference, "solution")
    kinds = list(boxed_perturb.KINDS)
    rng.shuffle(kinds)
    tasks = []
    for kind in kinds:
        out = boxed_perturb.perturb(good, kind, rng)
        if out is None:
            continue
        bad, desc = out
        if answers_match(bad, resources.reference):
            continue
        meta = {"row": rownum, **{k: row[k] for k in ("level", "type") if isinstance(row.get(k), str)}}
        tasks.append(
            factory.pair(
                upstream_id=uid,
                variant=kind,
                prompt=problem,
                good=good,
                bad=bad,
                perturbation=desc,
                resources=resources,
                extra_meta=meta,
            )
        )
        if len(tasks) >= max_pairs:
            break
    if not tasks:
        fail_proof("solution", f"no perturbation of the answer {answer!r} is provably wrong")
    return tasks


# --------------------------------------------------------------------------- shared


def math_resources(answer: str) -> Resources:
    """reference = the bare answer when the extractor reads it back as itself, else `\\boxed{answer}`."""
    extracted = extract_answer(answer)
    bare = extracted is not None and is_equivalent(extracted, answer) and extracted.strip() == answer.strip()
    reference = answer if bare else f"\\boxed{{{answer}}}"
    return Resources(reference=reference, metadata={"answer": answer})


def prove_good(good: str, reference: str | None, field_name: str) -> None:
    if not reference or not answers_match(good, reference):
        fail_proof(field_name, f"the reference solution does not match its own final answer {reference!r}")


def sampled_pairs(tasks: list[JudgeTask], generate: Generate, n_samples: int = 1) -> list[JudgeTask]:
    """Pairs (reference solution, a sampled solution with a wrong final answer), one prompt per problem."""
    firsts: dict[str, JudgeTask] = {}
    for t in tasks:
        firsts.setdefault(t.meta["upstream_id"], t)
    base = list(firsts.values())
    prompts = [t.prompt_text for t in base for _ in range(n_samples)]
    outputs = generate(prompts) if prompts else []
    if len(outputs) != len(prompts):
        raise ValueError(f"generate returned {len(outputs)} responses for {len(prompts)} prompts")
    out = []
    for i, sample in enumerate(outputs):
        t = base[i // n_samples]
        wrong = extract_answer(sample)
        if not isinstance(sample, str) or wrong is None or answers_match(sample, t.resources.reference or ""):
            continue
        meta = {
            **t.meta,
            "variant": f"sampled-{i % n_samples}",
            "perturbation": f"sampled: final answer {wrong}",
        }
        out.append(
            JudgeTask(
                id=f"{t.meta['upstream_id']}#sampled-{i % n_samples}",
                source=t.source,
                kind="pairwise",
                prompt=t.prompt,
                candidates=[t.candidates[0], sample],
                gold=0,
                domain=t.domain,
                resources=t.resources,
                meta=meta,
            )
        )
    return out
