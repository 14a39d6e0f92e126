"""The eval config schema: `configs/eval/*.yaml` + `key=value` overrides (model.config.load_config).

One run = one judge (a model spec on a backend) x the listed settings x the listed benchmarks, written
to one output folder. Two seeds: `seed` drives everything on the data side (subsamples, RewardBench 2
slots, best-of-N candidate order and sides), `agent.seed` the judge's sampling; `--seed` sets both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.agent import AgentConfig
from model.backends import BackendConfig


@dataclass
class BenchmarkConfig:
    name: str = "judgebench"
    """A key of eval.benchmarks.BENCHMARKS (judgebench, rmbench, rewardbench2, generic, bon, ...)."""
    path: str | None = None
    """File, folder or Hub id; None = the benchmark's default (under `data_dir`, or its Hub id)."""
    limit: int | None = None
    """Judge only N units: pairs, RM-Bench rows (9 pairs each), RB2 rows, IF-RewardBench prompts, BoN prompts
    (verifiable: N pairs per source). None = the run's `limit`."""
    label: str | None = None
    """Name in predictions and reports (default: the benchmark name; for `generic`, the file stem)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Benchmark-specific loader options (e.g. rmbench domains / extra_files, rewardbench2 subsets,
    verifiable sources, if_rewardbench position_maps)."""


@dataclass
class BonConfig:
    """Best-of-N by sequential knockout (eval/bon.py) and the candidate-set builders (eval/bon_sets.py)."""

    n: int = 10
    """Candidates per prompt (a seeded permutation of the set, first n)."""
    generator: str | None = None
    """Model spec sampling extra candidates for the GSM8K/MATH/HumanEval/MBPP builders (None: perturbations
    and mutants only)."""
    generator_backend: str = "hf"
    generator_samples: int = 8
    generator_temperature: float = 0.8
    generator_max_new_tokens: int = 512
    split: str = "heldout"
    """Which builder split the sets come from (data/split.py): heldout | train | all."""


@dataclass
class EvalConfig:
    output_dir: str = "outputs/eval/run"
    # ------------------------------------------------------------------ the judge
    model: str = "smollm2-135m"
    """Any model.loading spec: embedded name, Hub id, local folder (a fine-tuned checkpoint), LoRA adapter,
    .gguf; for backend openai, the served model name."""
    model_label: str | None = None
    """Name of this judge in reports and eval.compare (default: `model`)."""
    backend: BackendConfig = field(default_factory=BackendConfig)
    """How the judge runs: {kind: hf | openai | vllm, batch_size, engine, dtype, base_urls, tool_mode, ...}."""
    agent: AgentConfig = field(default_factory=AgentConfig)
    """Prompt style, tie policy and limits left null come from the judge's trained protocol
    (judge_config.json in its folder); sampling and tool budget from here."""
    # ------------------------------------------------------------------ what is judged
    settings: list[str] = field(default_factory=list)
    """Settings to judge in (model.protocol); [] = the judge's trained settings, else baseline."""
    benchmarks: list[BenchmarkConfig] = field(default_factory=lambda: [BenchmarkConfig()])
    data_dir: str = "../shared/data"
    """Where default benchmark paths are looked up (a folder holding judgebench/, rmbench/, ...)."""
    limit: int | None = None
    sample: str = "stratified"
    """How a limit picks its units (eval/selection.py): stratified (a seeded sample in proportion to the
    benchmark's strata, e.g. JudgeBench file x category) | random (seeded, whole benchmark) | first (load
    order). The old booleans still work: true = random, false = first."""
    seed: int = 0
    skip_unavailable: bool = True
    """A benchmark whose data cannot be found or fetched is skipped with a message (else the run fails)."""
    bon: BonConfig = field(default_factory=BonConfig)
    # ------------------------------------------------------------------ how
    chunk_size: int = 32
    """Judgments per run_agent call (and per flushed write)."""
    save_messages: bool = False
    progress: bool = True
    plots: bool = True


def check_config(cfg: EvalConfig) -> None:
    """Errors the schema cannot express (names are checked against the registries); normalizes `sample`."""
    from eval.benchmarks import BENCHMARKS
    from eval.selection import sample_strategy
    from model.protocol import check_settings

    if cfg.settings:
        check_settings(cfg.settings)
    cfg.backend.validate()
    if not cfg.benchmarks:
        raise ValueError("benchmarks is empty")
    for b in cfg.benchmarks:
        if b.name not in BENCHMARKS:
            raise ValueError(f"unknown benchmark {b.name!r}; expected one of {sorted(BENCHMARKS)}")
    labels = [benchmark_label(b) for b in cfg.benchmarks]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ValueError(f"two benchmarks share the label(s) {dup}; give each a distinct `label`")
    cfg.sample = sample_strategy(cfg.sample)  # a YAML boolean arrives here as "True" / "False"
    for lim in [cfg.limit] + [b.limit for b in cfg.benchmarks]:
        if lim is not None and lim < 1:
            raise ValueError(f"limit must be >= 1 or null, got {lim}")
    if cfg.bon.n < 2:
        raise ValueError(f"bon.n must be >= 2, got {cfg.bon.n}")


def benchmark_label(b: BenchmarkConfig) -> str:
    if b.label:
        return b.label
    if b.name == "generic" and b.path:
        from pathlib import Path

        return f"generic:{Path(b.path).stem}"
    return b.name


def model_label(cfg: EvalConfig) -> str:
    return cfg.model_label or cfg.model
