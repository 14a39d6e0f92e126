"""Judge throughput: judgments/s of the eval path, and generated tokens/s of the batched hf backend.

Two modes, each printing a markdown table (and --json PATH for the numbers):

judge (default; CPU is fine): the embedded SmolLM2-135M judging a handful of synthetic verifiable pairs
(data/builders/synthetic.py; both orders) through model.judge.judge_tasks, i.e. exactly what eval.run does, in
`baseline` and `skill_operational`.
    python scripts/bench_judge.py --pairs 4

generate (meant for a GPU; keep it under ~3 minutes): generated tokens/s at batch B for P-token prompts,
N new tokens each, for
  - naive: one `model.generate` per prompt (measured on --naive-prompts of them),
  - hf backend, engine "generate" (padded static batches of B), with the dynamic and the static KV cache,
  - hf backend, engine "continuous" (transformers continuous batching, paged KV cache),
  - the vllm backend when vllm is installed.
Weights default to a random init of the model's shape (--weights random), so no path stops early at an
end-of-turn token and every path decodes the same number of tokens; --weights real uses the checkpoint.
    python scripts/bench_judge.py --mode generate --model smollm2-135m --batch 64 --prompt-tokens 1024 \\
        --new-tokens 256
Reference (H100, 135M-0.5B model): naive ~700-800 tokens/s; target >= 20x with batching.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.protocol import BASELINE, SKILL_OPERATIONAL  # noqa: E402

SHAPES = {  # random-init shapes (the tokenizer still comes from --model)
    "qwen2.5-0.5b": dict(
        model_type="qwen2",
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        vocab_size=151936,
        rms_norm_eps=1e-6,
        rope_theta=1000000.0,
        max_position_embeddings=32768,
        tie_word_embeddings=True,
    ),
}


def markdown(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> str:
    lines = ["| " + " | ".join(h for h, _ in cols) + " |", "|" + "|".join("---:" for _ in cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(k)) for _, k in cols) + " |")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.3f}" if v < 10 else f"{v:,.1f}"
    return str(v)


# --------------------------------------------------------------------------- judge mode


def bench_judge(args: argparse.Namespace) -> list[dict[str, Any]]:
    from data.builders.synthetic import generate_synthetic
    from model.agent import AgentConfig
    from model.backends import BackendConfig, make_backend
    from model.jsonl import ResumableWriter
    from model.judging import judge_tasks, judgment_key

    tasks = generate_synthetic(args.pairs, seed=args.seed, kinds=("arithmetic", "constraints"))
    t0 = time.perf_counter()
    backend = make_backend(args.model, BackendConfig(kind="hf", batch_size=args.batch_size))
    load_s = time.perf_counter() - t0
    cfg = AgentConfig(max_new_tokens=args.max_new_tokens, max_steps=args.max_steps, seed=args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for setting in args.settings:
            with ResumableWriter(Path(tmp) / f"{setting}.jsonl", judgment_key) as w:
                stats = judge_tasks(
                    backend,
                    tasks,
                    setting,
                    w,
                    cfg,
                    both_orders=True,
                    chunk_size=args.chunk_size,
                    progress=False,
                    model_name=args.model,
                )
                done = w.rows
            n = len(done)
            rows.append(
                {
                    "setting": setting,
                    "pairs": len(tasks),
                    "judgments": n,
                    "wall_s": stats["wall_s"],
                    "judgments_per_s": stats["judgments_per_s"],
                    "generated_tokens": stats["generated_tokens"],
                    "generated_tokens_per_s": stats["generated_tokens_per_s"],
                    "steps_per_judgment": sum(r["steps"] for r in done) / n,
                    "tool_calls_per_judgment": sum(r["tool_calls"] for r in done) / n,
                    "parse_failures": sum(not r["parse_ok"] for r in done),
                    "model_load_s": round(load_s, 2),
                }
            )
    print(
        f"\njudge throughput: {args.model} on {backend.device}, batch {args.batch_size}, max_new_tokens "
        f"{args.max_new_tokens}, max_steps {args.max_steps}, {len(tasks)} synthetic pairs x both orders\n"
    )
    print(
        markdown(
            rows,
            [
                ("setting", "setting"),
                ("judgments", "judgments"),
                ("wall s", "wall_s"),
                ("judgments/s", "judgments_per_s"),
                ("generated tokens", "generated_tokens"),
                ("generated tokens/s", "generated_tokens_per_s"),
                ("steps/judgment", "steps_per_judgment"),
                ("tool calls/judgment", "tool_calls_per_judgment"),
                ("parse failures", "parse_failures"),
            ],
        )
    )
    return rows


# --------------------------------------------------------------------------- generate mode


def load_for_generation(args: argparse.Namespace, device: str, dtype: Any) -> tuple[Any, Any]:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from model.loading import load_model, load_tokenizer, resolve_spec

    tok = load_tokenizer(args.model)
    if args.weights == "real":
        return load_model(args.model, dtype=dtype).to(device).eval(), tok
    if args.shape:
        config = AutoConfig.for_model(**SHAPES[args.shape])
    else:
        config = AutoConfig.from_pretrained(resolve_spec(args.model).path)
    config.vocab_size = max(config.vocab_size, len(tok))
    torch.manual_seed(args.seed)
    model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    return model.to(device).eval(), tok


def make_prompts(tok: Any, n: int, prompt_tokens: int, seed: int) -> list[list[dict[str, str]]]:
    """n chat prompts whose user turn is ~prompt_tokens tokens of varied text (distinct per prompt)."""
    import random

    rng = random.Random(seed)
    words = [w for w in tok.convert_ids_to_tokens(list(range(1000, 6000))) if w.isalpha()]
    out = []
    for _ in range(n):
        text = " ".join(rng.choice(words) for _ in range(prompt_tokens))
        ids = tok(text, add_special_tokens=False)["input_ids"][: max(1, prompt_tokens - 30)]
        out.append([{"role": "user", "content": tok.decode(ids)}])
    return out


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def time_backend(backend: Any, prompts: list, new_tokens: int) -> dict[str, Any]:
    from model.backends import GenerationRequest, SamplingParams

    reqs = [GenerationRequest(messages=m) for m in prompts]
    backend.generate(reqs[:2], SamplingParams(max_new_tokens=4))  # warm-up (kernels, cache allocation)
    _sync()
    t0 = time.perf_counter()
    gens = backend.generate(reqs, SamplingParams(max_new_tokens=new_tokens))
    _sync()
    wall = time.perf_counter() - t0
    errors = [g.error for g in gens if g.error]
    if errors:
        raise RuntimeError(errors[0])
    n_tok = sum(g.completion_tokens for g in gens)
    return {
        "requests": len(reqs),
        "generated_tokens": n_tok,
        "wall_s": round(wall, 3),
        "tokens_per_s": n_tok / wall,
    }


def time_naive(model: Any, tok: Any, prompts: list, new_tokens: int) -> dict[str, Any]:
    """One model.generate per prompt, greedy, no batching: the reference path."""
    import torch

    from model.chat_template import ensure_tool_template

    ensure_tool_template(tok)
    enc = [
        tok.apply_chat_template(m, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        for m in prompts
    ]
    kw = dict(do_sample=False, max_new_tokens=new_tokens, pad_token_id=tok.pad_token_id)
    with torch.no_grad():
        model.generate(**{k: v.to(model.device) for k, v in enc[0].items()}, **{**kw, "max_new_tokens": 4})
        _sync()
        t0 = time.perf_counter()
        n_tok = 0
        for e in enc:
            e = {k: v.to(model.device) for k, v in e.items()}
            out = model.generate(**e, **kw)
            n_tok += out.shape[1] - e["input_ids"].shape[1]
        _sync()
    wall = time.perf_counter() - t0
    return {
        "requests": len(enc),
        "generated_tokens": n_tok,
        "wall_s": round(wall, 3),
        "tokens_per_s": n_tok / wall,
    }


def bench_generate(args: argparse.Namespace) -> list[dict[str, Any]]:
    import importlib.util

    import torch

    from model.backends import BackendConfig, make_backend

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model, tok = load_for_generation(args, device, dtype)
    n_params = sum(p.numel() for p in model.parameters())
    prompts = make_prompts(tok, args.batch, args.prompt_tokens, args.seed)
    rows: list[dict[str, Any]] = []

    def record(path: str, fn: Any) -> None:
        try:
            r = fn()
        except Exception as e:  # noqa: BLE001 - one failing path must not hide the others
            r = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"}
        rows.append({"path": path, **r})
        print(f"[bench] {path}: {r}", file=sys.stderr, flush=True)
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()

    record(
        "naive model.generate per prompt",
        lambda: time_naive(model, tok, prompts[: args.naive_prompts], args.new_tokens),
    )
    for engine in ("generate", "continuous"):
        backend = make_backend(args.model, BackendConfig(kind="hf", device=device, batch_size=args.batch,
                                                         engine=engine), model_obj=model, tokenizer=tok)
        record(
            f"hf backend, engine={engine}, batch {args.batch}",
            lambda b=backend: time_backend(b, prompts, args.new_tokens),
        )
        if engine == "generate" and device == "cuda":
            model.generation_config.cache_implementation = "static"
            record(
                f"hf backend, engine=generate, static cache, batch {args.batch}",
                lambda b=backend: time_backend(b, prompts, args.new_tokens),
            )
            model.generation_config.cache_implementation = None
    if importlib.util.find_spec("vllm") is not None and device == "cuda":

        def vllm_path() -> dict[str, Any]:
            from model.backends import BackendConfig, make_backend

            spec = args.model
            if args.weights == "random":  # vLLM loads from a folder: save the same random model
                spec = tempfile.mkdtemp(prefix="bench_judge_")
                model.save_pretrained(spec)
                tok.save_pretrained(spec)
            return time_backend(
                make_backend(spec, BackendConfig(kind="vllm", extra={"gpu_memory_utilization": 0.5})), prompts,
                args.new_tokens,
            )

        record("vllm backend", vllm_path)
    naive = rows[0].get("tokens_per_s")
    for r in rows:
        if naive and r.get("tokens_per_s"):
            r["speedup"] = r["tokens_per_s"] / naive
    where = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    print(
        f"\ngenerated tokens/s on {where}: {args.model} ({args.weights} weights"
        f"{', shape ' + args.shape if args.shape else ''}, {n_params / 1e6:.0f}M params, {dtype}), "
        f"{args.batch} prompts of ~{args.prompt_tokens} tokens, {args.new_tokens} new tokens, greedy\n"
    )
    print(
        markdown(
            rows,
            [
                ("path", "path"),
                ("requests", "requests"),
                ("generated tokens", "generated_tokens"),
                ("wall s", "wall_s"),
                ("tokens/s", "tokens_per_s"),
                ("x naive", "speedup"),
                ("error", "error"),
            ],
        )
    )
    return rows


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["judge", "generate"], default="judge")
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the rows to this file")
    g = p.add_argument_group("judge mode")
    g.add_argument("--pairs", type=int, default=4)
    g.add_argument("--settings", nargs="+", default=[BASELINE, SKILL_OPERATIONAL])
    g.add_argument("--batch-size", type=int, default=8)
    g.add_argument("--chunk-size", type=int, default=32)
    g.add_argument("--max-new-tokens", type=int, default=256)
    g.add_argument("--max-steps", type=int, default=4)
    g = p.add_argument_group("generate mode")
    g.add_argument("--batch", type=int, default=64)
    g.add_argument("--prompt-tokens", type=int, default=1024)
    g.add_argument("--new-tokens", type=int, default=256)
    g.add_argument("--naive-prompts", type=int, default=8, help="prompts timed on the naive path")
    g.add_argument("--weights", choices=["random", "real"], default="random")
    g.add_argument("--shape", choices=sorted(SHAPES), help="random-init shape instead of --model's")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rows = bench_judge(args) if args.mode == "judge" else bench_generate(args)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"mode": args.mode, "args": vars(args), "rows": rows}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
