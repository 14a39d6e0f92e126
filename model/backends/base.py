"""The backend contract: batched chat generation with optional tools.

A backend turns a batch of conversations into one assistant reply each. Backends with a native tool
parser (an OpenAI-compatible server in `native` mode) return parsed `tool_calls`; the others return
text, which the agent loop parses for Hermes-style `<tool_call>` blocks.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from model.toolcall import ToolCall


@dataclass
class SamplingParams:
    max_new_tokens: int = 512
    temperature: float = 0.0   # 0 = greedy
    top_p: float = 1.0
    seed: int = 0


@dataclass
class GenerationRequest:
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    context: Any = None  # opaque to backends; scripted policies read it (e.g. the episode's environment)
    prompt_ids: list[int] | None = None  # token-level backends: generate from these ids (a TokenLedger)


@dataclass
class Generation:
    text: str
    tool_calls: list[ToolCall] | None = None   # set only by native-tool backends
    tool_errors: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"                # stop | length | prompt_too_long | error
    error: str | None = None
    prompt_ids: list[int] | None = None        # token-level backends, for RL
    completion_ids: list[int] | None = None


class Backend(ABC):
    name: str = "backend"
    native_tools: bool = False
    tokenizer: Any = None  # token-level backends (hf, vllm) expose theirs: RL rollouts keep token ledgers

    @abstractmethod
    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[Generation]:
        """One Generation per request, in order. Must not raise for a single bad request."""

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        pass
