"""How a judge model is run: one `BackendConfig` and one `make_backend`, used by every stage.

The model spec (which weights) stays with each stage's config (`model=...`); the backend section says
how to run it. In YAML:

    model: outputs/quickstart/sft_skill/final_model
    backend: {kind: hf, batch_size: 16}          # or {kind: openai, base_urls: [http://host:8000/v1]}

`kind` is hf | openai | vllm, or `scripted:MODULE:FUNCTION` (a Python policy: tests, programmatic judges).
Options that do not apply to the kind are ignored; `extra` goes to the backend's constructor as is
(e.g. vllm's gpu_memory_utilization). `LazyBackend` builds it on the first generate call, so a fully
resumed run never loads the model.
"""
from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass, field
from typing import Any

from model.backends.base import Backend, Generation, GenerationRequest, SamplingParams

BACKENDS = ("hf", "openai", "vllm")
ENGINES = ("auto", "generate", "continuous")
TOOL_MODES = ("text", "native")


@dataclass
class BackendConfig:
    kind: str = "hf"
    batch_size: int = 8                 # hf: sequences per generate call
    engine: str = "auto"                # hf: auto | generate | continuous (transformers continuous batching)
    dtype: str = "auto"                 # hf, vllm: auto | bfloat16 | float16 | float32
    device: str | None = None           # hf: cuda | cpu | ... (None: cuda when available)
    prefix_cache_tokens: int = 65_536   # hf generate engine: key/value states kept for reuse across turns (0: off)
    base_urls: list[str] = field(default_factory=list)  # openai: server URLs, tried in order (failover)
    tool_mode: str = "text"             # openai: text (<tool_call> blocks) | native (the server's tool parser)
    concurrency: int = 16               # openai: requests in flight
    request_timeout_s: float = 120.0    # openai: per request
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> BackendConfig:
        if self.kind not in BACKENDS and not self.kind.startswith("scripted:"):
            raise ValueError(f"backend.kind must be one of {BACKENDS} or scripted:MODULE:FUNCTION, got {self.kind!r}")
        if self.kind == "hf" and self.engine not in ENGINES:
            raise ValueError(f"backend.engine must be one of {ENGINES}, got {self.engine!r}")
        if self.tool_mode not in TOOL_MODES:
            raise ValueError(f"backend.tool_mode must be one of {TOOL_MODES}, got {self.tool_mode!r}")
        if self.kind == "openai" and not self.urls():
            raise ValueError("backend openai needs base_urls (e.g. backend.base_urls=[http://127.0.0.1:8000/v1], "
                             "or --base-url URL)")
        if self.prefix_cache_tokens < 0:
            raise ValueError(f"backend.prefix_cache_tokens must be >= 0, got {self.prefix_cache_tokens}")
        for name in ("batch_size", "concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"backend.{name} must be >= 1, got {getattr(self, name)}")
        return self

    def urls(self) -> list[str]:
        """base_urls with comma-separated entries split."""
        return [u.strip() for entry in self.base_urls for u in str(entry).split(",") if u.strip()]

    @property
    def native_tools(self) -> bool:
        return self.kind == "openai" and self.tool_mode == "native"


def make_backend(model: str, cfg: BackendConfig | None = None, *, model_obj: Any = None,
                 tokenizer: Any = None) -> Backend:
    """The backend that runs `model` (a model spec; the served model name for openai) as `cfg` says.
    hf only: `model_obj` / `tokenizer` run an already loaded model (the policy being trained); `model`
    is then just its name."""
    cfg = (cfg or BackendConfig()).validate()
    if model_obj is not None and cfg.kind != "hf":
        raise ValueError(f"an in-memory model runs on the hf backend, not {cfg.kind}")
    if cfg.kind.startswith("scripted:"):
        return scripted_backend(cfg.kind)
    if cfg.kind == "hf":
        from model.backends.hf import HFBackend

        return HFBackend(model, dtype=cfg.dtype, device=cfg.device, batch_size=cfg.batch_size, engine=cfg.engine,
                         model_obj=model_obj, tokenizer=tokenizer, prefix_cache_tokens=cfg.prefix_cache_tokens,
                         **cfg.extra)
    if cfg.kind == "openai":
        from model.backends.openai_server import OpenAIBackend

        return OpenAIBackend(model, base_urls=cfg.urls(), tool_mode=cfg.tool_mode, concurrency=cfg.concurrency,
                             timeout_s=cfg.request_timeout_s, **cfg.extra)
    from model.backends.vllm_engine import VLLMBackend

    return VLLMBackend(model, dtype=cfg.dtype, **cfg.extra)


def scripted_backend(spec: str) -> Backend:
    """`scripted:MODULE:FUNCTION` -> a ScriptedBackend running that policy. FUNCTION may also be a
    zero-argument factory returning a Backend (marked by `make_backend = True` on the function)."""
    from model.backends.scripted import ScriptedBackend

    try:
        _, module_name, attr = spec.split(":", 2)
    except ValueError:
        raise ValueError(f"scripted backend spec must be 'scripted:MODULE:FUNCTION', got {spec!r}") from None
    fn = getattr(importlib.import_module(module_name), attr)
    if getattr(fn, "make_backend", False):
        return fn()
    return ScriptedBackend(fn, name=f"scripted:{attr}")


class LazyBackend(Backend):
    """Builds its backend on the first generate call (or `.inner`)."""

    def __init__(self, model: str, cfg: BackendConfig | None = None):
        self.model, self.cfg = model, (cfg or BackendConfig()).validate()
        self.name = f"{self.cfg.kind}:{model}"
        self.native_tools = self.cfg.native_tools
        self._inner: Backend | None = None

    @property
    def inner(self) -> Backend:
        if self._inner is None:
            self._inner = make_backend(self.model, self.cfg)
        return self._inner

    @property
    def tokenizer(self) -> Any:  # type: ignore[override]
        return self.inner.tokenizer

    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[Generation]:
        return self.inner.generate(requests, sampling)

    def describe(self) -> str:
        return self._inner.describe() if self._inner is not None else self.name

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


# --------------------------------------------------------------------------------------------- CLIs

def add_backend_args(p: argparse.ArgumentParser) -> None:
    """The backend flags of the judging CLIs (model.judge, model.reward.server)."""
    g = p.add_argument_group("backend")
    g.add_argument("--backend", default="hf", help=f"one of {BACKENDS} or scripted:MODULE:FUNCTION")
    g.add_argument("--base-url", action="append", help="OpenAI-compatible server URL (repeat for failover)")
    g.add_argument("--tool-mode", choices=TOOL_MODES, default="text", help="openai backend tool calls")
    g.add_argument("--batch-size", type=int, default=8, help="hf backend batch size")
    g.add_argument("--engine", choices=ENGINES, default="auto", help="hf generation engine")
    g.add_argument("--dtype", default="auto", help="hf / vllm weights dtype (auto, bfloat16, float32, ...)")
    g.add_argument("--concurrency", type=int, default=16, help="openai backend requests in flight")


def backend_config_from_args(args: argparse.Namespace) -> BackendConfig:
    return BackendConfig(kind=args.backend, batch_size=args.batch_size, engine=args.engine, dtype=args.dtype,
                         base_urls=list(args.base_url or []), tool_mode=args.tool_mode,
                         concurrency=args.concurrency).validate()
