"""The model to train: a model.loading spec or a random-init config; optional Liger kernels, LoRA and
gradient checkpointing."""
from __future__ import annotations

import contextlib
import importlib.util
import inspect
import warnings
from typing import Any

import torch

from train.config import SFTConfig

DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32, "amp_bf16": torch.float32}  # amp: fp32 master
# Architectures whose logits are exactly lm_head(final hidden) (no softcap / scaling / bias), so the
# loss may be computed from the hidden states with Liger's fused linear cross-entropy.
FUSED_CE_MODEL_TYPES = {"llama", "mistral", "qwen2", "qwen3", "qwen2_moe", "qwen3_moe", "phi3", "olmo2"}


def load_train_tokenizer(cfg: SFTConfig):
    from model.loading import load_tokenizer

    return load_tokenizer(cfg.tokenizer or cfg.model)


def liger_wanted(cfg: SFTConfig) -> bool:
    mode = str(cfg.liger).lower()
    available = importlib.util.find_spec("liger_kernel") is not None and torch.cuda.is_available()
    if mode == "true" and not available:
        raise RuntimeError("liger=true but liger-kernel (or CUDA) is unavailable; use liger=auto|false")
    return mode != "false" and available


def spec_config(cfg: SFTConfig):
    """The transformers config of `cfg.model` (a LoRA adapter's base for adapters), without weights."""
    from transformers import AutoConfig

    from model.loading import resolve_spec

    r = resolve_spec(cfg.model)
    if r.kind == "lora":
        r = resolve_spec(r.base or "")
    return AutoConfig.from_pretrained(r.path, gguf_file=r.gguf_file)


def model_type_of(cfg: SFTConfig) -> str:
    if cfg.model_config is not None:
        return str(cfg.model_config["model_type"])
    return spec_config(cfg).model_type


def hidden_size_of(cfg: SFTConfig) -> int | None:
    """For DeepSpeed's bucket sizes only; None when it cannot be read cheaply."""
    if cfg.model_config is not None:
        return cfg.model_config.get("hidden_size")
    try:
        return getattr(spec_config(cfg), "hidden_size", None)
    except Exception:  # noqa: BLE001 - the real load reports real errors
        return None


def apply_liger(model_type: str) -> bool:
    """Patches the architecture's RMSNorm / SwiGLU / RoPE with Liger kernels before the model is built.
    The fused linear cross-entropy is used by train.loss directly, so Liger's loss patch stays off."""
    from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN

    fn = MODEL_TYPE_TO_APPLY_LIGER_FN.get(model_type)
    if fn is None:
        warnings.warn(f"Liger has no kernels for model_type={model_type}; training without", stacklevel=2)
        return False
    wanted = dict(rope=True, swiglu=True, rms_norm=True, cross_entropy=False, fused_linear_cross_entropy=False)
    params = inspect.signature(fn).parameters
    fn(**{k: v for k, v in wanted.items() if k in params})
    return True


def build_model(cfg: SFTConfig, tokenizer, precision: str, liger: bool = False, device: Any = None):
    """The causal LM (with LoRA adapters when enabled), in the training dtype.

    Under ZeRO-3 the caller keeps an HfDeepSpeedConfig alive, so transformers builds it partitioned.
    `device`: where a random-init model is built (on the GPU it initialises in a blink)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from model.loading import attn_implementation, load_model

    dtype = DTYPES[precision]
    attn = attn_implementation(cfg.attn_implementation)
    if liger:
        apply_liger(model_type_of(cfg))
    if cfg.model_config is not None:
        mc = dict(cfg.model_config)
        model_type = mc.pop("model_type")
        if "vocab_size" not in mc:
            mc["vocab_size"] = len(tokenizer)
        for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
            mc.setdefault(name, getattr(tokenizer, name))
        config = AutoConfig.for_model(model_type, **mc)
        torch.manual_seed(cfg.seed)
        with torch.device(device) if device is not None else contextlib.nullcontext():
            model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation=attn)
    else:
        model = load_model(cfg.model, dtype=dtype, attn=cfg.attn_implementation)
    freeze(model, cfg.freeze_embeddings, cfg.trainable_layers)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if cfg.lora.enabled:
        model = add_lora(model, cfg)
    return model


def freeze(model, embeddings: bool, trainable_layers: int) -> None:
    """Partial fine-tuning: frozen input embeddings (and a tied head) and/or only the top N layers."""
    if embeddings or trainable_layers:
        model.get_input_embeddings().weight.requires_grad_(False)
    if trainable_layers:
        layers = model.get_decoder().layers
        if trainable_layers > len(layers):
            raise ValueError(f"trainable_layers={trainable_layers} but the model has {len(layers)} layers")
        for layer in layers[: len(layers) - trainable_layers]:
            layer.requires_grad_(False)


def add_lora(model, cfg: SFTConfig):
    from peft import LoraConfig, get_peft_model

    targets: Any = list(cfg.lora.target_modules)
    if targets == ["all-linear"]:
        targets = "all-linear"
    lcfg = LoraConfig(task_type="CAUSAL_LM", r=cfg.lora.r, lora_alpha=cfg.lora.alpha,
                      lora_dropout=cfg.lora.dropout, target_modules=targets)
    if cfg.gradient_checkpointing:
        model.enable_input_require_grads()  # frozen embeddings: checkpointed blocks still need a grad path
    return get_peft_model(model, lcfg)


def base_causal_lm(model):
    """The transformers CausalLM inside a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def count_params(model) -> tuple[int, int]:
    """(total, trainable), counting full shapes even when ZeRO-3 has partitioned the tensors."""
    total = trainable = 0
    for p in model.parameters():
        n = getattr(p, "ds_numel", p.numel())
        total += n
        trainable += n if p.requires_grad else 0
    return total, trainable
