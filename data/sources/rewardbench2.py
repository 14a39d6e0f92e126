"""RewardBench 2 (Hub dataset `allenai/reward-bench-2`, split "test") -> listwise / pointwise JudgeTasks.

Columns (dataset card): id (str), prompt (str), chosen (list[str]), rejected (list[str]), num_correct,
num_incorrect, total_completions, models (list[str]), subset (Factuality | Precise IF | Math | Safety |
Focus | Ties), additional_metadata (struct). Loaded from the Hub id or a local path (JSON / JSONL / parquet
/ a dataset folder / a `save_to_disk` folder) through the same `datasets` code.

Non-Ties rows -> one listwise task: best-of-4 with chosen[0] and rejected[0:3] (as the official
run_generative_v2.py). The chosen answer is swapped into a slot drawn by an rng seeded by (seed, row id),
so the slot is reproducible and independent of load order; gold = that slot.
id f"rewardbench2-{row id}", meta {benchmark, subset, row_id}.

Ties rows -> one pointwise task per answer (chosen answers are correct, rejected incorrect), to be rated
independently. Row ids are "ref:N" (one correct answer) or "tied:N" (several); the official
process_single_model groups scores by (sample_type, N) and joins ref and tied prompts on N.
id f"rewardbench2-{row id}-{k}" (k = answer index in chosen + rejected), gold 1.0 (correct) / 0.0,
meta {benchmark, subset: "Ties", prompt_id: row id ("ref:N"), sample_type: "ref" | "tied",
group_id: N, answer_index: k, num_correct, is_correct}.

`models` and `additional_metadata` (which include per-answer labels) are not used; the Precise IF
`instruction_id_list` has no kwargs, so it is not turned into constraints.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from pathlib import Path

from data.sources._common import Row, collect, fail, req_id, req_str, req_str_list
from data.sources._hf import load_rows
from model.jsonl import Rejects
from model.records import JudgeTask

BENCHMARK = "rewardbench2"
HUB_ID = "allenai/reward-bench-2"
SUBSET_DOMAINS = {
    "Factuality": "factuality",
    "Precise IF": "instruction_following",
    "Math": "math",
    "Safety": "safety",
    "Focus": "chat",
    "Ties": "general",
}
N_REJECTED = 3


def chosen_slot(seed: int, row_id: str, n: int = N_REJECTED + 1) -> int:
    """The seeded slot of the chosen answer for one row: a function of (seed, row id) only."""
    digest = hashlib.sha256(f"{seed}:{row_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big")).randrange(n)


def load_rewardbench2(
    path_or_id: str | Path = HUB_ID,
    split: str = "test",
    seed: int = 0,
    subsets: Iterable[str] | None = None,
    config_name: str | None = None,
    rejects: Rejects | None = None,
    limit: int | None = None,
) -> list[JudgeTask]:
    wanted = set(subsets) if subsets is not None else None
    label, rows = load_rows(path_or_id, split=split, config_name=config_name)

    def parse(row: Row, rownum: int) -> list[JudgeTask]:
        subset = req_str(row, "subset")
        if wanted is not None and subset not in wanted:
            return []
        if subset == "Ties":
            return _ties_tasks(row)
        return [_best_of_4(row, subset, seed)]

    return collect(label, rows, parse, rejects, limit)


def _best_of_4(row: Row, subset: str, seed: int) -> JudgeTask:
    row_id = req_id(row, "id")
    prompt = req_str(row, "prompt")
    chosen = req_str_list(row, "chosen", min_length=1)
    rejected = req_str_list(row, "rejected", min_length=N_REJECTED)
    slot = chosen_slot(seed, row_id)
    candidates = [chosen[0], *rejected[:N_REJECTED]]
    # as upstream: the chosen answer (position 0) swaps places with the answer at `slot`
    candidates[0], candidates[slot] = candidates[slot], candidates[0]
    return JudgeTask(
        id=f"{BENCHMARK}-{row_id}",
        source=BENCHMARK,
        kind="listwise",
        prompt=prompt,
        candidates=candidates,
        gold=slot,
        domain=SUBSET_DOMAINS.get(subset, "general"),
        meta={"benchmark": BENCHMARK, "subset": subset, "row_id": row_id},
    )


def _ties_tasks(row: Row) -> list[JudgeTask]:
    row_id = req_id(row, "id")
    sample_type, _, group = row_id.partition(":")
    if sample_type not in ("ref", "tied") or not group.strip().lstrip("-").isdigit():
        fail("id", f"Ties ids look like 'ref:N' or 'tied:N', got {row_id!r}")
    prompt = req_str(row, "prompt")
    chosen = req_str_list(row, "chosen", min_length=1)
    rejected = req_str_list(row, "rejected", min_length=1)
    num_correct = row.get("num_correct")
    if num_correct is not None and num_correct != len(chosen):
        fail("num_correct", f"is {num_correct!r} but chosen has {len(chosen)} answers")
    if sample_type == "ref" and len(chosen) != 1:
        fail("chosen", f"a 'ref' Ties row has one correct answer, got {len(chosen)}")
    tasks = []
    for k, answer in enumerate(chosen + rejected):
        correct = k < len(chosen)
        tasks.append(
            JudgeTask(
                id=f"{BENCHMARK}-{row_id}-{k}",
                source=BENCHMARK,
                kind="pointwise",
                prompt=prompt,
                candidates=[answer],
                gold=1.0 if correct else 0.0,
                domain=SUBSET_DOMAINS["Ties"],
                meta={
                    "benchmark": BENCHMARK,
                    "subset": "Ties",
                    "prompt_id": row_id,
                    "sample_type": sample_type,
                    "group_id": int(group),
                    "answer_index": k,
                    "num_correct": len(chosen),
                    "is_correct": correct,
                },
            )
        )
    return tasks
