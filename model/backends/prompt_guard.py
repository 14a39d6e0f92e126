"""What a token-level backend (hf, vllm) does before it generates: render every request to token ids and
check, one request at a time, that it fits the model's context.

The Backend contract (base.py) says that one bad request must not fail its batch. A conversation the
chat template cannot render, or a prompt that leaves no room for one new token, becomes that request's
own Generation (`error` set, finish_reason `error` | `prompt_too_long`); the other requests go on.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from model.backends.base import Generation, GenerationRequest


def encode_prompt(tokenizer: Any, req: GenerationRequest) -> list[int]:
    """The request's prompt ids: its own (a TokenLedger's), else its conversation through the chat template."""
    if req.prompt_ids is not None:
        return list(req.prompt_ids)
    out = tokenizer.apply_chat_template(req.messages, tools=req.tools or None, tokenize=True,
                                        add_generation_prompt=True, return_dict=True)
    return list(out["input_ids"])


def context_error(prompt_len: int, max_context: int | None) -> Generation | None:
    """The context guard: a prompt that leaves no room for one new token fails alone (None: it fits)."""
    if max_context and prompt_len + 1 > max_context:
        return Generation(text="", finish_reason="prompt_too_long", prompt_tokens=prompt_len,
                          error=f"prompt of {prompt_len} tokens exceeds the context of {max_context}")
    return None


def new_token_budget(prompt_len: int, max_new_tokens: int, max_context: int | None) -> int:
    """At most `max_new_tokens`, and never past the end of the context."""
    if max_context:
        return max(1, min(max_new_tokens, max_context - prompt_len))
    return max_new_tokens


@dataclass
class Admission:
    """A batch after the guard: the refused requests' Generations in place, the prompts that go on."""

    results: list[Generation | None]
    prompts: dict[int, list[int]]  # request index -> prompt ids, in request order

    def fill(self, generations: list[Generation]) -> list[Generation]:
        """One Generation per request, in request order: `generations` answer `prompts`, in order."""
        if len(generations) != len(self.prompts):
            raise RuntimeError(f"the engine returned {len(generations)} generations for {len(self.prompts)} prompts")
        out = list(self.results)
        for i, gen in zip(self.prompts, generations):
            out[i] = gen
        return [g for g in out if g is not None]


def admit(requests: list[GenerationRequest], encode: Callable[[GenerationRequest], list[int]],
          max_context: int | None) -> Admission:
    """Encodes each request and applies the context guard; a failure stays that request's own."""
    from jinja2 import TemplateError

    results: list[Generation | None] = [None] * len(requests)
    prompts: dict[int, list[int]] = {}
    for i, req in enumerate(requests):
        try:
            ids = encode(req)
        except (TemplateError, ValueError, TypeError, KeyError) as e:  # what a template raises on bad input
            results[i] = Generation(text="", finish_reason="error",
                                    error=f"the chat template cannot render this conversation: "
                                          f"{type(e).__name__}: {e}")
            continue
        results[i] = context_error(len(ids), max_context)
        if results[i] is None:
            prompts[i] = ids
    return Admission(results, prompts)
