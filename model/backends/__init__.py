"""Judge backends: `hf` (local transformers), `openai` (any OpenAI-compatible server), `vllm` (offline engine),
`scripted` (a Python policy; tests and programmatic teachers). Built only through `make_backend(model, cfg)`
from one `BackendConfig` (model/backends/config.py)."""
from __future__ import annotations

from model.backends.base import Backend, Generation, GenerationRequest, SamplingParams
from model.backends.config import BACKENDS, BackendConfig, LazyBackend, make_backend

__all__ = ["Backend", "Generation", "GenerationRequest", "SamplingParams", "BackendConfig", "LazyBackend",
           "make_backend", "BACKENDS"]
