"""Writes one rendered format twice: a `datasets.save_to_disk` folder (what train/ reads) and JSONL
(what people read; SFT rows carry their `messages` there).

The Arrow schema is explicit so an empty or tiny dataset has the same columns as a large one; the
task and gold of RL rows are `datasets.Json` (tasks differ in their resources' shape). Rows hold token
arrays as numpy; both writers go chunk by chunk so no second full copy as Python lists is made.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from model.jsonl import write_jsonl

CHUNK = 1024

_META = {"task_id": "string", "source": "string", "domain": "string", "setting": "string"}


def features(fmt: str) -> Any:
    from datasets import Features, Json, List, Value

    meta = {k: Value(v) for k, v in _META.items()}
    if fmt == "rl":
        return Features({**meta, "gold": Json(), "prompt_messages": List({"role": Value("string"),
                                                                          "content": Value("string")}),
                         "task": Json()})
    cols = {**meta, "order": List(Value("int32")), "verdict": Value("string")}
    if fmt == "sft_direct":
        cols["mirrors_setting"] = Value("string")
    return Features({**cols, "n_tokens": Value("int32"), "n_trained": Value("int32"),
                     "input_ids": List(Value("int32")), "labels": List(Value("int32"))})


def write_format(out_dir: Path, fmt: str, rows: list[dict[str, Any]], progress: bool = True
                 ) -> dict[str, str]:
    """`out_dir/<fmt>/` (save_to_disk) and `out_dir/<fmt>.jsonl`; returns their paths."""
    import datasets
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    feats = features(fmt)
    folder = out_dir / fmt
    if folder.exists():
        if not (folder / "state.json").exists() and any(folder.iterdir()):
            raise FileExistsError(f"{folder} exists and is not a saved dataset; refusing to overwrite it")
        shutil.rmtree(folder)
    chunks = [datasets.Dataset.from_list([{k: r[k] for k in feats} for r in rows[i:i + CHUNK]],
                                         features=feats) for i in range(0, len(rows), CHUNK)]
    ds = datasets.concatenate_datasets(chunks) if chunks else datasets.Dataset.from_list([], features=feats)
    was_disabled = are_progress_bars_disabled()
    if not progress:
        disable_progress_bars()
    try:
        ds.save_to_disk(str(folder))
    finally:
        if not was_disabled:
            enable_progress_bars()
    jsonl = out_dir / f"{fmt}.jsonl"
    write_jsonl(jsonl, ({k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in r.items()}
                        for r in rows))
    return {"dataset": str(folder), "jsonl": str(jsonl)}
