"""Judge CLI: run any model as a judge, in any setting, over a pairwise (or JudgeTask) JSONL file.

    python -m model.judge --model outputs/quickstart/sft_skill/final_model \
        --input pairs.jsonl --output judgments.jsonl

Pairwise tasks are judged in both candidate orders (`--one-order` opts out; a generic pair always lists
the chosen response first, so one order would reward a judge that always answers A). The setting, prompt
style, tie policy and limits default to the judge's trained protocol (judge_config.json in its folder);
flags override them, with a warning when they differ from it. One output row per judgment, appended as
produced; rerunning the same command skips the judgments already there. An output file belongs to one
judge: rerunning with another model, backend or protocol into it is refused.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from model.agent import AgentConfig
from model.backends.config import add_backend_args, backend_config_from_args, make_backend
from model.jsonl import Rejects
from model.judging import judge_tasks, load_tasks, new_writer
from model.judgment_stats import behaviour
from model.protocol import PROMPT_STYLES, SETTING_NAMES, SKILL_OPERATIONAL, resolve_settings


def summarize(rows: list[dict[str, Any]]) -> str:
    """Per setting: pair accuracy (both orders, vote sum > 0) first, then the judge's behaviour."""
    lines = ["| setting | pairs | pair accuracy | judgments | parse failures | single-order accuracy | "
             "position-A rate | tool calls / judgment |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for setting in dict.fromkeys(r["setting"] for r in rows):
        b = behaviour([r for r in rows if r["setting"] == setting])
        pair = f"{b['pair_accuracy']:.3f}" if b["pairs"] else "-"
        lines.append(f"| {setting} | {b['pairs']} | {pair} | {b['judgments']} | {b['parse_failures']} | "
                     f"{b['single_order_accuracy']:.3f} | {b['position_a_rate']:.3f} | "
                     f"{b['tool_calls_per_judgment']:.2f} |")
        if b["constant_answer"]:
            notes.append(f"note: in {setting} the judge answered {b['constant_answer']} every time")
    return "\n".join(lines + notes)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m model.judge", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m", help="model spec (embedded name, Hub id, folder, .gguf, "
                   "LoRA adapter folder) or the served model name for --backend openai")
    p.add_argument("--setting", action="append", choices=SETTING_NAMES,
                   help="repeatable; default: the judge's trained settings, else skill_operational")
    p.add_argument("--input", required=True, help="JSONL: generic pairs {id,prompt,chosen,rejected,reference?} "
                   "or JudgeTask rows")
    p.add_argument("--output", required=True, help="JSONL of judgments (appended; resumable)")
    p.add_argument("--one-order", action="store_true", help="judge pairwise tasks in the stored order only")
    p.add_argument("--limit", type=int, help="judge only the first N tasks")
    p.add_argument("--max-steps", type=int, help="default: the judge's protocol, else 8")
    p.add_argument("--max-new-tokens", type=int, help="default: the judge's protocol, else 512")
    p.add_argument("--prompt-style", choices=PROMPT_STYLES, help="default: the judge's protocol, else full")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skills-dir", default="skills")
    p.add_argument("--save-messages", action="store_true", help="store each judgment's full conversation")
    p.add_argument("--rejects", help="where malformed input rows go (default: OUTPUT.rejects.jsonl)")
    p.add_argument("--no-progress", action="store_true")
    add_backend_args(p)
    return p


def check_output_owner(output: str, identity: dict[str, Any]) -> None:
    """OUTPUT.judge.json records who wrote the file; another judge may not append to it."""
    path = Path(f"{output}.judge.json")
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        diffs = sorted(k for k in identity if old.get(k) != identity[k])
        if diffs:
            raise SystemExit(f"error: {output} holds judgments of another judge (different {', '.join(diffs)}; "
                             f"see {path}); use another --output")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(identity, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not Path(args.input).is_file():
        print(f"error: --input {args.input}: no such file", file=sys.stderr)
        return 2
    try:
        backend_cfg = backend_config_from_args(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rejects = Rejects(args.rejects or f"{args.output}.rejects.jsonl")
    tasks = load_tasks(args.input, rejects, args.limit)
    if len(rejects):
        print(f"{len(rejects)} malformed input rows skipped -> {rejects.path}", file=sys.stderr)
    rejects.close()
    from model.loading import protocol_for_model

    protocol = protocol_for_model(args.model) if backend_cfg.kind in ("hf", "vllm") else None
    settings = resolve_settings(args.setting, protocol, "model.judge", default=SKILL_OPERATIONAL)
    cfg = AgentConfig(max_steps=args.max_steps, max_new_tokens=args.max_new_tokens, prompt_style=args.prompt_style,
                      temperature=args.temperature, seed=args.seed, skills_dir=args.skills_dir
                      ).resolved(protocol, "model.judge")
    check_output_owner(args.output, {"model": args.model, "backend": dataclasses.asdict(backend_cfg),
                                     "agent": dataclasses.asdict(cfg)})
    backend = make_backend(args.model, backend_cfg)
    new = 0
    with new_writer(args.output) as writer:
        already = len(writer.done)
        for setting in settings:
            stats = judge_tasks(backend, tasks, setting, writer, cfg, both_orders=not args.one_order,
                                save_messages=args.save_messages, progress=not args.no_progress,
                                model_name=args.model)
            new += stats["judgments"]
        ids = {t.id for t in tasks}
        rows = [r for r in writer.rows if r["task_id"] in ids and r["setting"] in settings]
    backend.close()
    print(f"{len(tasks)} tasks, {new} new judgments ({already} resumed) -> {args.output}")
    print(summarize(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
