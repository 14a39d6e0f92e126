"""Sampling candidate solutions from a generator model (for the best-of-N candidate-set builders)."""

from __future__ import annotations

from typing import Any

from model.backends import BackendConfig, GenerationRequest, SamplingParams, make_backend

SOLVE_INSTRUCTION = (
    "Solve the problem. Show your work, and state the final answer at the end "
    "(math: as \\boxed{...}; code: one ```python block)."
)


def sample_solutions(prompts: list[Any], opts: dict[str, Any], backend: Any = None) -> list[list[str]]:
    """`generator_samples` sampled replies per prompt, seeded; failed generations are dropped."""
    k = int(opts.get("generator_samples", 8))
    backend = backend or make_backend(opts["generator"], BackendConfig(kind=opts.get("generator_backend", "hf")))
    requests = [GenerationRequest(messages=_messages(p)) for p in prompts for _ in range(k)]
    sampling = SamplingParams(
        max_new_tokens=int(opts.get("generator_max_new_tokens", 512)),
        temperature=float(opts.get("generator_temperature", 0.8)),
        seed=int(opts.get("seed", 0)),
    )
    gens = backend.generate(requests, sampling)
    out: list[list[str]] = [[] for _ in prompts]
    for i, g in enumerate(gens):
        if not g.error and g.text.strip():
            out[i // k].append(g.text)
    return out


def _messages(prompt: Any) -> list[dict[str, Any]]:
    if isinstance(prompt, list):
        return [{"role": "system", "content": SOLVE_INSTRUCTION}, *prompt]
    return [{"role": "system", "content": SOLVE_INSTRUCTION}, {"role": "user", "content": prompt}]
