"""The quickstart's SFT on this machine: tokens/s per precision, ours (train.sft) next to TRL's SFTTrainer.

Prints the machine (CPU model, ATen capability, bf16 flags, torch threads), what `precision: auto`
picks here and why (train/precision.py), then one row per (precision, trainer): the quickstart config's
model, trainable layers / frozen embeddings, batch, sequence length and optimizer, on the same packed
rows for both trainers, and our tokens/s as a ratio to TRL's. Rows: the quickstart's rendered data when
it exists (outputs/quickstart/data/sft_skill), else synthetic rows of its lengths (~670 tokens, 550-1120).
Last, the quickstart's stage times when outputs/quickstart/timings.tsv exists.

    python scripts/bench_quickstart.py                                   # fp32 and amp_bf16, ours and TRL
    python scripts/bench_quickstart.py --precisions fp32 --trainers ours --set trainable_layers=4
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python scripts/bench_quickstart.py   # an AVX2-only CPU

A precision whose bf16 matmul the probe measures much slower than fp32 (an AVX2-only CPU) is skipped
unless named in --precisions: one step would take minutes. Tokens are real tokens (no padding); a step
is one optimizer step over the config's global batch; the first --warmup steps are not timed.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train.engine import prepare_accelerator_env  # noqa: E402

prepare_accelerator_env()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from model.config import REPO_ROOT, load_config, resolve_path  # noqa: E402
from train import precision as prec  # noqa: E402
from train.config import SFTConfig, grad_accum_steps  # noqa: E402
from train.data import SFTData  # noqa: E402

QUICKSTART = REPO_ROOT / "configs" / "train" / "sft_quickstart.yaml"
QUICKSTART_DATA = "outputs/quickstart/data/sft_skill"
TIMINGS = "outputs/quickstart/timings.tsv"
SLOW_BF16 = 0.5  # skip amp_bf16 by default where the bf16 matmul is slower than this fraction of fp32


# ------------------------------------------------------------------------------------ machine, data

def machine_lines() -> list[str]:
    return [f"cpu: {prec.cpu_model()} ({os.cpu_count()} logical cores), {prec.cpu_kind()}",
            f"torch {torch.__version__}: {torch.get_num_threads()} threads, {torch.get_num_interop_threads()} "
            f"inter-op" + (f", cuda {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""),
            f"python {platform.python_version()}, ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY', '-')} "
            f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', '-')}"]


def load_data(spec: str, cfg: SFTConfig, tokenizer, n_synthetic: int) -> SFTData:
    """The rendered SFT rows at `spec`, or (`synthetic`, or a missing default path) rows of their shape."""
    from train.data import load_sft_data

    if spec != "synthetic" and resolve_path(spec).exists():
        return load_sft_data(resolve_path(spec), cfg.max_seq_len, cfg.overlong)
    if spec not in ("synthetic", QUICKSTART_DATA):
        raise FileNotFoundError(f"--data {spec}: not found")
    from train.synthetic import rows_to_data, synthetic_rows

    eot = tokenizer.convert_tokens_to_ids("<|im_end|>")
    rows = synthetic_rows(n_synthetic, len(tokenizer), eot, seed=0, learnable=False, mean_len=670, sigma=0.15,
                          min_len=550, max_len=1120)
    return rows_to_data(rows, cfg.max_seq_len, source="synthetic (quickstart lengths)")


def quickstart_cfg(args, precision: str, out: str) -> SFTConfig:
    return load_config(SFTConfig, args.config, [*args.set, f"precision={precision}", f"output_dir={out}",
                                                "wandb=false", "save_final_model=false", "max_steps=1000000"])


# ------------------------------------------------------------------------------------ the trainers

def step_units(cfg: SFTConfig, data: SFTData, n_steps: int) -> list:
    """The packed rows (lists of example indices) of each step's micro-batches, as train.sft schedules them."""
    from train.data import build_batcher

    b = build_batcher(data, max_seq_len=cfg.max_seq_len, packing=cfg.packing, global_batch=cfg.global_batch_size,
                      micro_batch=cfg.micro_batch_size, world_size=1, rank=0, seed=cfg.seed, pad_id=0)
    return [b.schedule.micro_batches(i) for i in range(n_steps)]


def bench_ours(cfg: SFTConfig, data: SFTData, tokenizer, units: list, warmup: int) -> dict:
    """train.sft's setup + train_step (one rank, as the quickstart runs it)."""
    from train.sft import setup
    from train.step import train_step

    run = setup(cfg, data=data, tokenizer=tokenizer)
    n_steps = len(units)
    assert [run.batcher.schedule.micro_batches(i) for i in range(n_steps)] == units
    times, tokens = [], []
    for i in range(n_steps):
        t0 = time.perf_counter()
        r = train_step(run.engine, run.batcher.step_batches(i), run.attn_mode, run.dist.device, run.dtype)
        times.append(time.perf_counter() - t0)
        tokens.append(r.tokens)
        print(f"[bench] ours {run.precision} step {i + 1}/{n_steps}: {times[-1]:.1f}s {r.tokens} tokens "
              f"loss {r.loss:.3f}", flush=True)
    res = summarize(times[warmup:], tokens[warmup:])
    res.update(trainable=trainable_params(run.lm), attention=run.attn_mode)
    del run
    gc.collect()
    return res


def bench_trl(cfg: SFTConfig, data: SFTData, tokenizer, units: list, warmup: int, precision: str) -> dict:
    """TRL's SFTTrainer on the same packed rows in the same order, with the same model (train.modeling's
    build_model: same weights, frozen layers, LoRA), batch, optimizer and clipping."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig as TRLConfig
    from trl import SFTTrainer

    from train.modeling import build_model

    rows = []
    for step in units:
        for micro in step:
            for unit in micro:
                rows.append({"input_ids": np.concatenate([data.input_ids[e] for e in unit]).tolist(),
                             "labels": np.concatenate([data.labels[e] for e in unit]).tolist(),
                             "seq_lengths": [int(data.lengths[e]) for e in unit]})
    model = build_model(cfg, tokenizer, precision)

    class StepClock(TrainerCallback):
        def __init__(self):
            self.marks: list[float] = []

        def on_train_begin(self, *a, **k):
            self.marks.append(time.perf_counter())

        def on_step_end(self, *a, **k):
            self.marks.append(time.perf_counter())
            print(f"[bench] trl {precision} step {len(self.marks) - 1}/{len(units)}: "
                  f"{self.marks[-1] - self.marks[-2]:.1f}s", flush=True)

    clock = StepClock()
    with tempfile.TemporaryDirectory() as out:
        targs = TRLConfig(
            output_dir=out, max_steps=len(units), per_device_train_batch_size=cfg.micro_batch_size,
            gradient_accumulation_steps=grad_accum_steps(cfg, 1), learning_rate=cfg.lr,
            lr_scheduler_type="cosine", warmup_steps=1, weight_decay=cfg.weight_decay,
            adam_beta1=cfg.adam_betas[0], adam_beta2=cfg.adam_betas[1], adam_epsilon=cfg.adam_eps,
            max_grad_norm=cfg.max_grad_norm, optim="adamw_torch", bf16=precision in ("amp_bf16", "bf16"),
            gradient_checkpointing=cfg.gradient_checkpointing, padding_free=True, packing=False, max_length=None,
            dataset_kwargs={"skip_prepare_dataset": True}, train_sampling_strategy="sequential", seed=cfg.seed,
            report_to=[], save_strategy="no", logging_steps=10**6, disable_tqdm=True, dataloader_num_workers=0,
            use_cpu=not torch.cuda.is_available())
        trainer = SFTTrainer(model=model, args=targs, train_dataset=Dataset.from_list(rows),
                             processing_class=tokenizer, callbacks=[clock])
        trainer.train()
    times = list(np.diff(clock.marks))
    per_step = len(rows) // len(units)
    tokens = [sum(len(r["input_ids"]) for r in rows[i * per_step:(i + 1) * per_step]) for i in range(len(units))]
    res = summarize(times[warmup:], tokens[warmup:])
    res.update(trainable=trainable_params(model), attention="position_ids (padding_free)")
    del trainer, model
    gc.collect()
    return res


def trainable_params(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def summarize(times: list[float], tokens: list[int]) -> dict:
    return {"steps": len(times), "step_s": float(np.mean(times)), "tokens_per_step": float(np.mean(tokens)),
            "tokens_per_s": float(sum(tokens) / sum(times))}


# ------------------------------------------------------------------------------------ report

def stage_times(path: Path) -> str | None:
    if not path.exists():
        return None
    parts = [line.split("\t") for line in path.read_text().splitlines() if "\t" in line]
    return ", ".join(f"{name} {float(s):.0f} s" for name, s in parts) + f" ({path})"


def table(rows: list[dict]) -> str:
    head = "| precision | trainer | trainable params | tokens/step | s/step | tokens/s | ours / TRL |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        ratio = f"{r['ratio']:.2f}x" if r.get("ratio") else "-"
        lines.append(f"| {r['precision']} | {r['trainer']} | {r['trainable'] / 1e6:.1f}M | {r['tokens_per_step']:,.0f} "
                     f"| {r['step_s']:.1f} | {r['tokens_per_s']:,.0f} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(QUICKSTART), help="the train config (default: the quickstart's)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="config overrides for both trainers, e.g. trainable_layers=4 max_seq_len=1024")
    p.add_argument("--data", default=QUICKSTART_DATA,
                   help="rendered SFT rows, or 'synthetic' (the default path falls back to synthetic when absent)")
    p.add_argument("--precisions", nargs="+", default=None, choices=["fp32", "amp_bf16", "bf16"],
                   help="default: fp32 and amp_bf16 (amp_bf16 left out where the probe measures bf16 slow)")
    p.add_argument("--trainers", nargs="+", default=["ours", "trl"], choices=["ours", "trl"])
    p.add_argument("--steps", type=int, default=2, help="timed optimizer steps per row")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--timings", default=TIMINGS, help="the quickstart's stage times, printed when present")
    p.add_argument("--json", default=None, help="also write the rows here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from model.loading import load_tokenizer

    t_start = time.time()
    print("\n".join(machine_lines()))
    auto = prec.resolve("auto")
    print(f"precision auto -> {auto.precision}: {auto.reason}")
    probe = prec.probe_cpu_matmul() if not torch.cuda.is_available() else None
    precisions = args.precisions or ["fp32", "amp_bf16"]
    if args.precisions is None and probe is not None and probe.bf16_speedup < SLOW_BF16:
        precisions = ["fp32"]
        print(f"amp_bf16 skipped: {probe.describe()} (name it in --precisions to run it anyway)")

    base = quickstart_cfg(args, "fp32", "unused")
    tokenizer = load_tokenizer(base.tokenizer or base.model)
    data = load_data(args.data, base, tokenizer, n_synthetic=max(16, 4 * base.global_batch_size
                                                                  * (args.steps + args.warmup)))
    n_steps = args.steps + args.warmup
    print(f"data: {data.source}, {len(data)} examples, mean {data.lengths.mean():.0f} tokens; "
          f"config {args.config} {' '.join(args.set)}: model={base.model} max_seq_len={base.max_seq_len} "
          f"global_batch={base.global_batch_size} micro_batch={base.micro_batch_size} "
          f"trainable_layers={base.trainable_layers} freeze_embeddings={base.freeze_embeddings} "
          f"lora={base.lora.enabled} gradient_checkpointing={base.gradient_checkpointing}", flush=True)
    rows = []
    for precision in precisions:
        with tempfile.TemporaryDirectory() as out:
            cfg = quickstart_cfg(args, precision, out)
            units = step_units(cfg, data, n_steps)
            got = {}
            if "ours" in args.trainers:
                got["ours"] = {"precision": precision, "trainer": "ours",
                               **bench_ours(cfg, data, tokenizer, units, args.warmup)}
            if "trl" in args.trainers:
                got["trl"] = {"precision": precision, "trainer": "TRL SFTTrainer",
                              **bench_trl(cfg, data, tokenizer, units, args.warmup, precision)}
            if len(got) == 2:
                got["ours"]["ratio"] = got["ours"]["tokens_per_s"] / got["trl"]["tokens_per_s"]
            rows.extend(got.values())
    print()
    print(table(rows))
    print(f"\n(cpu {prec.cpu_kind()}, {torch.get_num_threads()} threads; {args.steps} timed steps after "
          f"{args.warmup} warm-up; total {time.time() - t_start:.0f}s)")
    if (st := stage_times(resolve_path(args.timings))) is not None:
        print(f"quickstart stage times: {st}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine_lines(), "auto": auto.as_dict(), "rows": rows},
                                              indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
