"""The data pipeline's config: one YAML drives both `data.generate` and `data.render`.

    python -m data.generate --config configs/data/quickstart.yaml [key=value ...]
    python -m data.render   --config configs/data/quickstart.yaml [key=value ...]

`generate` builds JudgeTasks from the configured sources (train split, decontaminated), writes the
held-out split for evaluation, and runs the teacher over the train tasks. `render` filters the
trajectories and renders them into SFT / direct-judge SFT / RL data for a target tokenizer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.agent import AgentConfig
from model.backends import BackendConfig
from model.protocol import SKILL_OPERATIONAL


@dataclass
class SourceSpec:
    """One input. kind: synthetic | builder | source.

    synthetic: `n` tasks from data.builders.synthetic (`kinds`).
    builder:   a verifiable-pair builder by `name` (gsm8k, math, humaneval, mbpp, ifeval) on `path`.
    source:    a preference/benchmark adapter by `name` (data.sources SOURCES) on `path` (file, folder or
               Hub id); `options` go to the loader (e.g. mapping, split, config_name).
    optional:  skip (with a message) instead of failing when `path` does not exist.
    heldout_only: every task of this source goes to the held-out split: a source no training stage
               draws from (e.g. a public math set, or synthetic problems of unseen families).
    """

    kind: str = "synthetic"
    name: str = ""
    path: str | None = None
    n: int = 0
    limit: int | None = None
    kinds: list[str] = field(default_factory=lambda: ["arithmetic", "constraints", "code"])
    optional: bool = False
    heldout_only: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class DecontamConfig:
    enabled: bool = True
    n: int = 13                                       # word n-gram length
    threshold: float = 0.5                            # share of a prompt's n-grams found in an eval item
    benchmarks: dict[str, str] = field(default_factory=dict)  # name -> path (absent paths are skipped)


@dataclass
class TeacherConfig:
    """kind: scripted (programmatic executor of the skill) | llm (any runtime backend)."""

    kind: str = "scripted"
    settings: list[str] = field(default_factory=lambda: [SKILL_OPERATIONAL])
    both_orders: bool = True
    samples: int = 1                                  # K samples per (task, order, setting); llm teacher
    load_skill_prob: float = 0.0                      # scripted: share of trajectories that call use_skill
    model: str = "smollm2-135m"                       # llm teacher: model spec / served model name
    backend: BackendConfig = field(default_factory=BackendConfig)  # llm teacher: how the model runs
    agent: AgentConfig = field(default_factory=AgentConfig)


@dataclass
class FilterConfig:
    require_correct: bool = True                      # drop trajectories whose verdict is wrong
    drop_forced: bool = True                          # ... and those finalized by the step limit
    require_order_consistent: bool = True             # keep a (task, setting) only if right in both orders
    max_tokens: int = 4096                            # drop rendered examples longer than this
    pick_sample: str = "shortest"                     # one of K per (task, order, setting): shortest | random
    dedup: bool = True                                # exact + near-duplicate prompts (MinHash LSH, verified)
    near_dup_threshold: float = 0.9                   # Jaccard of word 5-gram shingles
    balance_sources: bool = True                      # cap any source at `max_source_share` of the data
    max_source_share: float = 0.6
    balance_positions: bool = True                    # equal counts of verdict A and verdict B
    max_direct_share: float = 0.5                     # cap of trajectories decided without tools


@dataclass
class RenderConfig:
    tokenizer: str = "smollm2-135m"                   # the target model's tokenizer (chat template)
    formats: list[str] = field(default_factory=lambda: ["sft_skill", "sft_direct", "rl"])
    filters: FilterConfig = field(default_factory=FilterConfig)
    show_example: bool = True                         # print the first example coloured by mask
    push_to_hub: str | None = None                    # repo id; only when asked
    private: bool = True


@dataclass
class DataConfig:
    output_dir: str = "outputs/data/quickstart"       # where each stage writes (they use distinct files)
    input_dir: str | None = None                      # data.render: a data.generate output (default: output_dir)
    seed: int = 0
    heldout_fraction: float = 0.2                     # share of upstream problems kept out of training
    sources: list[SourceSpec] = field(default_factory=lambda: [SourceSpec(kind="synthetic", n=200)])
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    workers: int = 1
    chunk_size: int = 64                              # teacher episodes per batch (and per checkpoint)
