"""GRPO pieces for the judge: rewards from trajectories, group-normalised advantages, the clipped
policy loss over policy-generated tokens only. Pure functions; train/rl.py drives them."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class RewardConfig:
    correct: float = 1.0            # a right verdict
    wrong: float = 0.0              # a wrong verdict (or a tie when the task has a strict gold)
    invalid: float = 0.0            # no valid final answer, or any malformed/invalid tool call
    extra_call_cost: float = 0.05   # per tool call beyond the budget
    require_final_answer: bool = True  # skill settings: the verdict must come through final_answer


def judge_reward(traj: Any, budget: int | None, cfg: RewardConfig) -> float:
    """Verdict correctness against the gold, gated by a valid final answer and valid tool calls,
    minus a small cost per tool call past the budget. `traj` is a model.records.Trajectory."""
    via_final = traj.meta.get("parse") == "final_answer" or traj.setting == "baseline"
    if not traj.parse_ok or traj.invalid_tool_calls or (cfg.require_final_answer and not via_final):
        return cfg.invalid
    reward = cfg.correct if traj.correct else cfg.wrong
    if budget is not None:
        reward -= cfg.extra_call_cost * max(0, traj.tool_calls - budget)
    return reward


def group_advantages(rewards: Sequence[float], groups: Sequence[Any], eps: float = 1e-4,
                     scale_by_std: bool = True) -> list[float]:
    """(r - mean of its group) / (std of its group + eps); a group whose rewards are all equal gets 0
    (no signal: every sample was as good as the others)."""
    members: dict[Any, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    adv = [0.0] * len(rewards)
    for idx in members.values():
        vals = torch.tensor([float(rewards[i]) for i in idx], dtype=torch.float64)
        centred = vals - vals.mean()
        std = vals.std(unbiased=False) if len(idx) > 1 else torch.tensor(0.0, dtype=torch.float64)
        if scale_by_std and std > 0:
            centred = centred / (std + eps)
        for i, a in zip(idx, centred.tolist()):
            adv[i] = a
    return adv


def policy_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, clip_eps: float,
                ref_logp: torch.Tensor | None = None, kl_coef: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Summed (not averaged) clipped surrogate over the given policy tokens, plus a k3 KL penalty to
    the reference policy. All tensors are flat over the same selected tokens; the caller divides by
    the number of policy tokens of the global batch (token-level normalisation)."""
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages
    per_token = -torch.minimum(unclipped, clipped)
    stats = {"clip_frac": float(((ratio - 1).abs() > clip_eps).float().mean()) if ratio.numel() else 0.0}
    if ref_logp is not None and kl_coef > 0:
        delta = ref_logp - logp
        kl = torch.exp(delta) - delta - 1  # k3: unbiased, non-negative estimator of KL(policy || ref)
        per_token = per_token + kl_coef * kl
        stats["kl"] = float(kl.detach().mean()) if kl.numel() else 0.0
    return per_token.sum(), stats
