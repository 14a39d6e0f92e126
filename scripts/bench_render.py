"""Rendering speed of data.render: examples per second with the SmolLM2 tokenizer on this machine.

    .venv/bin/python scripts/bench_render.py [--n 600] [--workers 1 2]

Trajectories are realistic skill runs made by the real runtime (ScriptedBackend) on synthetic tasks:
3 messages (a direct final_answer) or 5 (one verifier call, its output, final_answer), after the
trailing tool reply is dropped. Rows:
  render_with_mask (model/)   the project helper on a plain tokenizer (end_of_turn_token rebuilds the
                              vocab dict on every call)
  encode_all, N workers       data.render.formats's path (vocab built once; process pool for N > 1)
  data.render end to end      load + filters + sft_skill/sft_direct/rl + datasets/JSONL/card, per kept
                              skill trajectory (includes the tokenizer load)
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.protocol import SKILL_OPERATIONAL  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def make_trajectories(n_tasks: int):
    from data.builders.synthetic import generate_synthetic
    from model.agent import AgentConfig, run_agent, tool_call
    from model.backends.scripted import ScriptedBackend

    tasks = generate_synthetic(n_tasks, seed=0, kinds=("arithmetic", "constraints"), verify=False)

    def policy(req):
        ep = req.context
        label = "AB"[ep.order.index(ep.task.gold)]
        turn = sum(1 for m in req.messages if m["role"] == "assistant")
        final = tool_call("final_answer", verdict=label, confidence=0.9, reason="the evidence separates them")
        if zlib.crc32(ep.task.id.encode()) % 3 == 0 or turn:  # a third decided directly
            return "The verifier output settles it.\n" + final if turn else "Easy case.\n" + final
        rid = "verifier.math_answer" if ep.task.domain == "math" else "verifier.instruction_checks"
        return "I will run the verifier that fits this task.\n" + tool_call("run_resource", resource_id=rid,
                                                                            reason="hard evidence")
    items = [(t, o) for t in tasks for o in t.orders()]
    return tasks, run_agent(ScriptedBackend(policy), items, SKILL_OPERATIONAL, AgentConfig())


def rate(fn, n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    return n / dt, dt


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=600, help="trajectories (2 per task)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = p.parse_args()

    from data.config import DataConfig
    from data.render.cli import render
    from data.render.formats import encode_all, prepare_tokenizer, skill_messages
    from model.chat_template import ensure_tool_template, render_with_mask
    from model.loading import load_tokenizer
    from model.tools import tool_specs

    tasks, trajs = make_trajectories(args.n // 2)
    jobs = [(skill_messages(t), t.setting) for t in trajs]
    n_msgs = sorted(len(m) for m, _ in jobs)
    tok, _ = prepare_tokenizer("smollm2-135m")
    lengths = [len(ids) for ids, _ in encode_all(jobs[:50], tok, "smollm2-135m", progress=False)]
    print(f"{len(jobs)} trajectories, {n_msgs[0]}-{n_msgs[-1]} messages, "
          f"~{sum(lengths) // len(lengths)} tokens each; {os.cpu_count()} CPUs")

    rows = []
    plain = ensure_tool_template(load_tokenizer("smollm2-135m"))
    sub = jobs[:100]
    r, dt = rate(lambda: [render_with_mask(plain, m, tool_specs(s)) for m, s in sub], len(sub))
    rows.append(("render_with_mask (model/)", len(sub), dt, r))
    for w in args.workers:
        r, dt = rate(lambda w=w: encode_all(jobs, tok, "smollm2-135m", workers=w, progress=False), len(jobs))
        rows.append((f"encode_all, {w} worker{'s' if w > 1 else ''}", len(jobs), dt, r))

    with tempfile.TemporaryDirectory() as tmp:
        gen = Path(tmp) / "gen"
        gen.mkdir()
        (gen / "tasks.jsonl").write_text("".join(json.dumps(t.to_dict()) + "\n" for t in tasks))
        (gen / "trajectories.jsonl").write_text("".join(json.dumps(t.to_dict()) + "\n" for t in trajs))
        for w in args.workers:
            cfg = DataConfig(output_dir=str(Path(tmp) / f"out{w}"), input_dir=str(gen), workers=w)
            cfg.render.show_example = False
            t0 = time.perf_counter()
            report = render(cfg, progress=False, out=io.StringIO())
            dt = time.perf_counter() - t0
            kept = report["kept"]["trajectories"]
            rows.append((f"data.render end to end, {w}w", kept, dt, kept / dt))

    print(f"\n{'path':<30} {'examples':>9} {'seconds':>8} {'examples/s':>11}")
    for name, n, dt, r in rows:
        print(f"{name:<30} {n:>9} {dt:>8.2f} {r:>11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
