"""Attention for packed rows: examples in one row must never attend to each other.

Three ways, chosen once per run (`packed_attention_mode`):
- "varlen": flash-attn. The micro-batch is flattened to one row and transformers turns the restarting
  position ids into cu_seqlens (flash_attn_varlen_func); nothing is materialized.
- "position_ids": SDPA/eager with transformers >= 5 building the block-diagonal causal mask itself
  from position ids (masking_utils.find_packed_sequence_indices). It only does so when
  attention_mask is None and there is no KV cache, so the forward must pass use_cache=False. The
  claim is verified on this model's config before it is trusted.
- "mask" / "mask_eager": a 4-D block-diagonal causal mask built here (bool for SDPA, additive for eager); the fallback
  when the verification fails (older transformers, models whose mask code ignores position ids).
Both SDPA modes materialize a (B, 1, L, L) mask, like any padded SDPA batch.
"""
from __future__ import annotations

import torch


def segment_ids(position_ids: torch.Tensor) -> torch.Tensor:
    """[[0,1,2,0,1,0]] -> [[0,0,0,1,1,2]]: a new segment wherever positions do not increase by one."""
    first = position_ids[:, :1] - 1
    return (torch.diff(position_ids, prepend=first, dim=-1) != 1).cumsum(-1)


def block_causal_mask(position_ids: torch.Tensor) -> torch.Tensor:
    """(B, 1, L, L) bool: True where query i may attend key j (same segment and j <= i)."""
    seg = segment_ids(position_ids)
    L = seg.shape[-1]
    causal = torch.ones(L, L, dtype=torch.bool, device=seg.device).tril()
    return ((seg[:, :, None] == seg[:, None, :]) & causal)[:, None]


def additive(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Bool mask -> additive float mask (0 where allowed, dtype-min where not), for eager attention."""
    out = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
    return out.masked_fill(~mask, torch.finfo(dtype).min)


def transformers_builds_block_mask(model_config) -> bool:
    """Asks transformers for the mask of a packed probe row and checks it is the block-diagonal one."""
    try:
        from transformers.masking_utils import create_causal_mask
    except ImportError:
        return False
    pos = torch.tensor([[0, 1, 2, 0, 1, 0, 1, 2, 3]])
    embeds = torch.zeros(1, pos.shape[1], 1)
    try:
        got = create_causal_mask(model_config, embeds, None, None, position_ids=pos)
    except Exception:  # noqa: BLE001 - any failure means "do not trust it"
        return False
    if not isinstance(got, torch.Tensor) or got.dim() != 4:
        return False
    if got.dtype != torch.bool:
        got = got == 0
    return bool(torch.equal(got.expand(1, 1, *got.shape[-2:]), block_causal_mask(pos)))


def packed_attention_mode(model_config, attn_impl: str) -> str:
    if attn_impl.startswith("flash_attention"):
        return "varlen"
    if attn_impl in ("sdpa", "eager") and transformers_builds_block_mask(model_config):
        return "position_ids"
    if getattr(model_config, "sliding_window", None) and getattr(model_config, "use_sliding_window", True):
        raise ValueError("packing with sliding-window attention needs flash-attn or transformers' own masking")
    return "mask_eager" if attn_impl == "eager" else "mask"


def forward_kwargs(batch: dict, mode: str | None, dtype: torch.dtype, device: torch.device) -> dict:
    """The model-forward arguments of a collated micro-batch (moved to `device`)."""
    kw = {"input_ids": batch["input_ids"].to(device), "use_cache": False}
    if "attention_mask" in batch:  # padded, not packed
        kw["attention_mask"] = batch["attention_mask"].to(device)
        return kw
    pos = batch["position_ids"].to(device)
    kw["position_ids"] = pos
    if mode == "mask":  # sdpa takes the bool mask as is
        kw["attention_mask"] = block_causal_mask(pos)
    elif mode == "mask_eager":
        kw["attention_mask"] = additive(block_causal_mask(pos), dtype)
    return kw
