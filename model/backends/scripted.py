"""A deterministic backend driven by a Python policy: for tests, and for programmatic teachers.

The policy receives the GenerationRequest (conversation, tools, and the opaque context the agent loop
attaches — the episode) and returns the assistant reply as text, Hermes tool-call blocks included.
"""
from __future__ import annotations

from collections.abc import Callable

from model.backends.base import Backend, Generation, GenerationRequest, SamplingParams

Policy = Callable[[GenerationRequest], str]


class ScriptedBackend(Backend):
    native_tools = False

    def __init__(self, policy: Policy, name: str = "scripted"):
        self.policy = policy
        self.name = name

    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[Generation]:
        out = []
        for req in requests:
            text = self.policy(req)
            out.append(Generation(text=text, completion_tokens=len(text.split())))
        return out
