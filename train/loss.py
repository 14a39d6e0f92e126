"""The training objective: the mean cross-entropy over every trained token of the global batch.

Normalisation is per token, not per sequence: a step's loss is
    sum over all trained tokens of all micro-batches on all ranks of CE / N_global,
N_global being the number of trained tokens in the whole global batch (known before the first
micro-batch: the batches are collated up front and the counts all-reduced). So each micro-batch
contributes `sum_CE * world_size / N_global` to backward (DeepSpeed then averages the gradients over
ranks, and `engine.backward(scale_wrt_gas=False)` adds no 1/grad_accum): long examples weigh by their
tokens, and the result does not depend on how the batch is split into micro-batches or ranks.
(Averaging per-micro-batch means instead would over-weight tokens of sparse micro-batches.)

`CausalLMLoss` wraps the model so that its forward returns the summed CE: DeepSpeed sees one module,
and under ZeRO-3 the lm_head weight used by the fused loss is gathered like any other.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from train.data import IGNORE_INDEX

WRAPPER_PREFIX = "lm."  # state-dict keys of the wrapped model inside the engine's module


class CausalLMLoss(torch.nn.Module):
    """`selective`: the lm_head runs only on trained positions (typically ~10% of a judge trajectory),
    exact for architectures whose logits are just lm_head(hidden) (train.modeling.FUSED_CE_MODEL_TYPES)."""

    def __init__(self, lm: torch.nn.Module, fused_ce: bool = False, selective: bool = False):
        super().__init__()
        self.lm = lm
        self.fused_ce = fused_ce
        self.selective = selective
        self._flce = None
        if fused_ce:
            from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

            self._flce = LigerFusedLinearCrossEntropyLoss(reduction="sum", ignore_index=IGNORE_INDEX)

    def forward(self, labels: torch.Tensor, **model_kwargs) -> torch.Tensor:
        """Summed CE over positions whose (already shifted) label is not -100."""
        if self._flce is not None:
            from train.modeling import base_causal_lm

            lm = base_causal_lm(self.lm)
            hidden = lm.get_decoder()(**model_kwargs).last_hidden_state
            weight = lm.get_output_embeddings().weight
            return self._flce(weight, hidden.flatten(0, 1), labels.flatten())
        if self.selective:
            from train.modeling import base_causal_lm

            lm = base_causal_lm(self.lm)
            hidden = lm.get_decoder()(**model_kwargs).last_hidden_state
            keep = labels != IGNORE_INDEX
            logits = lm.get_output_embeddings()(hidden[keep])
            return F.cross_entropy(logits.float(), labels[keep], reduction="sum")
        logits = self.lm(**model_kwargs).logits
        return F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX,
                               reduction="sum")


def micro_loss_scale(world_size: int, n_trained_global: float) -> float:
    """What a micro-batch's summed CE is multiplied by before backward (see the module docstring)."""
    return world_size / max(float(n_trained_global), 1.0)


def strip_wrapper_prefix(state_dict: dict) -> dict:
    """Engine-module keys ('lm.model.layers...') -> the wrapped model's keys ('model.layers...')."""
    n = len(WRAPPER_PREFIX)
    return {(k[n:] if k.startswith(WRAPPER_PREFIX) else k): v for k, v in state_dict.items()}
