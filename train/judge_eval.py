"""Judge accuracy on held-out tasks through the runtime: the periodic eval of train.sft (its default
eval_hook) and of train.rl. Greedy, both candidate orders, parse failures reported (never a label)."""
from __future__ import annotations

import dataclasses
from typing import Any

import torch

from model.agent import AgentConfig, load_skills, new_episode, run_episodes, to_trajectory
from model.records import JudgeTask


def load_heldout(path: str, limit: int) -> list[JudgeTask]:
    from model.config import resolve_path
    from model.judging import load_tasks

    return [t for t in load_tasks(resolve_path(path)) if t.gold is not None][:limit]


def judge_accuracy(backend: Any, tasks: list[JudgeTask], setting: str, agent: AgentConfig, skills: Any = None,
                   autocast: bool = False) -> dict[str, float]:
    agent = dataclasses.replace(agent, temperature=0.0, track_tokens=False)
    skills = skills if skills is not None else load_skills(agent)
    episodes = [new_episode(t, o, setting, skills, agent) for t in tasks for o in t.orders(True)]
    device_type = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.no_grad(), torch.autocast(device_type, dtype=torch.bfloat16, enabled=autocast):
        run_episodes(backend, episodes, agent)
    trajs = [to_trajectory(ep, backend.describe()) for ep in episodes]
    n = len(trajs) or 1
    return {"accuracy": sum(bool(t.correct) for t in trajs) / n,
            "parse_failure_rate": sum(not t.parse_ok for t in trajs) / n,
            "tool_calls": sum(t.tool_calls for t in trajs) / n,
            "judgments": len(trajs)}


def sft_eval_hook(model: Any, tokenizer: Any, step: int, cfg: Any) -> dict[str, float]:
    """train.sft's eval_hook: cfg.heldout_path (JudgeTask JSONL, e.g. data.generate's heldout.jsonl),
    judged in cfg.eval_setting with cfg.eval_agent by the model being trained."""
    from model.backends.config import BackendConfig, make_backend

    tasks = load_heldout(cfg.heldout_path, cfg.heldout_limit)
    device = str(next(model.parameters()).device)
    backend = make_backend("policy", BackendConfig(batch_size=16, device=device), model_obj=model, tokenizer=tokenizer)
    return judge_accuracy(backend, tasks, cfg.eval_setting, cfg.eval_agent,
                          autocast=cfg.precision == "amp_bf16")
