"""Judging tasks with any backend and writing one row per judgment: the library under model.judge,
eval.run, best-of-N and the in-training evals.

A judgment is one (task, setting, candidate order, sample). Its row (`judgment_row`) records the verdict,
whether it is correct, and the trace summary; `judge_tasks` appends rows to a ResumableWriter and skips
the judgments already there, so a killed run resumes without loss or duplicates.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any

from model.agent import AgentConfig, load_skills, run_agent
from model.backends import Backend
from model.jsonl import Rejects, ResumableWriter, iter_records
from model.records import JudgeTask, Trajectory, task_from_any


def judgment_key(row: dict[str, Any]) -> tuple:
    """What identifies a judgment in an output file (the judge itself is checked per file)."""
    return (row["task_id"], row["setting"], tuple(row["order"]), row.get("sample_index", 0))


def judgment_row(traj: Trajectory, task: JudgeTask, model: str, save_messages: bool = False) -> dict[str, Any]:
    """One prediction row: the verdict, its correctness and the trace summary (and the messages if asked)."""
    row = {
        "task_id": task.id, "source": task.source, "benchmark": task.meta.get("benchmark", task.source),
        "kind": task.kind, "domain": task.domain, "setting": traj.setting, "model": model,
        "order": traj.order, "sample_index": traj.meta.get("sample_index", 0),
        "verdict": traj.verdict, "choice": traj.choice, "score": traj.score, "parse_ok": traj.parse_ok,
        "parse": traj.meta.get("parse"), "parse_error": traj.meta.get("parse_error"),
        "correct": traj.correct, "gold": task.gold, "confidence": traj.confidence,
        "tool_calls": traj.tool_calls, "invalid_tool_calls": traj.invalid_tool_calls,
        "used_resources": traj.used_resources, "steps": traj.steps, "forced_final": traj.forced_final,
        "prompt_tokens": traj.prompt_tokens, "completion_tokens": traj.completion_tokens,
        "latency_s": traj.latency_s, "meta": task.meta,
    }
    if traj.meta.get("isolation"):
        row["isolation"] = traj.meta["isolation"]
    if save_messages:
        row["messages"] = traj.messages
    return row


def judge_tasks(backend: Backend, tasks: Iterable[JudgeTask], setting: str, writer: Any,
                cfg: AgentConfig | None = None, both_orders: bool = True, chunk_size: int = 32,
                save_messages: bool = False, progress: bool = True, model_name: str = "",
                order_fn: Any = None, skills: Any = None) -> dict[str, float]:
    """Judges every task (both candidate orders for pairwise unless told otherwise) not already in `writer`
    (anything with `done` keys and `write_many`). `order_fn(task) -> list[order]` overrides the orders
    (e.g. IF-RewardBench's position maps). Returns throughput numbers for this call."""
    from tqdm import tqdm

    cfg = (cfg or AgentConfig()).resolved()
    skills = skills if skills is not None else load_skills(cfg)
    items = []
    for task in tasks:
        for order in (order_fn(task) if order_fn else task.orders(both_orders)):
            if judgment_key({"task_id": task.id, "setting": setting, "order": order}) not in writer.done:
                items.append((task, order))
    t0 = time.perf_counter()
    n_tokens = 0
    bar = tqdm(total=len(items), desc=f"judge[{setting}]", unit="judgment", disable=not progress, file=sys.stderr)
    for start in range(0, len(items), chunk_size):
        chunk = items[start: start + chunk_size]
        trajs = run_agent(backend, chunk, setting, cfg, skills=skills)
        writer.write_many(judgment_row(tr, task, model_name or backend.describe(), save_messages)
                          for tr, (task, _) in zip(trajs, chunk))
        n_tokens += sum(tr.completion_tokens for tr in trajs)
        bar.update(len(chunk))
    bar.close()
    wall = time.perf_counter() - t0
    return {"judgments": len(items), "wall_s": round(wall, 3),
            "judgments_per_s": round(len(items) / wall, 4) if wall and items else 0.0,
            "generated_tokens": n_tokens, "generated_tokens_per_s": round(n_tokens / wall, 2) if wall else 0.0}


def load_tasks(path: str | Path, rejects: Rejects | None = None, limit: int | None = None) -> list[JudgeTask]:
    """JudgeTask rows or generic pairs `{id, prompt, chosen, rejected, reference?}` from a JSONL file.
    Bad rows (and a repeated task id) go to `rejects`; the first `limit` good tasks are read."""
    tasks = iter_records(path, lambda r: task_from_any(r, source=Path(path).stem), rejects, key=lambda t: t.id)
    return list(islice(tasks, limit or None))


def new_writer(path: str | Path) -> ResumableWriter:
    return ResumableWriter(path, judgment_key)
