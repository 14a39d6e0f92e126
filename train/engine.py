"""DeepSpeed: process group, ZeRO config ("auto" values filled from the train config), optimizer,
LR schedule and the engine.

One code path for every scale: without a launcher (plain `python -m train.sft`) a 1-rank group is
created here; under `deepspeed` / `torchrun` the launcher's RANK / WORLD_SIZE / MASTER_* are used.
On machines without CUDA DeepSpeed runs on its CPU accelerator (DS_ACCELERATOR=cpu, gloo).
"""
from __future__ import annotations

import copy
import json
import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from model.config import REPO_ROOT
from train.config import SFTConfig, grad_accum_steps

DS_CONFIG_DIR = REPO_ROOT / "configs" / "deepspeed"


@dataclass
class Dist:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_accelerator_env() -> None:
    """DeepSpeed picks its accelerator at import: make it the CPU one where there is no CUDA."""
    if not torch.cuda.is_available():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")


_OWN_PORT = "SKILLRM_SINGLE_PROCESS_PORT"


def launched_by_launcher() -> bool:
    """True under deepspeed / torchrun. The single-process setup below writes the same variables into
    os.environ (DeepSpeed reads them); a child process inheriting them from such a parent (a test, a
    notebook, a pipeline script) must not mistake them for a launcher's, or it would bind the parent's
    port. The parent marks its port, and a launcher's MASTER_PORT never equals that mark."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return False
    return os.environ.get(_OWN_PORT) != os.environ.get("MASTER_PORT")


def init_distributed() -> Dist:
    """Joins (or, without a launcher, creates) the process group; idempotent."""
    prepare_accelerator_env()
    import deepspeed
    import torch.distributed as dist

    if not launched_by_launcher():
        port = str(_free_port())
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
        os.environ[_OWN_PORT] = port
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        deepspeed.init_distributed(dist_backend="nccl" if torch.cuda.is_available() else "gloo",
                                   verbose=False)
    return Dist(dist.get_rank(), dist.get_world_size(), local_rank, device)


# ---------------------------------------------------------------------------------------- ZeRO config

def load_ds_template(name_or_path: str) -> dict[str, Any]:
    p = Path(name_or_path)
    if not p.suffix:
        p = DS_CONFIG_DIR / f"{name_or_path}.json"
    if not p.exists():
        known = sorted(x.stem for x in DS_CONFIG_DIR.glob("*.json"))
        raise FileNotFoundError(f"DeepSpeed config {name_or_path!r} not found (known: {known}, or a .json path)")
    return json.loads(p.read_text())


def _fill(node: Any, values: dict[str, Any], path: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _fill(v, values, f"{path}.{k}" if path else k) for k, v in node.items()}
    if node == "auto":
        if path not in values:
            raise ValueError(f"DeepSpeed config: no value to fill 'auto' at {path}")
        return values[path]
    return node


def build_ds_config(cfg: SFTConfig, world_size: int, precision: str, hidden_size: int | None) -> dict[str, Any]:
    """The DeepSpeed config with every "auto" filled (batch sizes, clipping, bf16, bucket sizes).
    `precision` is the resolved one (train.precision): bf16 turns on DeepSpeed's bf16 mode (bf16
    weights, fp32 optimizer masters); amp_bf16 keeps fp32 weights and adds DeepSpeed's torch_autocast."""
    if precision not in ("fp32", "bf16", "amp_bf16"):
        raise ValueError(f"build_ds_config needs a resolved precision (train.precision.resolve), got {precision!r}")
    template = load_ds_template(cfg.deepspeed)
    h = hidden_size or 1024
    values = {
        "train_batch_size": cfg.global_batch_size,
        "train_micro_batch_size_per_gpu": cfg.micro_batch_size,
        "gradient_accumulation_steps": grad_accum_steps(cfg, world_size),
        "gradient_clipping": float(cfg.max_grad_norm),
        "bf16.enabled": precision == "bf16",
        "fp16.enabled": False,
        # the values transformers' Trainer derives from the hidden size
        "zero_optimization.reduce_bucket_size": h * h,
        "zero_optimization.stage3_prefetch_bucket_size": int(0.9 * h * h),
        "zero_optimization.stage3_param_persistence_threshold": 10 * h,
    }
    ds = _fill(copy.deepcopy(template), values)
    if precision == "amp_bf16":
        ds["torch_autocast"] = {"enabled": True, "dtype": "bfloat16"}
    if not torch.cuda.is_available():
        # pinned memory needs CUDA; the CPU accelerator trains fp32 only
        for key in ("offload_optimizer", "offload_param"):
            if key in ds.get("zero_optimization", {}):
                ds["zero_optimization"][key]["pin_memory"] = False
    return ds


def zero_stage(ds_config: dict[str, Any]) -> int:
    return int(ds_config.get("zero_optimization", {}).get("stage", 0))


def offloads_optimizer(ds_config: dict[str, Any]) -> bool:
    off = ds_config.get("zero_optimization", {}).get("offload_optimizer") or {}
    return off.get("device", "none") not in ("none", None)


# ---------------------------------------------------------------------------------------- optimizer

def lr_lambda(total_steps: int, warmup_steps: int, min_lr_ratio: float):
    """Linear warmup to 1 over warmup_steps, then cosine down to min_lr_ratio at total_steps."""

    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return f


def warmup_steps_for(cfg: SFTConfig, total_steps: int) -> int:
    return cfg.warmup_steps or int(round(cfg.warmup_ratio * total_steps))


def param_groups(module: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Decay matrices only (not biases, norms): shape from ds_shape under ZeRO-3 partitioning."""
    decay, no_decay = [], []
    for p in module.parameters():
        if not p.requires_grad:
            continue
        ndim = len(getattr(p, "ds_shape", p.shape))
        (decay if ndim >= 2 else no_decay).append(p)
    # an empty group would be dropped by DeepSpeed and then mismatch the LR scheduler's groups
    groups = [{"params": ps, "weight_decay": wd} for ps, wd in ((decay, weight_decay), (no_decay, 0.0)) if ps]
    return groups


def make_optimizer(module: torch.nn.Module, cfg: SFTConfig, ds_config: dict[str, Any]):
    """AdamW. With optimizer offload DeepSpeed's CPU Adam (a C++ op built on first use) is the fast
    path; if it cannot be built, torch AdamW runs on the offloaded fp32 states instead."""
    groups = param_groups(module, cfg.weight_decay)
    kw = dict(lr=cfg.lr, betas=tuple(cfg.adam_betas), eps=cfg.adam_eps)
    if offloads_optimizer(ds_config):
        try:
            from deepspeed.ops.adam import DeepSpeedCPUAdam

            return DeepSpeedCPUAdam(groups, adamw_mode=True, **kw)
        except Exception as e:  # noqa: BLE001 - op build failures come in many types
            import warnings

            warnings.warn(f"DeepSpeedCPUAdam unavailable ({e}); using torch AdamW on the offloaded states",
                          stacklevel=2)
            ds_config["zero_force_ds_cpu_optimizer"] = False
    return torch.optim.AdamW(groups, **kw)


def make_engine(module: torch.nn.Module, cfg: SFTConfig, ds_config: dict[str, Any], total_steps: int):
    """deepspeed.initialize with a client AdamW + warmup/cosine LambdaLR (stepped by the engine at
    each accumulation boundary; both are in the checkpoint)."""
    import deepspeed

    optimizer = make_optimizer(module, cfg, ds_config)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(total_steps, warmup_steps_for(cfg, total_steps), cfg.min_lr_ratio))
    engine, _, _, _ = deepspeed.initialize(model=module, optimizer=optimizer, lr_scheduler=sched,
                                           config=ds_config)
    return engine


def zero3_init_context(ds_config: dict[str, Any]):
    """With ZeRO-3, transformers must build/load the model already partitioned (deepspeed.zero.Init);
    it reads the config through this object, which must stay alive while models are created."""
    from transformers.integrations.deepspeed import HfDeepSpeedConfig, unset_hf_deepspeed_config

    if zero_stage(ds_config) != 3:
        unset_hf_deepspeed_config()  # a ZeRO-3 run earlier in this process must not leak into this one
        return None

    return HfDeepSpeedConfig(ds_config)


def quiet_deepspeed() -> None:
    """DeepSpeed's info logs, and torch's per-call deprecation warnings for the collectives DeepSpeed
    uses (hundreds per step under ZeRO-3), drown the training log."""
    import logging
    import warnings

    from deepspeed.utils import logger

    logger.setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r"`torch\.distributed\.\w+` is deprecated", category=FutureWarning)
