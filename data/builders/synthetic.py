"""A self-made, license-free, offline, seeded generator of verifiable judging tasks.

Four kinds, each a pairwise task `candidates = [good, bad]`, `gold = 0`, with the gold proved by a
verifier at generation time:
- arithmetic  (domain math): a templated word problem; good = a correct worked solution, bad = the
  same solution with one plausible error carried to a wrong final answer (`synth_arithmetic`);
  proof: `answers_match` against the answer.
- constraints (domain instruction_following): a request with 1-2 IFEval-style constraints; responses
  built from word banks (`synth_constraints`); proof: `ifeval.check` (good passes all, bad fails the
  named one and passes the others).
- constrained_math (domain math): a word problem that also states a format rule; the bad response
  fails either the answer or the rule (`synth_constrained_math`); proof: both checks.
- code (domain code): a small function spec with generated tests and a buggy twin (`synth_code`);
  three prompts in four state 3 input/output examples; proof: the tests in the sandbox (good
  passes, bad fails).

`generate_synthetic(n, seed)` is a pure function of its arguments: task i is drawn from an RNG seeded
by (seed, kind, i) only, so the same seed gives identical tasks and a prefix of a longer run equals a
shorter run. Several templates per kind and randomly drawn thresholds keep surface cues (length,
layout, position) from predicting the gold.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from data.builders import (
    synth_arithmetic,
    synth_code,
    synth_code_specs,
    synth_constrained_math,
    synth_constraints,
)
from data.builders._common import PairFactory, slug
from model.jsonl import Rejects
from model.records import JudgeTask, Resources
from model.verifiers import ifeval
from model.verifiers.code import extract_code, run_tests
from model.verifiers.math import answers_match

KINDS = ("arithmetic", "constraints", "code", "constrained_math")
DOMAINS = {"arithmetic": "math", "constraints": "instruction_following", "code": "code", "constrained_math": "math"}
DEFAULT_DIFFICULTY = {"easy": 0.3, "medium": 0.5, "hard": 0.2}
MAX_ATTEMPTS = 25
CODE_TIMEOUT_S = 5.0
CODE_PROMPTS = (
    "Write a Python function `{sig}`. {doc}",
    "Implement `{sig}` in Python.\n\n{doc}",
    "{doc}\nUse the signature `{sig}`.",
    "Python task: {doc} The function should be called `{name}`.",
)
CODE_LEADS = ("", "Here is the function:\n\n", "Sure! Here's an implementation:\n\n", "This should work:\n\n")
RANDOM_TESTS = {"easy": 2, "medium": 3, "hard": 5}
FAMILY_SPLITS = ("all", "seen", "unseen")
# Families (story templates, constraint types, function specs) that `families="seen"` never draws: a
# held-out-only source built with `families="unseen"` then tests judging on problems of a new shape.
UNSEEN = {"templates": ("garden", "change"),
          "constraints": ("startend:quotation", "keywords:frequency", "detectable_format:title"),
          "specs": ("gcd", "chunk", "count_vowels", "running_max")}


@dataclass(frozen=True)
class Families:
    templates: tuple
    constraints: tuple[str, ...]
    specs: tuple

    @classmethod
    def of(cls, split: str) -> Families:
        if split not in FAMILY_SPLITS:
            raise ValueError(f"families must be one of {FAMILY_SPLITS}, got {split!r}")

        def keep(items, name, unseen):
            return tuple(x for x in items if split == "all" or (name(x) in unseen) == (split == "unseen"))

        return cls(templates=keep(synth_arithmetic.TEMPLATES, lambda t: t.__name__.strip("_"), UNSEEN["templates"]),
                   constraints=keep(synth_constraints.MENU, str, UNSEEN["constraints"]),
                   specs=keep(synth_code_specs.SPECS, lambda sp: sp.name, UNSEEN["specs"]))
EXAMPLE_SHARE = 0.75  # code prompts that state input/output examples (as HumanEval and MBPP prompts do)


def generate_synthetic(
    n: int,
    seed: int = 0,
    kinds: Iterable[str] = KINDS,
    difficulty: Mapping[str, float] | None = None,
    *,
    split: str | None = None,
    heldout_fraction: float = 0.1,
    verify: bool = True,
    rejects: Rejects | None = None,
    families: str = "all",
) -> list[JudgeTask]:
    """`n` tasks cycling through `kinds`; `difficulty` weights easy / medium / hard.

    verify=False skips only the sandbox runs of the code kind (e.g. for statistics over many tasks);
    those tasks carry meta["proved"] = False. With `split`, tasks of the other split are skipped and
    generation continues until `n` tasks of the requested split exist. `families`: all | seen (never the
    UNSEEN templates, constraint types and specs) | unseen (only those; source names end in "-unseen").
    """
    pool = Families.of(families)
    suffix = "-unseen" if families == "unseen" else ""
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {kinds}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    weights = dict(difficulty or DEFAULT_DIFFICULTY)
    if (
        not weights
        or any(k not in DEFAULT_DIFFICULTY or w < 0 for k, w in weights.items())
        or sum(weights.values()) <= 0
    ):
        raise ValueError(f"difficulty must map easy / medium / hard to non-negative weights, got {weights}")
    if "code" in kinds and verify:
        from data.builders.code import require_sandbox

        require_sandbox()
    factories = {
        k: PairFactory(
            source=f"synthetic-{k}{suffix}",
            builder="synthetic",
            domain=DOMAINS[k],
            split=split,
            heldout_fraction=heldout_fraction,
        )
        for k in kinds
    }
    out: list[JudgeTask] = []
    index = 0
    while len(out) < n:
        if index > 50 * n + 100:
            raise RuntimeError(f"synthetic: produced only {len(out)} of {n} tasks (split={split!r})")
        kind = kinds[index % len(kinds)]
        uid = f"synthetic-{kind}{suffix}:{seed}:{index}"
        index += 1
        if not factories[kind].wanted(uid):
            continue
        task = make_task(kind, uid, seed, weights, factories[kind], verify, pool)
        if task is None:
            if rejects is not None:
                rejects.add("synthetic", index - 1, f"{kind}: no provable pair in {MAX_ATTEMPTS} draws", uid)
            continue
        out.append(task)
    return out


def make_task(
    kind: str, uid: str, seed: int, weights: Mapping[str, float], factory: PairFactory, verify: bool = True,
    pool: Families | None = None,
) -> JudgeTask | None:
    pool = pool or Families.of("all")
    rng = random.Random(f"{seed}\x00{uid}")
    level = rng.choices(list(weights), weights=list(weights.values()))[0]
    for attempt in range(MAX_ATTEMPTS):
        draw = random.Random(f"{seed}\x00{uid}\x00{attempt}")
        task = _MAKERS[kind](draw, level, uid, factory, verify, pool)
        if task is not None:
            task.meta["difficulty"] = level
            return task
    return None


# --------------------------------------------------------------------------- per kind


def _arithmetic(
    rng: random.Random, level: str, uid: str, factory: PairFactory, verify: bool, pool: Families
) -> JudgeTask | None:
    pair = synth_arithmetic.make_pair(rng, level, pool.templates)
    if pair is None:
        return None
    answer = pair["answer"]
    if not answers_match(pair["good"], answer) or answers_match(pair["bad"], answer):
        return None
    desc = f"{pair['error']} in step {pair['error_step']}"
    return factory.pair(
        upstream_id=uid,
        variant=pair["error"],
        prompt=pair["question"],
        good=pair["good"],
        bad=pair["bad"],
        perturbation=desc,
        resources=Resources(reference=answer, metadata={"answer": answer}),
        extra_meta={"kind": "arithmetic", "template": pair["template"]},
    )


def _constraints(
    rng: random.Random, level: str, uid: str, factory: PairFactory, verify: bool, pool: Families
) -> JudgeTask | None:
    pair = synth_constraints.make_pair(rng, level, pool.constraints)
    if pair is None:
        return None
    cons = pair["constraints"]
    if not all(ifeval.check(c["id"], c["kwargs"], pair["good"]) for c in cons):
        return None
    failing = [c["id"] for c in cons if not ifeval.check(c["id"], c["kwargs"], pair["bad"])]
    if failing != [pair["violated"]]:
        return None
    return factory.pair(
        upstream_id=uid,
        variant=slug(pair["violated"]),
        prompt=pair["prompt"],
        good=pair["good"],
        bad=pair["bad"],
        perturbation=pair["perturbation"],
        resources=Resources(constraints=cons),
        extra_meta={"kind": "constraints", "violated": [pair["violated"]], "also_violated": []},
    )


def _constrained_math(
    rng: random.Random, level: str, uid: str, factory: PairFactory, verify: bool, pool: Families
) -> JudgeTask | None:
    pair = synth_constrained_math.make_pair(rng, level, pool.templates)
    if pair is None:
        return None
    c = pair["constraints"][0]
    answer = pair["answer"]
    good_ok = answers_match(pair["good"], answer) and ifeval.check(c["id"], c["kwargs"], pair["good"])
    bad_right = answers_match(pair["bad"], answer)
    bad_follows = ifeval.check(c["id"], c["kwargs"], pair["bad"])
    if not good_ok or bad_right == bad_follows:  # the bad one fails exactly one of the two requirements
        return None
    return factory.pair(
        upstream_id=uid,
        variant=slug(pair["violated"]),
        prompt=pair["prompt"],
        good=pair["good"],
        bad=pair["bad"],
        perturbation=pair["perturbation"],
        resources=Resources(reference=answer, constraints=pair["constraints"], metadata={"answer": answer}),
        extra_meta={"kind": "constrained_math", "template": pair["template"], "violated": [pair["violated"]]},
    )


def _code(
    rng: random.Random, level: str, uid: str, factory: PairFactory, verify: bool, pool: Families
) -> JudgeTask | None:
    spec = rng.choice(pool.specs)
    code = synth_code.implementation(spec, with_docstring=rng.random() < 0.5)
    tests = synth_code.tests_for(spec, rng, RANDOM_TESTS[level])
    lead = rng.choice(CODE_LEADS)
    prompt = rng.choice(CODE_PROMPTS).format(sig=spec.signature, doc=spec.doc, name=spec.name)
    if rng.random() < EXAMPLE_SHARE:
        prompt += "\n\n" + synth_code.examples_for(spec, rng, 3)
    good = lead + _fence(code)
    if verify and not run_tests(extract_code(good, spec.name), tests, timeout_s=CODE_TIMEOUT_S).passed:
        return None
    bugs = list(enumerate(spec.bugs))
    rng.shuffle(bugs)
    for k, bug in bugs:
        bad_code = synth_code.buggy(spec, code, bug)
        if bad_code is None:
            continue
        bad = lead + _fence(bad_code)
        if verify:
            outcome = run_tests(extract_code(bad, spec.name), tests, timeout_s=CODE_TIMEOUT_S)
            if outcome.passed or outcome.timed_out:
                continue
        return factory.pair(
            upstream_id=uid,
            variant=f"bug-{k}",
            prompt=prompt,
            good=good,
            bad=bad,
            perturbation=f"{spec.name}: {bug[2]}",
            resources=Resources(tests=tests, metadata={"entry_point": spec.name, "language": "python"}),
            extra_meta={"kind": "code", "spec": spec.name, "proved": verify},
        )
    return None


def _fence(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


_MAKERS: dict[str, Any] = {"arithmetic": _arithmetic, "constraints": _constraints, "code": _code,
                           "constrained_math": _constrained_math}
