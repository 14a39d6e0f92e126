"""Best-of-N candidate sets: the JSONL format, and builders from GSM8K / MATH / HumanEval / MBPP.

Format, one prompt per line:
    {"id", "prompt", "candidates": [...], "scores": [ground-truth score per candidate],
     "answers"?: [extracted final answer per candidate, null where none], "reference"?, "tests"?,
     "entry_point"?, "domain"?}
`reference` / `tests` become the sample resources of the knockout judgments (skill_operational);
scores are never shown to the judge.

Builders (ground truth by verifiers, never by a judge):
- gsm8k / math: the reference solution (score 1) and its provably wrong perturbations (score 0) from the
  data builders (`build_gsm8k` / `build_math`, one pair per perturbation kind), plus, with a generator
  model, sampled solutions scored by final-answer match with the reference; answers = extracted finals.
- humaneval / mbpp: the canonical solution and AST mutants of it (data.builders.mutate), plus sampled
  solutions with a generator; every candidate is scored by running the tests in the sandbox (1 pass, 0 fail).
Sets come from the builders' `split` (default held-out) and are cached in the run folder, so a resumed
run judges the very same candidates.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model.jsonl import Rejects, write_jsonl
from model.records import DOMAINS, JudgeTask, Resources


@dataclass
class CandidateSet:
    id: str
    prompt: str | list[dict[str, Any]]
    candidates: list[str]
    scores: list[float]
    answers: list[Any] | None = None
    reference: str | None = None
    tests: str | None = None
    entry_point: str | None = None
    domain: str = "general"
    meta: dict[str, Any] = field(default_factory=dict)

    def resources(self) -> Resources:
        metadata = {"entry_point": self.entry_point, "language": "python"} if self.entry_point else {}
        return Resources(reference=self.reference, tests=self.tests, metadata=metadata)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {}) or k in ("id", "prompt")}


_FIELDS = {f for f in CandidateSet.__dataclass_fields__}


def parse_set(row: dict[str, Any]) -> CandidateSet:
    """Validates one row; ValueError names the field."""
    if not isinstance(row, dict):
        raise ValueError("row: must be a JSON object")
    unknown = set(row) - _FIELDS - {"source"}
    if unknown:
        raise ValueError(f"field '{sorted(unknown)[0]}': unknown")
    for key in ("id", "prompt", "candidates", "scores"):
        if row.get(key) in (None, "", []):
            raise ValueError(f"field '{key}': missing")
    cands, scores = row["candidates"], row["scores"]
    if (
        not isinstance(cands, list)
        or len(cands) < 2
        or not all(isinstance(c, str) and c.strip() for c in cands)
    ):
        raise ValueError("field 'candidates': must be a list of at least 2 non-empty strings")
    if not isinstance(scores, list) or len(scores) != len(cands):
        raise ValueError(f"field 'scores': must have one number per candidate ({len(cands)})")
    if not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores):
        raise ValueError("field 'scores': must be numbers")
    answers = row.get("answers")
    if answers is not None and (not isinstance(answers, list) or len(answers) != len(cands)):
        raise ValueError(f"field 'answers': must have one entry per candidate ({len(cands)})")
    domain = row.get("domain") or "general"
    if domain not in DOMAINS:
        raise ValueError(f"field 'domain': must be one of {DOMAINS}")
    for key in ("reference", "tests", "entry_point"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise ValueError(f"field '{key}': must be a string")
    prompt = row["prompt"]
    if not isinstance(prompt, (str, list)):
        raise ValueError("field 'prompt': must be text or chat messages")
    meta = dict(row.get("meta") or {})
    if row.get("source"):
        meta.setdefault("source", row["source"])
    return CandidateSet(
        id=str(row["id"]),
        prompt=prompt,
        candidates=list(cands),
        scores=[float(s) for s in scores],
        answers=answers,
        reference=row.get("reference"),
        tests=row.get("tests"),
        entry_point=row.get("entry_point"),
        domain=domain,
        meta=meta,
    )


def load_candidate_sets(path: str | Path, rejects: Rejects | None = None) -> list[CandidateSet]:
    """Reads a candidate-set JSONL; bad rows go to `rejects` (or raise ValueError naming file and row)."""
    out: list[CandidateSet] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                cs = parse_set(json.loads(line))
                if cs.id in seen:
                    raise ValueError(f"field 'id': duplicate {cs.id!r}")
            except (ValueError, json.JSONDecodeError) as e:
                if rejects is None:
                    raise ValueError(f"{path}: row {lineno}: {e}") from e
                rejects.add(path, lineno, str(e), line[:2000])
                continue
            seen.add(cs.id)
            out.append(cs)
    return out


def write_candidate_sets(path: str | Path, sets: list[CandidateSet]) -> None:
    write_jsonl(path, (s.to_dict() for s in sets))


# --------------------------------------------------------------------------- builders


def build_sets(builder: str, src: Any) -> list[CandidateSet]:
    """Candidate sets from an upstream file (`src`: eval.benchmarks.Source; bon options in src.options)."""
    from eval.benchmarks import BenchmarkUnavailable

    opts = src.options
    n = int(opts.get("n", 10))
    try:
        if builder in ("gsm8k", "math"):
            sets = _math_sets(builder, src, n)
        elif builder in ("humaneval", "mbpp"):
            sets = _code_sets(builder, src, n)
        else:
            raise ValueError(f"unknown candidate-set builder {builder!r}")
    except (RuntimeError, ImportError) as e:  # e.g. the sandbox the code builders need is missing
        raise BenchmarkUnavailable(f"bon_{builder}: {e}") from e
    return [s for s in sets if len(s.candidates) >= 2]


def _pairs(builder: str, src: Any, **kw: Any) -> dict[str, list[JudgeTask]]:
    """The builder's verified pairs grouped by upstream problem (load order)."""
    from data.builders import build

    split = src.options.get("split", "heldout")
    tasks = build(builder, src.path, limit=src.limit, seed=src.seed, split=split, rejects=src.rejects, **kw)
    groups: dict[str, list[JudgeTask]] = {}
    for t in tasks:
        groups.setdefault(str(t.meta.get("upstream_id", t.id)), []).append(t)
    return groups


def _math_sets(builder: str, src: Any, n: int) -> list[CandidateSet]:
    from model.verifiers.math import answers_match, extract_answer

    groups = _pairs(builder, src, max_pairs_per_row=max(1, n - 1))
    sets = []
    for uid, tasks in groups.items():
        first = tasks[0]
        cands = _unique([first.candidates[0]] + [t.candidates[1] for t in tasks])
        sets.append(
            CandidateSet(
                id=uid,
                prompt=first.prompt,
                candidates=cands,
                scores=[1.0] + [0.0] * (len(cands) - 1),
                reference=first.resources.reference,
                domain=first.domain,
                meta={"source": builder, "sampled": 0},
            )
        )
    _add_samples(sets, src.options, lambda cs, text: float(answers_match(text, cs.reference or "")))
    for cs in sets:
        cs.answers = [extract_answer(c) for c in cs.candidates]
    return sets


def _code_sets(builder: str, src: Any, n: int) -> list[CandidateSet]:
    from data.builders import mutate
    from data.builders.code import fence
    from model.verifiers.code import extract_code

    groups = _pairs(builder, src)
    sets = []
    for uid, tasks in groups.items():
        t = tasks[0]
        entry = t.resources.metadata.get("entry_point")
        code = extract_code(t.candidates[0], entry)
        cands = [t.candidates[0], t.candidates[1]]
        rng = random.Random(f"{src.seed}\x00bon-mutants\x00{uid}")
        for _, mutant in mutate.mutants(code, rng):
            if len(cands) >= n:
                break
            cands = _unique(cands + [fence(mutant)])
        cs = CandidateSet(
            id=uid,
            prompt=t.prompt,
            candidates=cands,
            scores=[],
            tests=t.resources.tests,
            entry_point=entry,
            domain="code",
            meta={"source": builder, "sampled": 0},
        )
        cs.scores = [_test_score(cs, c) for c in cands]
        sets.append(cs)
    _add_samples(sets, src.options, _test_score)
    return sets


def _test_score(cs: CandidateSet, text: str) -> float:
    from model.verifiers.code import extract_code, run_tests

    return float(run_tests(extract_code(text, cs.entry_point), cs.tests or "", None, timeout_s=5.0).passed)


def _add_samples(sets: list[CandidateSet], opts: dict[str, Any], score: Any) -> None:
    """Appends `generator_samples` sampled solutions per prompt (scored by `score`), given a generator."""
    if not opts.get("generator") or not sets:
        return
    from eval.generate import sample_solutions

    samples = sample_solutions([cs.prompt for cs in sets], opts)
    for cs, texts in zip(sets, samples, strict=True):
        new = [t for t in _unique(texts) if t.strip() and t not in cs.candidates]
        cs.candidates += new
        cs.scores += [score(cs, t) for t in new]
        cs.meta["sampled"] = len(new)


def _unique(texts: list[str]) -> list[str]:
    seen: set[str] = set()
    return [t for t in texts if not (t in seen or seen.add(t))]
