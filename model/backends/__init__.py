"""Judge backends: `hf` (local transformers), `openai` (any OpenAI-compatible server), `vllm` (offline engine),
`scripted` (a Python policy; tests and programmatic teachers)."""
from __future__ import annotations

from typing import Any

from model.backends.base import Backend, Generation, GenerationRequest, SamplingParams

BACKENDS = ("hf", "openai", "vllm")


def make_backend(kind: str, model: str, **options: Any) -> Backend:
    """Builds a backend; `options` are the backend's own keyword arguments (None values are dropped)."""
    options = {k: v for k, v in options.items() if v is not None}
    if kind == "hf":
        from model.backends.hf import HFBackend

        return HFBackend(model, **options)
    if kind == "openai":
        from model.backends.openai_server import OpenAIBackend

        return OpenAIBackend(model, **options)
    if kind == "vllm":
        from model.backends.vllm_engine import VLLMBackend

        return VLLMBackend(model, **options)
    raise ValueError(f"unknown backend {kind!r}; expected one of {BACKENDS}")


__all__ = ["Backend", "Generation", "GenerationRequest", "SamplingParams", "make_backend", "BACKENDS"]
