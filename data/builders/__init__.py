"""Verifiable pair builders: upstream problems -> pairwise JudgeTasks whose gold is proved by a verifier.

Every builder returns `list[JudgeTask]` of kind "pairwise", `candidates = [good, bad]`, `gold = 0`
(the pipeline judges both orders), with `meta` {builder, upstream_id, variant, perturbation, split,
...} and the per-sample `resources` of the resource-available setting. A pair whose gold cannot be
proved at build time is dropped into `rejects` with the reason.

| name      | builder                       | input                                                 |
|-----------|-------------------------------|-------------------------------------------------------|
| gsm8k     | math.build_gsm8k              | GSM8K JSONL (`question, answer` ending `#### N`)      |
| math      | math.build_math               | MATH JSONL (`problem, solution` with `\\boxed{}`)      |
| humaneval | code.build_humaneval          | HumanEval.jsonl                                       |
| mbpp      | code.build_mbpp               | sanitized-mbpp.json                                   |
| ifeval    | ifeval.build_ifeval           | input_data.jsonl (+ input_response_data_*.jsonl)      |
| synthetic | synthetic.generate_synthetic  | none (n, not a path): generated from seeded templates |

Registry contract: `BUILDERS[name](path_or_None, *, limit, seed, split, heldout_fraction, rejects)`;
for "synthetic" the first argument is the number of tasks (`limit`, when given, caps it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from data.builders.code import build_humaneval, build_mbpp
from data.builders.ifeval import build_ifeval
from data.builders.math import build_gsm8k, build_math
from model.jsonl import Rejects
from model.records import JudgeTask

Builder = Callable[..., list[JudgeTask]]


def build_synthetic(
    n: int | None = None,
    *,
    limit: int | None = None,
    seed: int = 0,
    split: str | None = None,
    heldout_fraction: float = 0.1,
    rejects: Rejects | None = None,
    **kw: Any,
) -> list[JudgeTask]:
    """`generate_synthetic` with the registry's signature (n defaults to `limit`, else 1000)."""
    from data.builders.synthetic import generate_synthetic

    if n is None or isinstance(n, (str, Path)):
        n = limit if limit is not None else 1000
    if limit is not None:
        n = min(int(n), limit)
    return generate_synthetic(
        int(n), seed, split=split, heldout_fraction=heldout_fraction, rejects=rejects, **kw
    )


BUILDERS: dict[str, Builder] = {
    "gsm8k": build_gsm8k,
    "math": build_math,
    "humaneval": build_humaneval,
    "mbpp": build_mbpp,
    "ifeval": build_ifeval,
    "synthetic": build_synthetic,
}


def build(name: str, path_or_n: Any = None, **kw: Any) -> list[JudgeTask]:
    """`BUILDERS[name](path_or_n, **kw)` with a clear error for an unknown name."""
    if name not in BUILDERS:
        raise ValueError(f"unknown builder {name!r}; expected one of {sorted(BUILDERS)}")
    return BUILDERS[name](path_or_n, **kw)


__all__ = [
    "BUILDERS",
    "build",
    "build_gsm8k",
    "build_math",
    "build_humaneval",
    "build_mbpp",
    "build_ifeval",
    "build_synthetic",
]
