"""What a GRPO step reports (train.rl): the rollouts' reward, accuracy, format and tool-call rates,
order preference and informative groups, speed and the update's stats (metrics.jsonl), and the
rollouts' conversations (rollouts.jsonl)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def step_metrics(trajs, rewards, eps, t_roll, t_upd, engine, upd, d) -> dict[str, Any]:
    from train.step import _global_sum

    n = len(trajs)
    gen_tokens = sum(sum(ep.ledger.mask) for ep in eps)
    slotted = [t for t in trajs if t.parse_ok and t.score is None]  # pairwise/listwise verdicts, as judgment_stats
    local = [sum(rewards), sum(bool(t.correct) for t in trajs), sum(not t.parse_ok for t in trajs),
             sum(t.tool_calls for t in trajs), sum(t.invalid_tool_calls for t in trajs), gen_tokens, n,
             sum(t.verdict == "A" for t in slotted), len(slotted)]
    spread: dict[str, set[float]] = {}  # a step samples a task once, so task ids are its groups
    for t, r in zip(trajs, rewards):
        spread.setdefault(t.task_id, set()).add(r)
    local += [sum(len(v) > 1 for v in spread.values()), len(spread)]
    tot = _global_sum([float(x) for x in local], d.device)
    n_all = max(tot[6], 1.0)
    return {"reward": tot[0] / n_all, "accuracy": tot[1] / n_all, "parse_failure_rate": tot[2] / n_all,
            "tool_calls": tot[3] / n_all, "invalid_tool_calls": tot[4] / n_all, "response_tokens": tot[5] / n_all,
            "position_a_rate": tot[7] / tot[8] if tot[8] else None,  # the order preference GRPO can learn
            # groups whose rewards differ: the only ones with a non-zero advantage (DAPO's dynamic-sampling signal)
            "informative_group_rate": tot[9] / tot[10] if tot[10] else None,
            "rollout_s": t_roll, "update_s": t_upd, "rollout_tokens_per_s": gen_tokens / t_roll if t_roll else None,
            "lr": float(engine.get_lr()[0]), **upd}


def write_rollouts(out: Path, step: int, trajs, rewards) -> None:
    with open(out / "rollouts.jsonl", "a", encoding="utf-8") as f:
        for t, r in zip(trajs, rewards):
            f.write(json.dumps({"step": step, "reward": r, "task_id": t.task_id, "order": t.order,
                                "verdict": t.verdict, "correct": t.correct, "messages": t.messages}) + "\n")
