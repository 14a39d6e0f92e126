"""The benchmark registry: name -> (where the data is, how it loads, what a unit is, how orders are chosen,
which official metric scores it).

Loaders are the data/ source adapters and builders (eval never parses an upstream format itself).
Orders: "both" judges every pairwise task in both candidate orders; "once" judges each task in the one
order the loader fixed (RewardBench 2's seeded best-of-4 slot, IF-RewardBench's position maps,
pointwise ratings). `unit` is what `limit` counts: a JudgeBench pair, an RM-Bench row (its 9 pairs
stay together), a RewardBench 2 row (a Ties row's answers stay together), an IF-RewardBench prompt.
`stratum` is what a limited run is stratified by (eval/selection.py): the groups the official metric
breaks the score down by, so a small run covers each of them in proportion.
Best-of-N benchmarks (kind "bon") load candidate sets instead of tasks and run in eval/bon.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.config import resolve_path
from model.jsonl import Rejects
from model.records import JudgeTask


class BenchmarkUnavailable(RuntimeError):
    """The benchmark's data is neither at the given/default path nor fetchable (e.g. Hub offline)."""


@dataclass(frozen=True)
class Source:
    """Everything a loader needs: the resolved path (file, folder or Hub id) and the run's knobs."""

    path: str | None
    options: dict[str, Any]
    data_dir: Path
    seed: int
    limit: int | None  # a hint for expensive builders (None when the run subsamples)
    rejects: Rejects | None


@dataclass(frozen=True)
class Benchmark:
    name: str
    load: Callable[[Source], list[Any]]
    metric: str  # a key of eval.metrics.METRICS
    orders: str = "both"  # both | once
    unit: Callable[[Any], str] = lambda t: t.id
    defaults: tuple[str, ...] = ()  # default paths, relative to data_dir (first that exists wins)
    probe: str | None = None  # glob telling that data_dir itself is this benchmark's folder
    hub_id: str | None = None  # fallback when no local copy exists
    kind: str = "judge"  # judge | bon
    stratum: Callable[[Any], str] | None = None  # what a `limit` sample is stratified by (None: one stratum)
    strata: str = ""  # what `stratum` names, for the report
    limit_per_stratum: bool = False  # `limit` counts units per stratum (verifiable: pairs per source)
    about: str = ""

    def order_fn(self) -> Callable[[JudgeTask], list[list[int]]] | None:
        if self.orders == "once":
            return lambda t: [list(range(len(t.candidates)))]
        return None


# --------------------------------------------------------------------------- loaders


def _judgebench(src: Source) -> list[JudgeTask]:
    from data.sources import load_judgebench

    p = Path(src.path)
    if p.is_dir() and not any(p.glob("judgebench_*.jsonl")):  # e.g. openrs_format/{gpt,claude}.jsonl
        files = sorted(p.glob("*.jsonl"))
        if not files:
            raise BenchmarkUnavailable(f"{p}: no JudgeBench files")
        return [t for f in files for t in load_judgebench(f, rejects=src.rejects)]
    return load_judgebench(p, rejects=src.rejects)


def _rmbench(src: Source) -> list[JudgeTask]:
    from data.sources import load_rmbench

    tasks = load_rmbench(src.path, domains=src.options.get("domains"), rejects=src.rejects)
    for extra in src.options.get("extra_files") or []:  # e.g. math_filtered.json kept elsewhere
        tasks += load_rmbench(resolve_path(extra), rejects=src.rejects)
    return tasks


def _rewardbench2(src: Source) -> list[JudgeTask]:
    from data.sources import load_rewardbench2

    return load_rewardbench2(
        src.path,
        seed=src.seed,
        subsets=src.options.get("subsets"),
        split=src.options.get("split", "test"),
        rejects=src.rejects,
    )


def _rewardbench1(src: Source) -> list[JudgeTask]:
    from data.sources import load_rewardbench1

    return load_rewardbench1(
        src.path,
        split=src.options.get("split", "filtered"),
        subset=src.options.get("subset"),
        rejects=src.rejects,
    )


def _if_rewardbench(src: Source) -> list[JudgeTask]:
    from data.sources import load_if_rewardbench

    maps = src.options.get("position_maps")
    return load_if_rewardbench(
        src.path, position_maps=resolve_path(maps) if maps else None, rejects=src.rejects
    )


def _ifbench(src: Source) -> list[JudgeTask]:
    from data.sources import load_chat_pairs

    return load_chat_pairs(src.path, benchmark="ifbench", domain="instruction_following", rejects=src.rejects)


def _generic(src: Source) -> list[JudgeTask]:
    """Generic pairs {id, prompt, chosen, rejected, ...}, or JudgeTask rows (they carry `candidates`)."""
    from data.sources import load_generic
    from data.sources._common import first_row
    from model.judging import load_tasks

    row = first_row(src.path)
    if isinstance(row, dict) and "candidates" in row:
        return load_tasks(src.path, src.rejects)
    return load_generic(src.path, domain=src.options.get("domain", "general"), rejects=src.rejects)


def _verifiable(src: Source) -> list[JudgeTask]:
    from eval.verifiable import load_verifiable

    return load_verifiable(src.options, src.data_dir, seed=src.seed, limit=src.limit, rejects=src.rejects)


def _bon_sets(builder: str | None) -> Callable[[Source], list[Any]]:
    def load(src: Source) -> list[Any]:
        from eval.bon_sets import build_sets, load_candidate_sets

        if builder is None:
            return load_candidate_sets(src.path, rejects=src.rejects)
        return build_sets(builder, src)

    return load


def _rb2_unit(t: JudgeTask) -> str:
    return str(t.meta.get("row_id") or t.meta.get("prompt_id") or t.id)


def _key(*parts: Any) -> str:
    """A stratum key from its parts, each once (a generic row's subset defaults to its source)."""
    return "/".join(dict.fromkeys(str(p) for p in parts if p not in (None, ""))) or "-"


def _by_meta(*fields: str) -> Callable[[Any], str]:
    return lambda t: _key(*(t.meta.get(f) for f in fields))


_SUBSET = dict(stratum=_by_meta("subset"), strata="subset")


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in [
        Benchmark(
            "judgebench",
            _judgebench,
            "judgebench",
            defaults=("judgebench",),
            probe="judgebench_*.jsonl",
            stratum=_by_meta("file", "subset"),
            strata="response-model file / source category",
            about="JudgeBench: 620 pairs (350 GPT-4o + 270 Claude responses), both orders, pair correct iff "
            "vote sum > 0",
        ),
        Benchmark(
            "judgebench_openrs",
            _judgebench,
            "judgebench",
            defaults=("judgebench/openrs_format",),
            stratum=_by_meta("file", "subset"),
            strata="response-model file / source category",
            about="JudgeBench in the OpenRS format (checklist + final-answer reference as sample resources)",
        ),
        Benchmark(
            "rmbench",
            _rmbench,
            "rmbench",
            defaults=("rmbench",),
            probe="*_filtered.json",
            unit=lambda t: f"{t.meta.get('domain')}:{t.meta.get('row_id')}",
            stratum=_by_meta("domain", "subset"),
            strata="domain / subset",
            about="RM-Bench: 3x3 style pairs per row, both orders, a pair won only when chosen wins both; "
            "easy / normal / hard per domain",
        ),
        Benchmark(
            "rewardbench2",
            _rewardbench2,
            "rewardbench2",
            orders="once",
            unit=_rb2_unit,
            **_SUBSET,
            defaults=("rewardbench2", "reward-bench-2"),
            hub_id="allenai/reward-bench-2",
            about="RewardBench 2: best-of-4 (chosen at a seeded slot, judged once; unparseable = 0.25) + "
            "Ties rated 1-10 pointwise; mean of the subsets",
        ),
        Benchmark(
            "rewardbench1",
            _rewardbench1,
            "pairwise",
            defaults=("rewardbench1", "reward-bench"),
            hub_id="allenai/reward-bench",
            **_SUBSET,
            about="RewardBench v1 pairs, both orders, per-subset accuracy and macro average",
        ),
        Benchmark(
            "llmbar",
            _rewardbench1,
            "pairwise",
            defaults=("llmbar",),
            **_SUBSET,
            about="LLMBar pairs, both orders, per-subset accuracy and macro average",
        ),
        Benchmark(
            "if_rewardbench",
            _if_rewardbench,
            "if_rewardbench",
            orders="once",
            unit=lambda t: str(t.meta.get("prompt_id")),
            stratum=_by_meta("instruction_type"),
            strata="instruction type",
            defaults=(
                "if_rewardbench/if_rewardbench.json",
                "if_rewardbench/if_rewardbench_sample15_with_QwQ32B_critiques.json",
            ),
            about="IF-RewardBench: every response pair judged once in the position-map order; "
            "per-prompt Elo, "
            "Kendall tau-b vs the preference graph",
        ),
        Benchmark(
            "ifbench",
            _ifbench,
            "pairwise",
            defaults=("ifbench_thukeg/ifbench_thukeg.converted.json",),
            **_SUBSET,
            about="THU-KEG IFBench chat pairs, both orders",
        ),
        Benchmark(
            "generic",
            _generic,
            "pairwise",
            stratum=lambda t: _key(t.source, t.meta.get("subset")),
            strata="source / subset",
            about="generic pairwise JSONL {id, prompt, chosen, rejected, reference?}, both orders",
        ),
        Benchmark(
            "verifiable",
            _verifiable,
            "pairwise",
            defaults=(".",),
            stratum=_by_meta("subset"),
            strata="source",
            limit_per_stratum=True,
            about="verifier-proved pairs from the builders' held-out split (GSM8K, MATH, HumanEval, MBPP, "
            "IFEval) and synthetic pairs, both orders; limit counts pairs per source",
        ),
        Benchmark(
            "bon",
            _bon_sets(None),
            "bon",
            kind="bon",
            unit=lambda s: s.id,
            stratum=_by_meta("source"),
            strata="source",
            about="best-of-N by sequential knockout over a candidate-set JSONL",
        ),
        *[
            Benchmark(
                f"bon_{b}",
                _bon_sets(b),
                "bon",
                kind="bon",
                unit=lambda s: s.id,
                stratum=_by_meta("source"),
                strata="source",
                defaults=(rel,),
                about=f"best-of-N by sequential knockout over candidate sets built from {b}",
            )
            for b, rel in (
                ("gsm8k", "gsm8k/train.jsonl"),
                ("math", "math/math_test_minus_math500.jsonl"),
                ("humaneval", "humaneval/HumanEval.jsonl"),
                ("mbpp", "mbpp/sanitized-mbpp.json"),
            )
        ],
    ]
}


# --------------------------------------------------------------------------- locating data


def locate(bench: Benchmark, path: str | None, data_dir: Path) -> str | None:
    """The file / folder / Hub id to load; BenchmarkUnavailable (with what was tried) when there is none."""
    if path:
        for cand in (resolve_path(path), data_dir / path):
            if cand.exists():
                return str(cand.resolve())
        if "/" in path and not path.startswith((".", "/", "~")) and bench.hub_id is not None:
            return path  # a Hub id
        raise BenchmarkUnavailable(f"{bench.name}: {path} not found (also tried {data_dir / path})")
    if bench.name == "verifiable":
        return str(data_dir.resolve())
    tried = []
    for rel in bench.defaults:
        cand = data_dir / rel
        tried.append(str(cand))
        if cand.exists():
            return str(cand.resolve())
    if bench.probe and data_dir.is_dir() and any(data_dir.glob(bench.probe)):
        return str(data_dir.resolve())
    if bench.hub_id:
        return bench.hub_id
    where = ", ".join(tried) if tried else "no default location"
    raise BenchmarkUnavailable(f"{bench.name}: no data (tried {where}); give its path")


def load_benchmark(bench: Benchmark, src: Source) -> list[Any]:
    """Loads through the registry; a Hub fetch that fails (offline, no access) -> BenchmarkUnavailable."""
    is_hub = src.path is not None and bench.hub_id is not None and not Path(src.path).exists()
    try:
        return bench.load(src)
    except BenchmarkUnavailable:
        raise
    except Exception as e:  # noqa: BLE001 - datasets/hub raise many types
        if is_hub:
            raise BenchmarkUnavailable(
                f"{bench.name}: {src.path} could not be loaded from the Hugging Face Hub "
                f"({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                "pass path=<local copy>"
            ) from e
        raise
