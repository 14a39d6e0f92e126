"""Run logging on rank 0: metrics.jsonl (always), wandb (offline unless configured), a tqdm bar.

Throughput is counted in real tokens (no padding) over all ranks. MFU (GPU only) uses the usual
6 * N flops per token for full fine-tuning (forward 2N + backward 4N; attention's L^2 term ignored),
4 * N with LoRA (no weight gradients for the frozen base), over `peak_tflops` per GPU.
"""
from __future__ import annotations

import json
import os
import resource
from pathlib import Path
from typing import Any

import torch


def flops_per_token(n_params: int, lora: bool) -> float:
    return (4 if lora else 6) * n_params


def mfu(tokens_per_s: float, n_params: int, lora: bool, world_size: int, peak_tflops: float) -> float | None:
    if not torch.cuda.is_available():
        return None
    return flops_per_token(n_params, lora) * tokens_per_s / (peak_tflops * 1e12 * world_size)


def peak_memory_gib() -> float:
    """Peak accelerator memory (CUDA max allocated) or, on CPU, the process's peak RSS."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def truncate_jsonl_after(path: Path, step: int) -> None:
    """On resume: drop entries logged after the checkpoint (they will be logged again)."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                keep.append(line)
        except json.JSONDecodeError:
            continue  # a partial last line from a kill
    path.write_text("".join(k + "\n" for k in keep))


class MetricsLogger:
    def __init__(self, run_dir: str | Path, cfg, is_main: bool, total_steps: int, start_step: int = 0,
                 desc: str = "sft"):
        self.is_main = is_main
        self.path = Path(run_dir) / "metrics.jsonl"
        self._wandb = None
        self._bar = None
        if not is_main:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        truncate_jsonl_after(self.path, start_step)
        if cfg.wandb and cfg.wandb_mode != "disabled" and os.environ.get("WANDB_MODE") != "disabled":
            self._wandb = _init_wandb(Path(run_dir), cfg)
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total_steps, initial=start_step, desc=desc, dynamic_ncols=True)

    def tick(self) -> None:
        """One optimizer step done (the progress bar)."""
        if self._bar is not None:
            self._bar.update(1)

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        if not self.is_main:
            return
        row = {"step": step, **{k: v for k, v in metrics.items() if v is not None}}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        if self._wandb is not None:
            self._wandb.log({k: v for k, v in row.items() if isinstance(v, (int, float))}, step=step)
        if self._bar is not None and "loss" in row:
            self._bar.set_postfix(loss=f"{row['loss']:.4f}", lr=f"{row.get('lr', 0):.2e}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._wandb is not None:
            self._wandb.finish()


def _init_wandb(run_dir: Path, cfg):
    import dataclasses
    import uuid

    import wandb

    id_file = run_dir / "wandb_id.txt"  # a resumed run logs into the same wandb run
    run_id = id_file.read_text().strip() if id_file.exists() else uuid.uuid4().hex[:12]
    id_file.write_text(run_id)
    return wandb.init(project=cfg.wandb_project, name=cfg.run_name or run_dir.name, id=run_id, resume="allow",
                      dir=str(run_dir), mode=cfg.wandb_mode, config=dataclasses.asdict(cfg))
