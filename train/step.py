"""One optimizer step over a global batch: shared by train.sft and scripts/bench_sft.py."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from train.attention import forward_kwargs
from train.loss import micro_loss_scale


@dataclass
class StepResult:
    loss: float  # mean CE per trained token of the global batch
    grad_norm: float | None  # before clipping
    lr: float
    tokens: int  # real (non-pad) tokens, all ranks
    trained_tokens: int  # all ranks
    seconds: float


def _global_sum(values: list[float], device: torch.device) -> list[float]:
    t = torch.tensor(values, dtype=torch.float64, device=device)
    if dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(t)
    return t.tolist()


def train_step(engine, batches: list[dict[str, Any]], attn_mode: str | None, device: torch.device,
               dtype: torch.dtype) -> StepResult:
    """Forward/backward over this rank's micro-batches, then the optimizer step (at the last one).

    Token counts are all-reduced first so every micro-batch is normalised by the trained tokens of
    the whole global batch (train/loss.py)."""
    t0 = time.perf_counter()
    world = dist.get_world_size() if dist.is_initialized() else 1
    n_trained, n_tokens = _global_sum([sum(b["n_trained"] for b in batches),
                                       sum(b["n_tokens"] for b in batches)], device)
    scale = micro_loss_scale(world, n_trained)
    lr = float(engine.get_lr()[0])
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    for b in batches:
        summed = engine(labels=b["labels"].to(device), **forward_kwargs(b, attn_mode, dtype, device))
        engine.backward(summed * scale, scale_wrt_gas=False)
        engine.step()
        loss_sum += summed.detach().double()
    (total,) = _global_sum([loss_sum.item()], device)
    gn = engine.get_global_grad_norm()
    gn = float(gn) if gn is not None else None
    return StepResult(total / max(n_trained, 1.0), gn, lr, int(n_tokens), int(n_trained), time.perf_counter() - t0)
