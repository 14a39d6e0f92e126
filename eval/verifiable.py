"""The `verifiable` benchmark: pairs from the data builders' held-out split, and synthetic pairs.

Every pair's gold was proved by a verifier when it was built (data.builders.BUILDERS), so this is the
one benchmark whose labels the project itself guarantees. Sources (option `sources`, a list of names
or {name, path, n, kinds} objects; default: every source whose upstream file is under data_dir, plus
synthetic):

| name      | default path under data_dir         |
|-----------|-------------------------------------|
| gsm8k     | gsm8k/train.jsonl                   |
| math      | math/math_test_minus_math500.jsonl  |
| humaneval | humaneval/HumanEval.jsonl           |
| mbpp      | mbpp/sanitized-mbpp.json            |
| ifeval    | ifeval                              |
| synthetic | (generated; `n` tasks, default 60)  |

Only the `split` (default "heldout") is kept, so a judge trained on the train split is scored on
problems it never saw. meta.subset = the source name (per-source accuracy in the report).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from model.jsonl import Rejects
from model.records import JudgeTask

DEFAULT_PATHS = {
    "gsm8k": "gsm8k/train.jsonl",
    "math": "math/math_test_minus_math500.jsonl",
    "humaneval": "humaneval/HumanEval.jsonl",
    "mbpp": "mbpp/sanitized-mbpp.json",
    "ifeval": "ifeval",
}
SOURCES = (*DEFAULT_PATHS, "synthetic")
DEFAULT_SYNTHETIC_N = 60


def source_specs(options: dict[str, Any], data_dir: Path) -> list[dict[str, Any]]:
    """[{name, path, ...}] from `options["sources"]`; default: every source present + synthetic."""
    raw = options.get("sources")
    if raw is None:
        raw = [n for n, rel in DEFAULT_PATHS.items() if (data_dir / rel).exists()] + ["synthetic"]
    specs = []
    for item in raw:
        spec = {"name": item} if isinstance(item, str) else dict(item)
        name = spec.get("name")
        if name not in SOURCES:
            raise ValueError(f"verifiable: unknown source {name!r}; expected one of {SOURCES}")
        if name in DEFAULT_PATHS and not spec.get("path"):
            spec["path"] = str(data_dir / DEFAULT_PATHS[name])
        specs.append(spec)
    return specs


def load_verifiable(
    options: dict[str, Any],
    data_dir: Path,
    seed: int = 0,
    limit: int | None = None,
    rejects: Rejects | None = None,
) -> list[JudgeTask]:
    """Held-out verifiable pairs of every source; `limit` (pairs per source) spares the builders' proofs."""
    from data.builders import build

    split = options.get("split", "heldout")
    common = dict(seed=seed, split=split, heldout_fraction=float(options.get("heldout_fraction", 0.1)),
                  rejects=rejects)
    out: list[JudgeTask] = []
    for spec in source_specs(options, data_dir):
        name = spec["name"]
        if name == "synthetic":
            kinds = spec.get("kinds") or _synthetic_kinds()
            tasks = build(name, int(spec.get("n", DEFAULT_SYNTHETIC_N)), limit=limit, kinds=kinds, **common)
        else:
            path = Path(spec["path"])
            if not path.exists():
                raise FileNotFoundError(f"verifiable/{name}: {path} not found")
            tasks = build(name, path, limit=spec.get("limit", limit), **common)
        for t in tasks:
            t.meta.setdefault("subset", name)
            t.meta.setdefault("benchmark", "verifiable")
        out.extend(tasks)
    return out


def _synthetic_kinds() -> tuple[str, ...]:
    """Every synthetic kind; code only when the sandbox that proves it exists."""
    from data.builders.synthetic import KINDS

    if importlib.util.find_spec("model.sandbox") is None:
        return tuple(k for k in KINDS if k != "code")
    return tuple(KINDS)
