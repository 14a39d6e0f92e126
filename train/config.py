"""The training config schemas, composed from blocks that SFT and RL share.

Each block is a dataclass of one concern (model, optimisation, engine, output, logging, held-out eval);
`SFTConfig` and `train.rl.RLConfig` inherit the blocks they use, so their YAML keys stay flat
(`lr: 1e-5`, not `optim: {lr: ...}`) and a key a schema does not have is an error. Functions that need
one concern (train/engine.py, train/modeling.py) take any config with that block.

Batch arithmetic: `global_batch_size` rows (packed rows when `packing`, examples otherwise) make one
optimizer step; each rank runs `grad_accum = global_batch_size / (micro_batch_size * world_size)`
micro-batches per step (an error if that is not a whole number).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.agent import AgentConfig
from model.protocol import JudgeProtocol, get_setting, resolve_settings

PRECISIONS = ("auto", "bf16", "fp32", "amp_bf16")
OVERLONG = ("drop", "truncate")
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
class ModelSettings:
    """What to train: the model, its tokenizer, kernels, and which weights train."""

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


@dataclass
class OptimSettings:
    """The optimizer and its schedule, and the batch of one optimizer step."""

    seed: int = 42
    max_steps: int = 0
    """Total optimizer steps (>0 overrides SFT's epochs; RL needs it); the LR schedule spans it."""
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


@dataclass
class EngineSettings:
    """The DeepSpeed engine and the numeric precision."""

    deepspeed: str = "zero2"
    """A name under configs/deepspeed/ (zero2 | zero3 | zero3_offload) or a path to a DeepSpeed JSON;
    its "auto" values are filled from this config."""
    precision: str = "auto"
    """auto | fp32 | bf16 | amp_bf16. auto (train/precision.py) = bf16 on a GPU with native bf16, else
    fp32; on a CPU amp_bf16 where a probe measures bf16 matmuls faster than fp32 (AVX512-BF16, AMX), else
    fp32 (on an AVX2-only CPU bf16 is emulated, ~30x slower). amp_bf16 = fp32 master weights with a bf16
    torch.autocast forward (DeepSpeed's torch_autocast). bf16 = bf16 weights (GPU only). The resolved
    value and its reason are logged and noted in the saved config.yaml."""


@dataclass
class OutputSettings:
    """Checkpoints, the final model, resume."""

    output_dir: str = "outputs/train"
    save_every: int = 0
    """Checkpoint every N steps (0: only at the end). Checkpoints: output_dir/checkpoint-<step>/ + `latest`."""
    keep_last: int = 0
    """Keep only the newest N checkpoints (0: keep all)."""
    save_final_model: bool = True
    """Also write output_dir/final_model/ (gathered weights, from_pretrained-ready; a LoRA adapter with LoRA)."""
    resume: bool = False
    """Continue from output_dir's latest checkpoint (same data order; a fresh start if there is none)."""


@dataclass
class LoggingSettings:
    """Metrics: the console, metrics.jsonl, wandb."""

    log_every: int = 1
    wandb: bool = True
    wandb_mode: str = "offline"
    """offline | online | disabled (WANDB_MODE=disabled in the environment also disables it)."""
    wandb_project: str = "skillrm"
    run_name: str = ""
    peak_tflops: float = 989.0
    """Per-GPU dense bf16 peak for MFU (H100 SXM: 989)."""


@dataclass
class HeldoutEval:
    """The judge-accuracy eval on held-out tasks during training."""

    eval_every: int = 0
    """Evaluate every N steps on rank 0 (0: never)."""
    heldout_path: str = ""
    """JudgeTask JSONL (data.generate's heldout.jsonl) for the judge-accuracy eval through the runtime
    (greedy; train.sft every eval_every steps, train.rl also before and after training)."""
    heldout_limit: int = 32


@dataclass
class SFTConfig(HeldoutEval, LoggingSettings, OutputSettings, EngineSettings, OptimSettings, ModelSettings):
    """Supervised fine-tuning (train/sft.py) on data.render's rendered SFT data."""

    data_path: str = ""
    """The rendered SFT data: a `datasets.save_to_disk` folder or a JSONL file (input_ids, labels)."""
    max_seq_len: int = 2048
    packing: bool = True
    """Padding-free packing of examples into rows of max_seq_len tokens (attention never crosses examples)."""
    overlong: str = "drop"
    """Examples longer than max_seq_len: drop | truncate (both are counted and reported). Truncation
    keeps the start and cuts the end, where a trajectory's verdict is: hence drop by default."""
    group_by_length: bool = True
    """Without packing: batch examples of similar length together (less padding)."""
    epochs: int = 1
    output_dir: str = "outputs/sft"
    wandb_project: str = "skillrm-sft"
    eval_setting: str = ""
    """The setting of the held-out eval; empty: the first setting of the data's judge protocol
    (model.protocol.JudgeProtocol.for_data(data_path)), else SKILL_OPERATIONAL."""
    eval_agent: AgentConfig = field(default_factory=AgentConfig)
    """How the held-out judgments run (prompt style, step and token limits); greedy."""
    eval_hook: str = ""
    """'module:function' called every eval_every steps as fn(model, tokenizer, step, cfg) -> dict of
    metrics (logged); empty with heldout_path: the judge-accuracy eval."""


def validate_shared(cfg: Any) -> None:
    """Checks of the shared blocks (any config built from them); raises ValueError naming the field."""
    if bool(cfg.model) == (cfg.model_config is not None):
        raise ValueError("set exactly one of `model` (a spec) or `model_config` (random init)")
    if cfg.model_config is not None and not (cfg.tokenizer or cfg.model):
        raise ValueError("`model_config` needs `tokenizer` (e.g. tokenizer=smollm2-135m)")
    if cfg.model_config is not None and "model_type" not in cfg.model_config:
        raise ValueError("`model_config` needs a `model_type` (e.g. llama)")
    for name, value, allowed in (("precision", cfg.precision, PRECISIONS), ("liger", str(cfg.liger).lower(), TRISTATE),
                                 ("wandb_mode", cfg.wandb_mode, ("offline", "online", "disabled"))):
        if value not in allowed:
            raise ValueError(f"`{name}` must be one of {allowed}, got {value!r}")
    for name in ("global_batch_size", "micro_batch_size", "log_every"):
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


def data_setting(explicit: str, data_path: str, who: str) -> str:
    """The judge setting of a run: `explicit`, else the first of the data's judge protocol (data.render
    writes it next to the data), else the protocol default. Warns when explicit is not a trained one."""
    protocol = JudgeProtocol.for_data(data_path) if data_path else None
    return resolve_settings([explicit] if explicit else None, protocol, who=who)[0]


def validate(cfg: SFTConfig) -> None:
    """Cross-field checks that the schema cannot express; raises ValueError naming the field. Fills
    `eval_setting` (from the data's protocol) and `eval_hook` (the judge-accuracy eval) when empty."""
    validate_shared(cfg)
    if cfg.overlong not in OVERLONG:
        raise ValueError(f"`overlong` must be one of {OVERLONG}, got {cfg.overlong!r}")
    for name in ("max_seq_len", "epochs"):
        if getattr(cfg, name) <= 0:
            raise ValueError(f"`{name}` must be > 0")
    if cfg.eval_every and not cfg.eval_hook:
        if not cfg.heldout_path:
            raise ValueError("`eval_every` needs `heldout_path` (the judge-accuracy eval) or an `eval_hook`")
        cfg.eval_hook = "train.judge_eval:sft_eval_hook"
    if cfg.eval_hook and ":" not in cfg.eval_hook:
        raise ValueError("`eval_hook` must look like 'module:function'")
    if cfg.eval_setting:
        get_setting(cfg.eval_setting)
    cfg.eval_setting = data_setting(cfg.eval_setting, cfg.data_path, "train.sft eval")


def grad_accum_steps(cfg: Any, world_size: int) -> int:
    per_step = cfg.micro_batch_size * world_size
    if cfg.global_batch_size % per_step:
        raise ValueError(
            f"global_batch_size={cfg.global_batch_size} is not divisible by micro_batch_size * world_size "
            f"= {cfg.micro_batch_size} * {world_size}"
        )
    return cfg.global_batch_size // per_step
