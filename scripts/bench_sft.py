"""SFT throughput benchmark: tokens/s (real tokens), MFU (GPU), peak memory, as a markdown table.

Runs the training step of train.sft (train.step.train_step on a DeepSpeed engine built by
train.sft.setup) on random-init models of a given shape (or a real model spec), for
- packed synthetic trajectories (log-normal lengths around 600 tokens, 50-3000, packed padding-free
  into rows of --seq-len) vs dense rows of --seq-len random tokens,
- Liger kernels off / on (on only when liger-kernel and CUDA are there),
- gradient checkpointing off / on.
One engine per (model, liger); the data and checkpointing variants reuse it. Liger patches the model
classes process-wide, so the liger-off variants run first.

    python scripts/bench_sft.py --model-shape smollm2-135m --seq-len 1024 --steps 2     # CPU
    TORCH_CUDA_ARCH_LIST=9.0 python scripts/bench_sft.py --model-shape qwen2.5-1.5b --seq-len 2048
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train.engine import prepare_accelerator_env  # noqa: E402

prepare_accelerator_env()

import torch  # noqa: E402

from train.config import SFTConfig  # noqa: E402
from train.data import SFTData, build_batcher  # noqa: E402
from train.metrics_log import mfu  # noqa: E402
from train.step import train_step  # noqa: E402
from train.synthetic import rows_to_data, synthetic_rows  # noqa: E402

SHAPES = {
    "tiny": dict(model_type="llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, vocab_size=2048, tie_word_embeddings=True),
    "smollm2-135m": dict(model_type="llama", hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3, vocab_size=49152, rms_norm_eps=1e-5,
                         rope_theta=100000.0, max_position_embeddings=8192, tie_word_embeddings=True),
    "qwen2.5-1.5b": dict(model_type="qwen2", hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, vocab_size=151936, rms_norm_eps=1e-6,
                         rope_theta=1000000.0, max_position_embeddings=32768, tie_word_embeddings=True),
}


def dense_data(n_rows: int, seq_len: int, vocab: int, seed: int) -> SFTData:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(100, vocab, (n_rows, seq_len), generator=g).tolist()
    return rows_to_data([{"input_ids": r, "labels": r} for r in ids], seq_len, source="dense")


def packed_data(n_tokens: int, seq_len: int, vocab: int, seed: int) -> SFTData:
    n = max(8, int(n_tokens / 600 * 1.25))
    rows = synthetic_rows(n, vocab, eot_id=2, seed=seed, learnable=False, mean_len=600, min_len=50,
                          max_len=min(3000, seq_len))
    return rows_to_data(rows, seq_len, source="packed")


def make_cfg(args, shape: str | None, liger: bool, seq_len: int, out: str) -> SFTConfig:
    gb = args.micro_batch * args.world_size
    return SFTConfig(model=args.model or "", model_config=dict(SHAPES[shape]) if shape else None,
                     tokenizer="" if args.model else "(bench)", max_seq_len=seq_len, packing=True,
                     global_batch_size=gb, micro_batch_size=args.micro_batch, max_steps=10**6, lr=1e-5,
                     warmup_steps=1, deepspeed=args.deepspeed, precision=args.precision,
                     attn_implementation=args.attn, liger="true" if liger else "false",
                     output_dir=out, save_final_model=False, wandb=False)


def set_gc(lm, on: bool) -> None:
    from train.modeling import base_causal_lm

    base = base_causal_lm(lm)
    if on:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    else:
        base.gradient_checkpointing_disable()


def bench_variant(run, data: SFTData, seq_len: int, steps: int, warmup: int) -> dict:
    b = build_batcher(data, max_seq_len=seq_len, packing=True, global_batch=run.cfg.global_batch_size,
                      micro_batch=run.cfg.micro_batch_size, world_size=run.dist.world_size, rank=run.dist.rank,
                      seed=0, pad_id=0, flatten=run.attn_mode == "varlen")
    for i in range(warmup):
        train_step(run.engine, b.step_batches(i), run.attn_mode, run.dist.device, run.dtype)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    tokens = seconds = 0.0
    for i in range(warmup, warmup + steps):
        r = train_step(run.engine, b.step_batches(i % b.schedule.steps_per_epoch), run.attn_mode,
                       run.dist.device, run.dtype)
        tokens, seconds = tokens + r.tokens, seconds + r.seconds
    tps = tokens / seconds
    from train.metrics_log import peak_memory_gib

    return {"tokens_per_s": tps, "mfu": mfu(tps, run.n_params, run.cfg.lora.enabled, run.dist.world_size,
                                            run.cfg.peak_tflops),
            "peak_mem_gib": peak_memory_gib(), "tokens_per_step": tokens / steps, "step_s": seconds / steps}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-shape", nargs="*", default=None, choices=sorted(SHAPES))
    p.add_argument("--model", default=None, help="a model.loading spec instead of a shape (real weights)")
    p.add_argument("--seq-len", nargs="+", type=int, default=[1024])
    p.add_argument("--data", nargs="+", default=["packed", "dense"], choices=["packed", "dense"])
    p.add_argument("--liger", default="auto", choices=["auto", "off", "on"], help="auto: off, then on if available")
    p.add_argument("--gc", nargs="+", default=["off", "on"], choices=["off", "on"])
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--micro-batch", type=int, default=1)
    p.add_argument("--deepspeed", default="zero2")
    p.add_argument("--precision", default="auto")
    p.add_argument("--attn", default="auto")
    p.add_argument("--json", default=None, help="also write the rows here")
    args = p.parse_args(argv)
    if bool(args.model) == bool(args.model_shape):
        p.error("give --model-shape or --model")

    from train.modeling import liger_wanted
    from train.sft import setup

    args.world_size = 1
    probe = SFTConfig(liger="auto")
    ligers = {"off": [False], "on": [True], "auto": [False] + ([True] if liger_wanted(probe) else [])}[args.liger]
    rows = []
    t_start = time.time()
    for shape in (args.model_shape or [None]):
        name = shape or args.model
        tok = None if args.model else SimpleNamespace(pad_token_id=0, bos_token_id=None, eos_token_id=None)
        for liger in ligers:
            with tempfile.TemporaryDirectory() as out:
                cfg = make_cfg(args, shape, liger, max(args.seq_len), out)
                vocab = SHAPES[shape]["vocab_size"] if shape else None
                if vocab is None:
                    from model.loading import load_tokenizer
                    tok = load_tokenizer(args.model)
                    vocab = len(tok)
                datasets = {}
                for L in args.seq_len:
                    need = (args.steps + args.warmup) * cfg.global_batch_size * L
                    if "packed" in args.data:
                        datasets[("packed", L)] = packed_data(need, L, vocab, seed=L)
                    if "dense" in args.data:
                        datasets[("dense", L)] = dense_data((args.steps + args.warmup) * cfg.global_batch_size,
                                                            L, vocab, seed=L)
                t0 = time.time()
                run = setup(cfg, data=next(iter(datasets.values())), tokenizer=tok)
                print(f"[bench] {name} liger={liger}: engine ready in {time.time() - t0:.1f}s "
                      f"(params {run.n_params / 1e6:.0f}M, attention {run.attn_mode})", flush=True)
                for (kind, L), data in datasets.items():
                    for g in args.gc:
                        set_gc(run.lm, g == "on")
                        res = bench_variant(run, data, L, args.steps, args.warmup)
                        row = {"model": name, "seq_len": L, "data": kind, "liger": liger, "grad_ckpt": g == "on",
                               "precision": run.precision, "device": torch.cuda.get_device_name()
                               if torch.cuda.is_available() else "cpu", **res}
                        rows.append(row)
                        print(f"[bench] {json.dumps(row)}", flush=True)
                del run
                gc.collect()
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
    print()
    print(table(rows))
    print(f"\n(total {time.time() - t_start:.0f}s; tokens are real tokens, no padding; MFU = 6N * tokens/s / "
          f"{probe.peak_tflops:g} TFLOP/s, GPU only; memory: CUDA max allocated, or the process's peak RSS on CPU)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def table(rows: list[dict]) -> str:
    head = "| model | seq | data | liger | grad ckpt | tokens/s | MFU | peak mem GiB | tokens/step | s/step |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        m = f"{100 * r['mfu']:.1f}%" if r.get("mfu") is not None else "-"
        lines.append(f"| {r['model']} | {r['seq_len']} | {r['data']} | {'on' if r['liger'] else 'off'} | "
                     f"{'on' if r['grad_ckpt'] else 'off'} | {r['tokens_per_s']:,.0f} | {m} | "
                     f"{r['peak_mem_gib']:.2f} | {r['tokens_per_step']:,.0f} | {r['step_s']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
