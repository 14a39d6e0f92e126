"""Source adapters: one per upstream format, each turning files (or Hugging Face datasets) into JudgeTasks.

Contract (every loader): `load_<name>(path_or_id, ..., rejects=None, limit=None) -> list[JudgeTask]`.
A malformed row never aborts a load: it goes to `rejects` with the file, the 1-based row number and a
reason naming the field; with `rejects=None` it raises ValueError naming file, row and field. `limit`
counts upstream rows that produced tasks (per file for folder loaders). Task ids are unique and stable.
Gold-derived information (labels, which response was chosen, order flags) lives only in `gold` and `meta`.

| name            | loader                         | input                                            |
|-----------------|--------------------------------|--------------------------------------------------|
| judgebench      | judgebench.load_judgebench     | official / OpenRS JSONL file, or a folder        |
| rmbench         | rmbench.load_rmbench           | folder of *_filtered.json, or one file           |
| rewardbench2    | rewardbench2.load_rewardbench2 | Hub id allenai/reward-bench-2 or a local copy    |
| rewardbench1    | rewardbench1.load_rewardbench1 | RewardBench v1 (Hub id / file) or LLMBar file    |
| if_rewardbench  | if_rewardbench.load_if_rewardbench | data JSON + position_maps.json               |
| chat_pairs      | chat_pairs.load_chat_pairs     | text_chosen / text_rejected message lists        |
| ifbench         | load_chat_pairs(benchmark="ifbench", domain="instruction_following") (THU-KEG IFBench) |
| generic         | generic.load_generic           | {"id","prompt","chosen","rejected",...} JSONL    |
| hf_preference   | hf_preference.load_hf_preference | any HF preference dataset + ColumnMapping      |
| skywork, helpsteer3, ultrafeedback | load_hf_preference with that preset |                     |
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from data.sources._common import first_row
from data.sources._hf import column_names, is_saved_dataset
from data.sources.chat_pairs import load_chat_pairs
from data.sources.generic import load_generic
from data.sources.hf_preference import PRESETS, ColumnMapping, load_hf_preference
from data.sources.if_rewardbench import load_if_rewardbench
from data.sources.judgebench import load_judgebench, load_judgebench_dir
from data.sources.rewardbench1 import load_rewardbench1
from data.sources.rewardbench2 import load_rewardbench2
from data.sources.rmbench import load_rmbench
from model.records import JudgeTask

Loader = Callable[..., list[JudgeTask]]


SOURCES: dict[str, Loader] = {
    "judgebench": load_judgebench,
    "rmbench": load_rmbench,
    "rewardbench2": load_rewardbench2,
    "rewardbench1": load_rewardbench1,
    "llmbar": load_rewardbench1,
    "if_rewardbench": load_if_rewardbench,
    "chat_pairs": load_chat_pairs,
    "ifbench": functools.partial(load_chat_pairs, benchmark="ifbench", domain="instruction_following"),
    "generic": load_generic,
    "hf_preference": load_hf_preference,
    **{name: functools.partial(load_hf_preference, mapping=name) for name in PRESETS},
}

# Hub ids that name a format without reading anything.
HUB_IDS = {
    "allenai/reward-bench-2": "rewardbench2",
    "allenai/reward-bench": "rewardbench1",
    **{p.dataset: name for name, p in PRESETS.items()},
}


def load_source(name: str, path: str | Path, **kw: Any) -> list[JudgeTask]:
    """Loads `path` (a file, folder or Hub id) with the adapter `name` ("auto": `detect_format`)."""
    if name == "auto":
        name = detect_format(path)
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}; expected one of {sorted(SOURCES)} or 'auto'")
    return SOURCES[name](path, **kw)


def detect_format(path: str | Path) -> str:
    """The SOURCES name for a file, a folder or a known Hub id; ValueError when it cannot tell."""
    p = Path(path)
    if not p.exists():
        if str(path) in HUB_IDS:
            return HUB_IDS[str(path)]
        raise ValueError(f"{path}: no such file or folder, and not a known Hub id ({sorted(HUB_IDS)})")
    if p.is_dir() and not is_saved_dataset(p):
        return _detect_folder(p)
    cols = column_names(p)
    if cols is not None:
        return _detect_columns(set(cols), None, p)
    row = first_row(p)
    if not isinstance(row, dict):
        raise ValueError(f"{path}: the first row is not a JSON object; cannot detect the format")
    return _detect_columns(set(row), row, p)


def _detect_folder(p: Path) -> str:
    if any(p.glob("judgebench_*.jsonl")):
        return "judgebench"
    if any(p.glob("*_filtered.json")):
        return "rmbench"
    raise ValueError(f"{p}: folder format not recognised (expected judgebench_*.jsonl or *_filtered.json)")


def _detect_columns(keys: set[str], row: dict[str, Any] | None, p: Path) -> str:
    if {"pair_id", "response_A", "response_B", "label"} <= keys or {"question_id", "query_type"} <= keys:
        return "judgebench"
    if {"instruction_type", "responses", "preference_graph"} <= keys:
        return "if_rewardbench"
    if {"text_chosen", "text_rejected"} <= keys:
        return "chat_pairs"
    if {"response1", "response2", "overall_preference"} <= keys:
        return "helpsteer3"
    if {"input", "output_1", "output_2", "label"} <= keys:
        return "llmbar"
    if {"chosen", "rejected"} <= keys:
        if {"num_correct", "total_completions"} & keys:
            return "rewardbench2"
        if {"prompt_id", "score_chosen"} <= keys:
            return "ultrafeedback"
        chosen = row.get("chosen") if row else None
        if isinstance(chosen, list) and chosen and all(isinstance(x, str) for x in chosen):
            return "rmbench"
        if (isinstance(chosen, list) and chosen and isinstance(chosen[0], dict)) or "prompt" not in keys:
            return "ultrafeedback" if "prompt" in keys else "skywork"
        if "prompt" in keys and "id" in keys:
            if "subset" in keys and not ({"reference", "source"} & keys):
                return "rewardbench1"
            return "generic"
    raise ValueError(f"{p}: columns {sorted(keys)} match no known source format")


__all__ = [
    "SOURCES",
    "HUB_IDS",
    "ColumnMapping",
    "PRESETS",
    "detect_format",
    "load_source",
    "load_chat_pairs",
    "load_generic",
    "load_hf_preference",
    "load_if_rewardbench",
    "load_judgebench",
    "load_judgebench_dir",
    "load_rewardbench1",
    "load_rewardbench2",
    "load_rmbench",
]
