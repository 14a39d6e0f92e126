"""Judge CLI: run any model as a judge, in any setting, over a pairwise (or JudgeTask) JSONL file.

    python -m model.judge --model smollm2-135m --setting skill_operational \
        --input pairs.jsonl --output judgments.jsonl --both-orders

One output row per judgment (task x order), appended as it is produced; re-running the same command
skips the judgments already in the output file, so a killed run resumes without loss or duplicates.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from model.agent import AgentConfig, load_skills, run_agent
from model.backends import BACKENDS, Backend, make_backend
from model.jsonl import Rejects, ResumableWriter, load_records
from model.protocol import SETTING_NAMES
from model.records import JudgeTask, Trajectory, task_from_any


def judgment_key(row: dict[str, Any]) -> tuple:
    return (row["task_id"], tuple(row["order"]), row.get("sample_index", 0))


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
    if save_messages:
        row["messages"] = traj.messages
    return row


def judge_tasks(backend: Backend, tasks: Iterable[JudgeTask], setting: str, writer: ResumableWriter,
                cfg: AgentConfig | None = None, both_orders: bool = True, chunk_size: int = 32,
                save_messages: bool = False, progress: bool = True, model_name: str = "",
                order_fn: Any = None) -> dict[str, float]:
    """Judges every task (both candidate orders for pairwise when asked) not already in `writer`.

    `order_fn(task) -> list[order]` overrides the orders (e.g. IF-RewardBench's position maps).
    Returns throughput numbers for this call.
    """
    from tqdm import tqdm

    cfg = cfg or AgentConfig()
    skills = load_skills(cfg)
    items = []
    for task in tasks:
        for order in (order_fn(task) if order_fn else task.orders(both_orders)):
            if judgment_key({"task_id": task.id, "order": order}) not in writer.done:
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
    tasks = load_records(path, lambda r: task_from_any(r, source=Path(path).stem), rejects)
    return tasks[:limit] if limit else tasks


def summarize(rows: list[dict[str, Any]]) -> str:
    """A small markdown table: judgments, parse failures, accuracy, position-A rate, tool calls."""
    n = len(rows)
    parsed = [r for r in rows if r["parse_ok"]]
    graded = [r for r in rows if r.get("correct") is not None]
    acc = sum(bool(r["correct"]) for r in graded) / len(graded) if graded else float("nan")
    pos_a = sum(r["verdict"] == "A" for r in parsed) / len(parsed) if parsed else float("nan")
    tools = sum(r["tool_calls"] for r in rows) / n if n else 0.0
    lines = ["| judgments | parse failures | accuracy (per judgment) | position-A rate | tool calls / judgment |",
             "|---:|---:|---:|---:|---:|",
             f"| {n} | {n - len(parsed)} | {acc:.3f} | {pos_a:.3f} | {tools:.2f} |"]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m model.judge", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m", help="model spec (embedded name, Hub id, folder, .gguf, "
                   "LoRA adapter folder) or the served model name for --backend openai")
    p.add_argument("--setting", choices=SETTINGS, default="skill_operational")
    p.add_argument("--input", required=True, help="JSONL: generic pairs {id,prompt,chosen,rejected,reference?} "
                   "or JudgeTask rows")
    p.add_argument("--output", required=True, help="JSONL of judgments (appended; resumable)")
    p.add_argument("--both-orders", action="store_true", help="judge pairwise tasks in both candidate orders")
    p.add_argument("--backend", choices=BACKENDS, default="hf")
    p.add_argument("--base-url", action="append", help="OpenAI-compatible server URL (repeat for failover)")
    p.add_argument("--tool-mode", choices=["text", "native"], default="text", help="openai backend tool calls")
    p.add_argument("--limit", type=int, help="judge only the first N tasks")
    p.add_argument("--batch-size", type=int, default=8, help="hf backend batch size")
    p.add_argument("--max-steps", type=int, default=AgentConfig.max_steps)
    p.add_argument("--max-new-tokens", type=int, default=AgentConfig.max_new_tokens)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prompt-style", choices=["full", "compact"], default=None,
                   help="the prompt style the judge was trained with (compact: short system prompt); default: "
                   "the exported model's judge_config.json, else full")
    p.add_argument("--skills-dir", default="skills")
    p.add_argument("--save-messages", action="store_true", help="store each judgment's full conversation")
    p.add_argument("--rejects", help="where malformed input rows go (default: OUTPUT.rejects.jsonl)")
    p.add_argument("--no-progress", action="store_true")
    return p


def backend_from_args(args: argparse.Namespace) -> Backend:
    if args.backend == "hf":
        return make_backend("hf", args.model, batch_size=args.batch_size)
    if args.backend == "openai":
        return make_backend("openai", args.model, base_urls=args.base_url or [], tool_mode=args.tool_mode)
    return make_backend("vllm", args.model)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rejects = Rejects(args.rejects or f"{args.output}.rejects.jsonl")
    tasks = load_tasks(args.input, rejects, args.limit)
    if len(rejects):
        print(f"{len(rejects)} malformed input rows skipped -> {rejects.path}", file=sys.stderr)
    rejects.close()
    from model.loading import judge_defaults

    style = args.prompt_style or judge_defaults(args.model).get("prompt_style", "full")
    cfg = AgentConfig(max_steps=args.max_steps, max_new_tokens=args.max_new_tokens,
                      temperature=args.temperature, seed=args.seed, skills_dir=args.skills_dir,
                      prompt_style=style)
    backend = backend_from_args(args)
    with ResumableWriter(args.output, judgment_key) as writer:
        already = len(writer.done)
        stats = judge_tasks(backend, tasks, args.setting, writer, cfg, both_orders=args.both_orders,
                            save_messages=args.save_messages, progress=not args.no_progress, model_name=args.model)
        ids = {t.id for t in tasks}
        rows = [r for r in writer.rows if r["task_id"] in ids and r["setting"] == args.setting]
    print(f"{len(tasks)} tasks, {stats['judgments']} new judgments ({already} resumed) -> {args.output}")
    print(summarize(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
