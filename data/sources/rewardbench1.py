"""RewardBench v1 and LLMBar style pairwise files -> pairwise JudgeTasks.

Two schemas, detected per row:
- RewardBench v1 (Hub `allenai/reward-bench`, split "filtered"): `prompt, chosen, rejected, subset, id`
  (+ chosen_model, rejected_model). id f"rewardbench-{id}", benchmark "rewardbench".
- LLMBar (`Dataset/LLMBar/**/dataset.json`): `input, output_1, output_2, label` with label 1 or 2 (the
  better output). id f"llmbar-{subset}-{row}", benchmark "llmbar"; subset defaults to the folder name
  of a `dataset.json` (Natural, GPTInst, ...) or the file stem.

candidates = [better, worse], gold 0; the LLMBar label and the model names stay out of the task.
meta: benchmark, subset. Domain from the subset: alpacaeval/mt-bench -> chat, llmbar -> instruction
following, refusals/xstest/donotanswer -> safety, math-prm -> math, hep-* -> code.
"""

from __future__ import annotations

from pathlib import Path

from data.sources._common import Row, collect, fail, req, req_id, req_str
from data.sources._hf import load_rows
from model.jsonl import Rejects
from model.records import JudgeTask

HUB_ID = "allenai/reward-bench"
_DOMAIN_PREFIXES = (
    ("alpacaeval", "chat"),
    ("mt-bench", "chat"),
    ("llmbar", "instruction_following"),
    ("refusals", "safety"),
    ("xstest", "safety"),
    ("donotanswer", "safety"),
    ("do not answer", "safety"),
    ("math", "math"),
    ("hep", "code"),
)


def domain_of(subset: str) -> str:
    s = subset.lower()
    for prefix, domain in _DOMAIN_PREFIXES:
        if s.startswith(prefix):
            return domain
    return "general"


def default_subset(path: str | Path) -> str:
    p = Path(path)
    return p.parent.name if p.stem == "dataset" and p.parent.name else p.stem


def load_rewardbench1(
    path_or_id: str | Path = HUB_ID,
    split: str = "filtered",
    subset: str | None = None,
    benchmark: str | None = None,
    rejects: Rejects | None = None,
    limit: int | None = None,
) -> list[JudgeTask]:
    """A RewardBench v1 / LLMBar file or dataset. `subset` overrides the LLMBar subset name."""
    label, rows = load_rows(path_or_id, split=split)
    llmbar_subset = subset or default_subset(path_or_id)

    def parse(row: Row, rownum: int) -> list[JudgeTask]:
        if "output_1" in row or "input" in row:
            return [_llmbar(row, rownum, llmbar_subset, benchmark or "llmbar")]
        return [_v1(row, benchmark or "rewardbench")]

    return collect(label, rows, parse, rejects, limit)


def _v1(row: Row, benchmark: str) -> JudgeTask:
    subset = req_str(row, "subset")
    return JudgeTask(
        id=f"{benchmark}-{req_id(row, 'id')}",
        source=benchmark,
        kind="pairwise",
        prompt=req_str(row, "prompt"),
        candidates=[req_str(row, "chosen"), req_str(row, "rejected")],
        gold=0,
        domain=domain_of(subset),
        meta={"benchmark": benchmark, "subset": subset},
    )


def _llmbar(row: Row, rownum: int, subset: str, benchmark: str) -> JudgeTask:
    label = req(row, "label")
    outputs = {1: req_str(row, "output_1"), 2: req_str(row, "output_2")}
    if isinstance(label, str) and label.strip() in ("1", "2"):
        label = int(label)
    if label not in (1, 2) or isinstance(label, bool):
        fail("label", f"must be 1 or 2, got {label!r}")
    return JudgeTask(
        id=f"{benchmark}-{subset}-{rownum}",
        source=benchmark,
        kind="pairwise",
        prompt=req_str(row, "input"),
        candidates=[outputs[label], outputs[3 - label]],
        gold=0,
        domain="instruction_following",
        meta={"benchmark": benchmark, "subset": subset},
    )
