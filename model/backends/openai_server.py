"""Any OpenAI-compatible chat server (vLLM, SGLang, `transformers serve`, hosted APIs) through one client.

Several base URLs give failover: a request that fails on one server (connection error, timeout, 5xx,
429) is retried on the next, with exponential backoff between rounds. Requests of a batch run
concurrently. Tool calls either go through the server's own parser (`tool_mode="native"`) or as text
in the project's Hermes protocol (`tool_mode="text"`, works with any chat model and server).
"""
from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from model.backends.base import Backend, Generation, GenerationRequest, SamplingParams
from model.chat_template import to_text_protocol
from model.toolcall import parse_native_tool_calls


class OpenAIBackend(Backend):
    def __init__(self, model: str, base_urls: list[str] | str, api_key: str | None = None,
                 tool_mode: str = "text", concurrency: int = 8, timeout_s: float = 120.0,
                 max_retries: int = 4, backoff_s: float = 1.0):
        import openai

        if isinstance(base_urls, str):
            base_urls = [u for u in base_urls.split(",") if u]
        if not base_urls:
            raise ValueError("the openai backend needs at least one base URL (--base-url)")
        if tool_mode not in ("text", "native"):
            raise ValueError(f"tool_mode must be 'text' or 'native', got {tool_mode!r}")
        key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.clients = [openai.OpenAI(base_url=u, api_key=key, timeout=timeout_s, max_retries=0) for u in base_urls]
        self.base_urls = base_urls
        self.model = model
        self.name = f"openai:{model}"
        self.tool_mode = tool_mode
        self.native_tools = tool_mode == "native"
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._next = 0
        self._lock = threading.Lock()
        self._retryable = (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError,
                           openai.InternalServerError)

    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[Generation]:
        if not requests:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests))) as pool:
            return list(pool.map(lambda r: self._one(r, sampling), requests))

    def _payload(self, req: GenerationRequest, sampling: SamplingParams) -> dict[str, Any]:
        body: dict[str, Any] = dict(model=self.model, max_tokens=sampling.max_new_tokens,
                                    temperature=sampling.temperature, top_p=sampling.top_p, seed=sampling.seed)
        if self.tool_mode == "native":
            body["messages"] = [_with_string_arguments(m) for m in req.messages]
            if req.tools:
                body["tools"] = req.tools
        else:
            body["messages"] = to_text_protocol(req.messages, req.tools)
            body["stop"] = ["<tool_response>"]
        return body

    def _start_index(self) -> int:
        with self._lock:
            i = self._next
            self._next = (self._next + 1) % len(self.clients)
            return i

    def _one(self, req: GenerationRequest, sampling: SamplingParams) -> Generation:
        import openai

        body = self._payload(req, sampling)
        start = self._start_index()
        last_error = ""
        for attempt in range(self.max_retries + 1):
            for k in range(len(self.clients)):
                client = self.clients[(start + k) % len(self.clients)]
                try:
                    resp = client.chat.completions.create(**body)
                    return self._to_generation(resp)
                except self._retryable as e:
                    last_error = f"{type(e).__name__} at {client.base_url}: {e}"
                except openai.APIStatusError as e:  # 4xx other than 429: the request itself is bad
                    return Generation(text="", finish_reason="error", error=f"HTTP {e.status_code}: {e.message}")
            time.sleep(self.backoff_s * (2 ** attempt))
        return Generation(text="", finish_reason="error",
                          error=f"all servers failed after {self.max_retries + 1} rounds: {last_error}")

    def _to_generation(self, resp: Any) -> Generation:
        choice = resp.choices[0]
        msg = choice.message
        usage = getattr(resp, "usage", None)
        gen = Generation(text=msg.content or "", finish_reason=choice.finish_reason or "stop",
                         prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                         completion_tokens=getattr(usage, "completion_tokens", 0) or 0)
        if self.tool_mode == "native":
            gen.tool_calls, gen.tool_errors = parse_native_tool_calls(msg.tool_calls)
        return gen


def _with_string_arguments(message: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI API wants tool-call arguments as JSON strings; trajectories keep them as dicts."""
    if not message.get("tool_calls"):
        return message
    calls = []
    for tc in message["tool_calls"]:
        fn = dict(tc["function"])
        if not isinstance(fn.get("arguments"), str):
            fn["arguments"] = json.dumps(fn.get("arguments") or {}, ensure_ascii=False)
        calls.append({**tc, "function": fn})
    return {**message, "tool_calls": calls}
