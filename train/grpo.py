"""GRPO pieces for the judge: rewards from trajectories, group-normalised advantages, the clipped
policy loss over policy-generated tokens only. Pure functions; train/rl.py drives them."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from model.protocol import get_setting


@dataclass
class RewardConfig:
    correct: float = 1.0            # a right verdict
    wrong: float = 0.0              # a wrong verdict (or a tie when the task has a strict gold)
    invalid: float = 0.0            # a gate failed (below)
    extra_call_cost: float = 0.05   # per tool call beyond the budget
    require_final_answer: bool = True
    """Format gate: a verdict must parse, and in a tool setting come through final_answer."""
    require_valid_tool_calls: bool = True
    """Tool gate: any malformed, unknown, badly-argued or over-budget tool call voids the reward."""
    both_orders: bool = False
    """Consistency: a right verdict earns `correct` only when the rollout of the same task in the other
    candidate order (its twin in the group) is right too; else `wrong`. Punishes position bias directly."""


def judge_reward(traj: Any, budget: int | None, cfg: RewardConfig, twin_correct: bool | None = None) -> float:
    """Verdict correctness against the gold, gated by a valid format and valid tool calls, minus a
    small cost per tool call past the budget. `traj` is a model.records.Trajectory; `twin_correct`
    (with cfg.both_orders) whether its twin in the other candidate order is right."""
    via_final = traj.meta.get("parse") == "final_answer" or get_setting(traj.setting).direct
    if not traj.parse_ok or (cfg.require_final_answer and not via_final):
        return cfg.invalid
    if cfg.require_valid_tool_calls and traj.invalid_tool_calls:
        return cfg.invalid
    right = bool(traj.correct) and not (cfg.both_orders and twin_correct is False)
    reward = cfg.correct if right else cfg.wrong
    if budget is not None:
        reward -= cfg.extra_call_cost * max(0, traj.tool_calls - budget)
    return reward


def order_twins(groups: Sequence[Any], orders: Sequence[Sequence[int]]) -> list[int | None]:
    """For each rollout, the index of its twin: the next unpaired rollout of the same group whose
    candidate order is the reverse of its own (None when it has none, e.g. listwise tasks)."""
    twins: list[int | None] = [None] * len(groups)
    for i in range(len(groups)):
        if twins[i] is not None:
            continue
        for j in range(i + 1, len(groups)):
            if twins[j] is None and groups[j] == groups[i] and list(orders[j]) == list(orders[i])[::-1]:
                twins[i], twins[j] = j, i
                break
    return twins


def step_rewards(trajs: Sequence[Any], budgets: Sequence[int | None], groups: Sequence[Any],
                 cfg: RewardConfig) -> list[float]:
    """The reward of every rollout of a step (`groups`: each rollout's task), twins resolved."""
    twins = order_twins(groups, [t.order for t in trajs]) if cfg.both_orders else [None] * len(trajs)
    return [judge_reward(t, b, cfg, None if w is None else bool(trajs[w].correct))
            for t, b, w in zip(trajs, budgets, twins)]


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
