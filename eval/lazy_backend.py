"""A backend that is built on its first generate call, so a fully resumed run never loads the model."""

from __future__ import annotations

from typing import Any

from model.backends import Backend, Generation, GenerationRequest, SamplingParams, make_backend


def backend_options(cfg: Any) -> dict[str, Any]:
    """make_backend keyword arguments for an EvalConfig (the judge CLI's backend_from_args, from a config)."""
    if cfg.backend == "hf":
        return {"batch_size": cfg.batch_size, "engine": cfg.engine, "dtype": cfg.dtype}
    if cfg.backend == "openai":
        if not cfg.base_urls:
            raise ValueError("backend openai needs base_urls (--base-url URL)")
        return {"base_urls": list(cfg.base_urls), "tool_mode": cfg.tool_mode, "concurrency": cfg.concurrency}
    return {"dtype": cfg.dtype}


class LazyBackend(Backend):
    def __init__(self, cfg: Any):
        self.cfg = cfg
        self.name = f"{cfg.backend}:{cfg.model}"
        self.native_tools = cfg.backend == "openai" and cfg.tool_mode == "native"
        self._inner: Backend | None = None

    @property
    def inner(self) -> Backend:
        if self._inner is None:
            self._inner = make_backend(self.cfg.backend, self.cfg.model, **backend_options(self.cfg))
        return self._inner

    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[Generation]:
        return self.inner.generate(requests, sampling)

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
