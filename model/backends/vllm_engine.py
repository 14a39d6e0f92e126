"""vLLM offline engine backend (optional: used when `vllm` is installed, a clear error otherwise).

Prompts are rendered by the project (the model's template, or the project tool template) and passed
as token ids, so the vLLM path sees exactly the tokens the hf backend and the training data see.

Per-request failures stay per request (the Backend contract): the shared guard (prompt_guard) refuses
a conversation that cannot be rendered or does not fit the engine's `max_model_len` before vLLM sees
it, and a request vLLM itself rejects (its input validation raises ValueError, which fails the whole
`LLM.generate` call) is isolated by splitting the batch in halves until the rejected requests stand
alone; they get their error, every other request is generated.
"""
from __future__ import annotations

import importlib.util
from typing import Any

from model.backends.base import Backend, Generation, GenerationRequest, SamplingParams
from model.backends.hf import STOP_STRINGS
from model.backends.prompt_guard import admit, encode_prompt, new_token_budget
from model.chat_template import end_of_turn_token, ensure_tool_template


class VLLMBackend(Backend):
    native_tools = False

    def __init__(self, model: str, dtype: str = "auto", gpu_memory_utilization: float = 0.85,
                 max_model_len: int | None = None, **engine_kwargs: Any):
        if importlib.util.find_spec("vllm") is None:
            raise ImportError("the vllm backend needs the vllm package (pip install -r requirements-gpu.txt); "
                              "use --backend hf or an OpenAI-compatible vLLM server with --backend openai")
        from vllm import LLM

        from model.loading import load_tokenizer, resolve_spec

        spec = resolve_spec(model)
        if spec.kind in ("lora", "gguf"):
            raise ValueError(f"the vllm backend takes a merged model folder or Hub id, not a {spec.kind} spec; "
                             "export with --merge-lora first")
        self.name = f"vllm:{model}"
        self.tokenizer = ensure_tool_template(load_tokenizer(spec))
        self.llm = LLM(model=spec.path, dtype=dtype, gpu_memory_utilization=gpu_memory_utilization,
                       max_model_len=max_model_len, **engine_kwargs)
        self.max_context = _engine_context(self.llm) or max_model_len
        eot = end_of_turn_token(self.tokenizer)
        self.stop_ids = sorted({i for i in (self.tokenizer.eos_token_id, self.tokenizer.convert_tokens_to_ids(eot))
                                if i is not None})
        self._calls = 0

    def encode(self, req: GenerationRequest) -> list[int]:
        return encode_prompt(self.tokenizer, req)

    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[Generation]:
        self._calls += 1
        batch = admit(requests, self.encode, self.max_context)
        prompts = list(batch.prompts.values())
        params = [self._params(len(p), sampling, k) for k, p in enumerate(prompts)]
        return batch.fill(self._generate(prompts, params))

    def _params(self, prompt_len: int, sampling: SamplingParams, k: int) -> Any:
        """vLLM sampling parameters of the k-th prompt of this call.

        The completion is capped at the end of the context (as in hf), and each request gets its own seed:
        vLLM seeds every request separately, so one shared seed would give identical prompts of a batch
        (an RL group) identical samples. Greedy decoding (temperature 0) ignores the seed.
        """
        from vllm import SamplingParams as VSampling

        seed = (sampling.seed * 1_000_003 + self._calls) * 65_537 + k
        return VSampling(max_tokens=new_token_budget(prompt_len, sampling.max_new_tokens, self.max_context),
                         temperature=sampling.temperature, top_p=sampling.top_p, seed=seed % 2**63,
                         stop=STOP_STRINGS, stop_token_ids=self.stop_ids)

    def _generate(self, prompts: list[list[int]], params: list[Any]) -> list[Generation]:
        """One engine call; a ValueError (vLLM rejecting an input) is narrowed down by halving the batch."""
        from vllm.inputs import TokensPrompt

        if not prompts:
            return []
        try:
            outs = self.llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], params, use_tqdm=False)
        except ValueError as e:
            if len(prompts) == 1:
                return [Generation(text="", finish_reason="error", prompt_tokens=len(prompts[0]),
                                   error=f"vllm rejected the request: {e}")]
            mid = len(prompts) // 2
            return self._generate(prompts[:mid], params[:mid]) + self._generate(prompts[mid:], params[mid:])
        if len(outs) != len(prompts):
            raise RuntimeError(f"vllm returned {len(outs)} outputs for {len(prompts)} prompts")
        return [_to_generation(p, o) for p, o in zip(prompts, outs)]


def _to_generation(prompt: list[int], out: Any) -> Generation:
    """A vLLM RequestOutput as the contract's Generation (finish reasons other than stop/length are errors)."""
    c = out.outputs[0]
    reason = c.finish_reason or "stop"
    gen = Generation(text=c.text, prompt_tokens=len(prompt), completion_tokens=len(c.token_ids),
                     finish_reason=reason, prompt_ids=list(prompt), completion_ids=list(c.token_ids))
    if reason not in ("stop", "length"):
        gen.finish_reason, gen.error = "error", f"vllm finished the request with {reason!r}"
    return gen


def _engine_context(llm: Any) -> int | None:
    """The engine's max_model_len (what vLLM validates prompts against), when it exposes it."""
    config = getattr(getattr(llm, "llm_engine", None), "model_config", None)
    value = getattr(config, "max_model_len", None)
    return int(value) if value else None
