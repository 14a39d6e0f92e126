"""Supervised fine-tuning with DeepSpeed, the same entrypoint at every scale.

    python -m train.sft --config configs/train/sft_tiny.yaml output_dir=outputs/tiny      # 1 process
    deepspeed --num_gpus 8 --module train.sft --config configs/train/sft_qwen3_8b_zero3_8gpu.yaml
    torchrun --nproc_per_node 8 -m train.sft --config ...                                   # same
    DS_ACCELERATOR=cpu deepspeed --num_gpus 2 --module train.sft --config ... deepspeed=zero3  # 2 CPU ranks
    python -m train.sft --config ... --resume          # continue from output_dir/latest

Writes to output_dir: config.yaml, data_stats.json, metrics.jsonl, checkpoint-<step>/ + latest, and
final_model/ (from_pretrained-ready) when the run completes. See train/data.py (packing, schedule),
train/loss.py (normalisation), train/attention.py (packed attention), train/checkpoint.py (resume).
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from train.engine import prepare_accelerator_env

prepare_accelerator_env()  # before anything imports deepspeed

import torch  # noqa: E402

from model.config import ConfigError, config_arg_parser, load_config, save_config  # noqa: E402
from model.protocol import JudgeProtocol  # noqa: E402
from train import checkpoint as ckpt_lib  # noqa: E402
from train.config import SFTConfig, grad_accum_steps, validate  # noqa: E402
from train.data import (  # noqa: E402
    Batcher,
    SFTData,
    build_batcher,
    check_end_of_turn_trained,
    load_sft_data,
    packing_efficiency,
)
from train.engine import (  # noqa: E402
    Dist,
    build_ds_config,
    init_distributed,
    make_engine,
    quiet_deepspeed,
    zero3_init_context,
    zero_stage,
)
from train.metrics_log import MetricsLogger, mfu, peak_memory_gib  # noqa: E402
from train.precision import PrecisionChoice, annotate_saved_config, resolve  # noqa: E402
from train.step import StepResult, train_step  # noqa: E402


@dataclass
class Run:
    cfg: SFTConfig
    dist: Dist
    precision_choice: PrecisionChoice
    tokenizer: Any
    lm: Any  # the transformers (or peft) model
    engine: Any
    batcher: Batcher
    ds_config: dict[str, Any]
    attn_mode: str | None
    total_steps: int
    n_params: int
    liger: bool
    start_step: int = 0
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def precision(self) -> str:
        """The resolved precision (fp32 | bf16 | amp_bf16), never `auto`."""
        return self.precision_choice.precision

    @property
    def dtype(self) -> torch.dtype:
        return torch.bfloat16 if self.precision == "bf16" else torch.float32

    @property
    def zero3(self) -> bool:
        return zero_stage(self.ds_config) == 3


def log0(d: Dist, msg: str) -> None:
    if d.is_main:
        print(f"[sft] {msg}", flush=True)


def eot_token_ids(tokenizer) -> list[int]:
    ids = {tokenizer.eos_token_id}
    try:
        from model.chat_template import end_of_turn_token

        ids.add(tokenizer.convert_tokens_to_ids(end_of_turn_token(tokenizer)))
    except ImportError:
        pass
    return sorted(i for i in ids if isinstance(i, int) and i >= 0)


def setup(cfg: SFTConfig, data: SFTData | None = None, tokenizer: Any = None) -> Run:
    """Everything up to a ready engine (resumed if asked). `data` and `tokenizer` may be given in
    memory (scripts/bench_sft.py); otherwise they are loaded from cfg."""
    from train.attention import packed_attention_mode
    from train.loss import CausalLMLoss
    from train.modeling import (
        FUSED_CE_MODEL_TYPES,
        build_model,
        count_params,
        hidden_size_of,
        liger_wanted,
        load_train_tokenizer,
    )

    validate(cfg)
    d = init_distributed()
    quiet_deepspeed()
    grad_accum_steps(cfg, d.world_size)  # fail early on an indivisible batch
    choice = resolve(cfg.precision)
    precision = choice.precision
    log0(d, f"precision: {choice.summary()}")
    if d.is_main and choice.warning:
        warnings.warn(choice.warning, stacklevel=1)
    torch.manual_seed(cfg.seed)
    tokenizer = tokenizer if tokenizer is not None else load_train_tokenizer(cfg)
    if data is None:
        from model.config import resolve_path

        data = load_sft_data(resolve_path(cfg.data_path), cfg.max_seq_len, cfg.overlong)
        if d.is_main and (msg := check_end_of_turn_trained(data, eot_token_ids(tokenizer))):
            warnings.warn(msg, stacklevel=1)

    ds_config = build_ds_config(cfg, d.world_size, precision, hidden_size_of(cfg))
    keep_alive = zero3_init_context(ds_config)  # transformers reads it through a weakref: keep it alive

    liger = liger_wanted(cfg)
    lm = build_model(cfg, tokenizer, precision, liger=liger,
                     device=d.device if zero_stage(ds_config) != 3 else None)
    n_params, n_trainable = count_params(lm)
    check_vocab(data, lm)
    base_type = getattr(lm.config, "model_type", "")
    fused = liger and base_type in FUSED_CE_MODEL_TYPES
    attn_impl = getattr(lm.config, "_attn_implementation", "sdpa") or "sdpa"
    attn_mode = packed_attention_mode(lm.config, attn_impl) if cfg.packing else None

    batcher = build_batcher(
        data, max_seq_len=cfg.max_seq_len, packing=cfg.packing, global_batch=cfg.global_batch_size,
        micro_batch=cfg.micro_batch_size, world_size=d.world_size, rank=d.rank, seed=cfg.seed,
        pad_id=tokenizer.pad_token_id, group_by_length=cfg.group_by_length, flatten=attn_mode == "varlen",
        pad_multiple=8 if torch.cuda.is_available() and not cfg.packing else 1)
    spe = batcher.schedule.steps_per_epoch
    total = cfg.max_steps if cfg.max_steps > 0 else cfg.epochs * spe

    engine = make_engine(CausalLMLoss(lm, fused_ce=fused, selective=base_type in FUSED_CE_MODEL_TYPES),
                         cfg, ds_config, total)
    run = Run(cfg, d, choice, tokenizer, lm, engine, batcher, ds_config, attn_mode, total, n_params, liger,
              extras={"hf_ds_config": keep_alive, "protocol": JudgeProtocol.for_data(cfg.data_path)})
    log0(d, f"world={d.world_size} device={d.device.type} precision={precision} zero={zero_stage(ds_config)} "
            f"attn={attn_impl} packed_attention={attn_mode} liger={liger} fused_ce={fused} "
            f"params={n_params / 1e6:.1f}M trainable={n_trainable / 1e6:.2f}M")
    log0(d, f"data: {data.stats.summary()}; units={len(batcher.units)} steps/epoch={spe} total_steps={total} "
            f"grad_accum={batcher.schedule.grad_accum}"
            + (f" packing_efficiency={packing_efficiency(batcher, cfg.max_seq_len):.3f}" if cfg.packing else ""))

    out = Path(cfg.output_dir)
    if not cfg.resume and ckpt_lib.latest_checkpoint(out) is not None and d.is_main:
        warnings.warn(f"{out} holds checkpoints of an earlier run; starting fresh and overwriting them "
                      f"(resume=true / --resume continues instead)", stacklevel=1)
    if cfg.resume:
        state = ckpt_lib.load_checkpoint(engine, out, d.rank)
        if state is None:
            log0(d, f"resume: no checkpoint in {out}; starting fresh")
        else:
            if state.get("data_fingerprint") != batcher.fingerprint:
                raise RuntimeError(f"resume: the data or batching changed since {ckpt_lib.latest_checkpoint(out)} "
                                   f"(plan {state.get('data_fingerprint')} != {batcher.fingerprint})")
            run.start_step = int(state["global_step"])
            log0(d, f"resumed from {ckpt_lib.latest_checkpoint(out)} at step {run.start_step}")
            if state.get("precision", precision) != precision and d.is_main:
                warnings.warn(f"resume: the checkpoint trained at precision={state['precision']}, this run resolves "
                              f"{choice.summary()}; set precision={state['precision']} for an exact resume",
                              stacklevel=1)
    if d.is_main:
        annotate_saved_config(save_config(cfg, out), choice)
        (out / "data_stats.json").write_text(json.dumps(
            {"source": data.source, **data.stats.summary(), "units": len(batcher.units),
             "steps_per_epoch": spe, "data_fingerprint": batcher.fingerprint}, indent=1))
    return run


def check_vocab(data: SFTData, lm) -> None:
    """Token ids beyond the embedding table would fail deep inside the forward: fail here, clearly."""
    vocab = lm.get_input_embeddings().num_embeddings
    top = max(int(x.max()) for x in data.input_ids)
    if top >= vocab:
        raise ValueError(f"{data.source}: token id {top} >= the model's vocabulary size {vocab} "
                         f"(data rendered with another tokenizer, or a too-small model_config.vocab_size?)")


def trainer_state(run: Run, step: int) -> dict[str, Any]:
    spe = run.batcher.schedule.steps_per_epoch
    return {"global_step": step, "epoch": step // spe, "step_in_epoch": step % spe, "total_steps": run.total_steps,
            "data_fingerprint": run.batcher.fingerprint, "world_size": run.dist.world_size,
            "precision": run.precision, "precision_requested": run.cfg.precision,
            "precision_reason": run.precision_choice.reason, "zero_stage": zero_stage(run.ds_config),
            "base_model": run.cfg.model, "lora": run.cfg.lora.enabled}


def load_hook(spec: str) -> Callable:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def run_eval_hook(run: Run, step: int) -> dict[str, Any] | None:
    """Calls cfg.eval_hook(model, tokenizer, step, cfg) on rank 0. Under ZeRO-3 the weights are
    gathered (every rank) into a plain copy first: a partitioned module cannot run on one rank."""
    import torch.distributed as dist

    hook = load_hook(run.cfg.eval_hook)
    model = run.lm
    if run.zero3:
        model = _plain_copy(run)
    result = None
    if run.dist.is_main:
        was_training = model.training
        model.eval()
        with torch.no_grad():  # the hook sees the resolved precision (it decides its autocast from it)
            result = hook(model, run.tokenizer, step, dataclasses.replace(run.cfg, precision=run.precision))
        model.train(was_training)
    dist.barrier()
    return result


def _plain_copy(run: Run):
    from transformers import AutoModelForCausalLM

    from train.loss import strip_wrapper_prefix
    from train.modeling import base_causal_lm

    sd = run.engine._zero3_consolidated_16bit_state_dict()
    if not run.dist.is_main:
        return run.lm
    config = base_causal_lm(run.lm).config
    import transformers.integrations.deepspeed as hf_ds

    saved, hf_ds._hf_deepspeed_config_weak_ref = hf_ds._hf_deepspeed_config_weak_ref, None  # no zero.Init here
    try:
        copy = AutoModelForCausalLM.from_config(config, dtype=run.dtype)
    finally:
        hf_ds._hf_deepspeed_config_weak_ref = saved
    sd = strip_wrapper_prefix(sd)
    if run.cfg.lora.enabled:
        from train.modeling import add_lora

        copy = add_lora(copy, run.cfg)
    copy.load_state_dict(sd, strict=False)
    return copy.to(run.dist.device)


def step_metrics(run: Run, r: StepResult, step: int) -> dict[str, Any]:
    tps = r.tokens / r.seconds if r.seconds > 0 else 0.0
    spe = run.batcher.schedule.steps_per_epoch
    return {"loss": r.loss, "lr": r.lr, "grad_norm": r.grad_norm, "tokens": r.tokens,
            "trained_tokens": r.trained_tokens, "tokens_per_s": tps,
            "mfu": mfu(tps, run.n_params, run.cfg.lora.enabled, run.dist.world_size, run.cfg.peak_tflops),
            "peak_mem_gib": peak_memory_gib(), "step_time_s": r.seconds, "epoch": step / spe}


def save(run: Run, step: int) -> Path:
    return ckpt_lib.save_checkpoint(run.engine, run.cfg.output_dir, step, run.cfg, run.tokenizer, run.lm,
                                    trainer_state(run, step), run.dist.rank, run.cfg.keep_last,
                                    protocol=run.extras["protocol"])


def fit(run: Run) -> list[dict[str, Any]]:
    """The training loop; returns the logged per-step metrics of this invocation."""
    cfg, d = run.cfg, run.dist
    logger = MetricsLogger(cfg.output_dir, cfg, d.is_main, run.total_steps, run.start_step)
    history: list[dict[str, Any]] = []
    step = run.start_step
    saved_at = run.start_step if run.start_step else -1
    run.engine.train()
    try:
        while step < run.total_steps:
            if cfg.stop_after_steps and step >= cfg.stop_after_steps:
                log0(d, f"stop_after_steps={cfg.stop_after_steps} reached")
                break
            result = train_step(run.engine, run.batcher.step_batches(step), run.attn_mode, d.device, run.dtype)
            step += 1
            metrics = step_metrics(run, result, step)
            history.append({"step": step, **metrics})
            logger.tick()
            if step % cfg.log_every == 0 or step == run.total_steps:
                logger.log(step, metrics)
            if cfg.eval_every and step % cfg.eval_every == 0:
                res = run_eval_hook(run, step)
                if res:
                    logger.log(step, {f"eval/{k}": v for k, v in res.items()})
            if cfg.save_every and step % cfg.save_every == 0:
                save(run, step)
                saved_at = step
        if saved_at != step:
            save(run, step)
        if step >= run.total_steps and cfg.save_final_model:
            out = ckpt_lib.save_final_model(run.engine, run.lm, Path(cfg.output_dir) / "final_model",
                                             run.tokenizer, d.rank, run.zero3, protocol=run.extras["protocol"])
            log0(d, f"final model: {out}")
    finally:
        logger.close()
    return history


def main(argv: list[str] | None = None) -> int:
    p = config_arg_parser("Supervised fine-tuning with DeepSpeed (see train/sft.py).", prog="python -m train.sft")
    p.add_argument("--resume", action="store_true", help="continue from output_dir/latest (same as resume=true)")
    p.add_argument("--local_rank", "--local-rank", type=int, default=None, help=argparse.SUPPRESS)  # deepspeed
    args = p.parse_intermixed_args(argv)
    overrides = list(args.overrides) + (["resume=true"] if args.resume else [])
    try:
        cfg = load_config(SFTConfig, args.config, overrides)
        validate(cfg)
    except (ConfigError, ValueError) as e:  # one line naming the file / field, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    run = setup(cfg)
    fit(run)
    log0(run.dist, f"done: {cfg.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
