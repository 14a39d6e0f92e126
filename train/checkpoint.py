"""Checkpoints: output_dir/checkpoint-<step>/ + output_dir/latest (DeepSpeed's tag pointer).

Each checkpoint holds the DeepSpeed state (module, ZeRO-partitioned optimizer, LR scheduler: exact
resume), the resolved config (config.yaml), the tokenizer (tokenizer/), the model's transformers
config (model_config/, plus adapter/ for LoRA; what export needs to rebuild the model), the data
position and run facts (trainer_state.json; also in DeepSpeed's client state) and per-rank RNG states.
DeepSpeed writes `latest` only after every file is written, so a kill mid-save leaves the previous
checkpoint as the latest.
"""
from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.config import save_config

PREFIX = "checkpoint-"
STATE_FILE = "trainer_state.json"


def tag_for(step: int) -> str:
    return f"{PREFIX}{step}"


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The checkpoint `latest` points at, or None."""
    latest = Path(output_dir) / "latest"
    if not latest.is_file():
        return None
    path = Path(output_dir) / latest.read_text().strip()
    return path if path.is_dir() else None


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    found = [p for p in Path(output_dir).glob(f"{PREFIX}*") if re.fullmatch(rf"{PREFIX}\d+", p.name)]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX):]))


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def write_metadata(ckpt: Path, cfg, tokenizer, lm, state: dict[str, Any], protocol=None) -> None:
    """Rank 0: the non-DeepSpeed files of a checkpoint (and the judging protocol it is trained for)."""
    from train.modeling import base_causal_lm

    ckpt.mkdir(parents=True, exist_ok=True)
    save_config(cfg, ckpt)
    if protocol is not None:
        protocol.save(ckpt)
    tokenizer.save_pretrained(ckpt / "tokenizer")
    base = base_causal_lm(lm)
    base.config.save_pretrained(ckpt / "model_config")
    if getattr(base, "generation_config", None) is not None:
        base.generation_config.save_pretrained(ckpt / "model_config")
    if hasattr(lm, "peft_config"):
        lm.peft_config["default"].save_pretrained(ckpt / "adapter")
    (ckpt / STATE_FILE).write_text(json.dumps(state, indent=1))


def save_checkpoint(engine, output_dir: str | Path, step: int, cfg, tokenizer, lm, state: dict[str, Any],
                    rank: int, keep_last: int = 0, protocol=None) -> Path:
    """Collective: every rank must call it."""
    import torch.distributed as dist

    ckpt = Path(output_dir) / tag_for(step)
    if rank == 0:
        write_metadata(ckpt, cfg, tokenizer, lm, state, protocol)
    dist.barrier()
    torch.save(rng_state(), ckpt / f"rng_state_{rank}.pt")
    engine.save_checkpoint(str(output_dir), tag=ckpt.name, client_state={"trainer_state": state})
    dist.barrier()
    if rank == 0 and keep_last > 0:
        for old in list_checkpoints(output_dir)[:-keep_last]:
            shutil.rmtree(old, ignore_errors=True)
    return ckpt


def load_checkpoint(engine, output_dir: str | Path, rank: int) -> dict[str, Any] | None:
    """Restores engine (weights, optimizer, scheduler) and this rank's RNG from the latest checkpoint;
    returns its trainer state, or None when there is no checkpoint."""
    ckpt = latest_checkpoint(output_dir)
    if ckpt is None:
        return None
    path, client = engine.load_checkpoint(str(output_dir), tag=ckpt.name)
    if path is None:
        raise RuntimeError(f"DeepSpeed could not load {ckpt}")
    rng_file = ckpt / f"rng_state_{rank}.pt"
    if rng_file.exists():
        set_rng_state(torch.load(rng_file, weights_only=False))
    state = (client or {}).get("trainer_state")
    if state is None:
        state = json.loads((ckpt / STATE_FILE).read_text())
    return state


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint dir, or a run's output_dir (-> its latest checkpoint)."""
    p = Path(path)
    if (p / STATE_FILE).exists():
        return p
    latest = latest_checkpoint(p)
    if latest is not None:
        return latest
    found = list_checkpoints(p)
    if found:
        return found[-1]
    raise FileNotFoundError(f"{p}: neither a checkpoint (no {STATE_FILE}) nor a run dir with checkpoints")


def save_final_model(engine, lm, out_dir: str | Path, tokenizer, rank: int, zero3: bool,
                     protocol=None) -> Path | None:
    """Collective. Writes the trained weights as a from_pretrained folder (a LoRA adapter folder with
    LoRA), with the judging protocol (judge_config.json) the model was trained for. Under ZeRO-3 the
    parameters are gathered layer by layer onto rank 0 first: saving the partitioned module directly
    would write empty tensors."""
    from train.loss import strip_wrapper_prefix

    out = Path(out_dir)
    if zero3:
        sd = engine._zero3_consolidated_16bit_state_dict()  # every rank takes part; full on rank 0
    else:
        sd = engine.module.state_dict() if rank == 0 else None
    if rank == 0:
        sd = strip_wrapper_prefix(sd)
        lm.save_pretrained(out, state_dict=sd, safe_serialization=True)
        tokenizer.save_pretrained(out)
        if protocol is not None:
            protocol.save(out)
    import torch.distributed as dist

    dist.barrier()
    return out if rank == 0 else None
