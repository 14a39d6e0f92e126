"""The SFT config schema: one dataclass, loaded from `configs/train/*.yaml` + `key=value` overrides.

Batch arithmetic: `global_batch_size` rows (packed rows when `packing`, examples otherwise) make one
optimizer step; each rank runs `grad_accum = global_batch_size / (micro_batch_size * world_size)`
micro-batches per step (an error if that is not a whole number).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.agent import AgentConfig

PRECISIONS = ("auto", "bf16", "fp32", "amp_bf16")
OVERLONG = ("truncate", "drop")
TRISTATE = ("auto", "true", "false")


@dataclass
class LoraSettings:
    """peft LoRA; the base weights are frozen and only the adapters train."""

    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    # Module names (suffixes) that get adapters; "all-linear" is peft's shorthand for every linear layer.
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )


@dataclass
class SFTConfig:
    # ------------------------------------------------------------------ model
    model: str = ""
    """Any model.loading spec (embedded name, Hub id, local folder). Empty when `model_config` is set."""
    model_config: dict[str, Any] | None = None
    """Random-init model from a transformers config, e.g. {model_type: llama, hidden_size: 64, ...}
    (vocab_size defaults to the tokenizer's length). For tests and benchmarks."""
    tokenizer: str = ""
    """Tokenizer spec; defaults to `model`. Required with `model_config`."""
    attn_implementation: str = "auto"
    """auto = flash_attention_2 when importable on CUDA, else sdpa; or sdpa | eager | flash_attention_2."""
    gradient_checkpointing: bool = False
    liger: str = "auto"
    """Liger kernels (RMSNorm, SwiGLU, RoPE, fused linear cross-entropy): auto = when importable on CUDA."""
    lora: LoraSettings = field(default_factory=LoraSettings)
    freeze_embeddings: bool = False
    """Keep the input embeddings (and a tied lm_head) frozen."""
    trainable_layers: int = 0
    """Train only the top N decoder layers (+ final norm); 0 trains all. Backward then stops at the
    first trainable layer: a cheap partial fine-tune for small CPU runs."""

    # ------------------------------------------------------------------ data
    data_path: str = ""
    """The rendered SFT data: a `datasets.save_to_disk` folder or a JSONL file (input_ids, labels)."""
    max_seq_len: int = 2048
    packing: bool = True
    """Padding-free packing of examples into rows of max_seq_len tokens (attention never crosses examples)."""
    overlong: str = "truncate"
    """Examples longer than max_seq_len: truncate | drop (both are counted and reported)."""
    group_by_length: bool = True
    """Without packing: batch examples of similar length together (less padding)."""

    # ------------------------------------------------------------------ schedule
    seed: int = 42
    epochs: int = 1
    max_steps: int = 0
    """Total optimizer steps (>0 overrides epochs); the LR schedule is computed from it."""
    stop_after_steps: int = 0
    """Stop this invocation after this many steps of the run (checkpointed; resume continues). For
    time-limited jobs and resume tests; the LR schedule still spans max_steps."""
    global_batch_size: int = 8
    micro_batch_size: int = 1
    lr: float = 1e-5
    min_lr_ratio: float = 0.1
    """Cosine decays to lr * min_lr_ratio."""
    warmup_steps: int = 0
    warmup_ratio: float = 0.03
    """Used when warmup_steps is 0."""
    weight_decay: float = 0.0
    """AdamW decoupled weight decay; never applied to biases and norm weights (1-D parameters)."""
    adam_betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    adam_eps: float = 1e-8
    max_grad_norm: float = 1.0
    """Gradient clipping (global norm); 0 disables."""

    # ------------------------------------------------------------------ engine
    deepspeed: str = "zero2"
    """A name under configs/deepspeed/ (zero2 | zero3 | zero3_offload) or a path to a DeepSpeed JSON;
    its "auto" values are filled from this config."""
    precision: str = "auto"
    """auto | fp32 | bf16 | amp_bf16. auto (train/precision.py) = bf16 on a GPU with native bf16, else
    fp32; on a CPU amp_bf16 where a probe measures bf16 matmuls faster than fp32 (AVX512-BF16, AMX), else
    fp32 (on an AVX2-only CPU bf16 is emulated, ~30x slower). amp_bf16 = fp32 master weights with a bf16
    torch.autocast forward (DeepSpeed's torch_autocast). bf16 = bf16 weights (GPU only). The resolved
    value and its reason are logged and noted in the saved config.yaml."""

    # ------------------------------------------------------------------ output
    output_dir: str = "outputs/sft"
    save_every: int = 0
    """Checkpoint every N steps (0: only at the end). Checkpoints: output_dir/checkpoint-<step>/ + `latest`."""
    keep_last: int = 0
    """Keep only the newest N checkpoints (0: keep all)."""
    save_final_model: bool = True
    """Also write output_dir/final_model/ (gathered weights, from_pretrained-ready; a LoRA adapter with LoRA)."""
    resume: bool = False
    """Continue from output_dir's latest checkpoint (same data order; a fresh start if there is none)."""

    # ------------------------------------------------------------------ logging
    log_every: int = 1
    wandb: bool = True
    wandb_mode: str = "offline"
    """offline | online | disabled (WANDB_MODE=disabled in the environment also disables it)."""
    wandb_project: str = "skillrm-sft"
    run_name: str = ""
    peak_tflops: float = 989.0
    """Per-GPU dense bf16 peak for MFU (H100 SXM: 989)."""
    eval_every: int = 0
    """Call `eval_hook` every N steps on rank 0 (0: never)."""
    heldout_path: str = ""
    """JudgeTask JSONL (data.generate's heldout.jsonl) for the judge-accuracy eval through the runtime:
    train.sft's default eval_hook (every eval_every steps) and train.rl's before/after eval."""
    heldout_limit: int = 32
    eval_setting: str = "skill_operational"
    eval_agent: AgentConfig = field(default_factory=AgentConfig)
    """How the held-out judgments run (prompt style, step and token limits); greedy."""
    eval_hook: str = ""
    """'module:function' called as fn(model, tokenizer, step, cfg) -> dict of metrics (logged)."""


def validate(cfg: SFTConfig) -> None:
    """Cross-field checks that the schema cannot express; raises ValueError naming the field."""
    if bool(cfg.model) == (cfg.model_config is not None):
        raise ValueError("set exactly one of `model` (a spec) or `model_config` (random init)")
    if cfg.model_config is not None and not (cfg.tokenizer or cfg.model):
        raise ValueError("`model_config` needs `tokenizer` (e.g. tokenizer=smollm2-135m)")
    if cfg.model_config is not None and "model_type" not in cfg.model_config:
        raise ValueError("`model_config` needs a `model_type` (e.g. llama)")
    for name, value, allowed in (("precision", cfg.precision, PRECISIONS), ("overlong", cfg.overlong, OVERLONG),
                                 ("liger", str(cfg.liger).lower(), TRISTATE),
                                 ("wandb_mode", cfg.wandb_mode, ("offline", "online", "disabled"))):
        if value not in allowed:
            raise ValueError(f"`{name}` must be one of {allowed}, got {value!r}")
    for name in ("max_seq_len", "global_batch_size", "micro_batch_size", "epochs", "log_every"):
        if getattr(cfg, name) <= 0:
            raise ValueError(f"`{name}` must be > 0")
    if cfg.lr <= 0 or not 0 <= cfg.min_lr_ratio <= 1 or not 0 <= cfg.warmup_ratio < 1:
        raise ValueError("need lr > 0, 0 <= min_lr_ratio <= 1, 0 <= warmup_ratio < 1")
    if len(cfg.adam_betas) != 2:
        raise ValueError("`adam_betas` takes two values")
    if cfg.trainable_layers < 0:
        raise ValueError("`trainable_layers` must be >= 0")
    if cfg.lora.enabled and (cfg.trainable_layers or cfg.freeze_embeddings):
        raise ValueError("`trainable_layers` / `freeze_embeddings` apply to full fine-tuning, not LoRA")
    if cfg.eval_every and not cfg.eval_hook:
        if not cfg.heldout_path:
            raise ValueError("`eval_every` needs `heldout_path` (the judge-accuracy eval) or an `eval_hook`")
        cfg.eval_hook = "train.judge_eval:sft_eval_hook"
    if cfg.eval_hook and ":" not in cfg.eval_hook:
        raise ValueError("`eval_hook` must look like 'module:function'")


def grad_accum_steps(cfg: SFTConfig, world_size: int) -> int:
    per_step = cfg.micro_batch_size * world_size
    if cfg.global_batch_size % per_step:
        raise ValueError(
            f"global_batch_size={cfg.global_batch_size} is not divisible by micro_batch_size * world_size "
            f"= {cfg.micro_batch_size} * {world_size}"
        )
    return cfg.global_batch_size // per_step
