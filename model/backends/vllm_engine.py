"""vLLM offline engine backend (optional: used when `vllm` is installed, a clear error otherwise).

Prompts are rendered by the project (the model's template, or the project tool template) and passed
as token ids, so the vLLM path sees exactly the tokens the hf backend and the training data see.
"""
from __future__ import annotations

import importlib.util
from typing import Any

from model.backends.base import Backend, Generation, GenerationRequest, SamplingParams
from model.backends.hf import STOP_STRINGS
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
        eot = end_of_turn_token(self.tokenizer)
        self.stop_ids = sorted({i for i in (self.tokenizer.eos_token_id, self.tokenizer.convert_tokens_to_ids(eot))
                                if i is not None})

    def encode(self, req: GenerationRequest) -> list[int]:
        if req.prompt_ids is not None:
            return list(req.prompt_ids)
        return list(self.tokenizer.apply_chat_template(req.messages, tools=req.tools or None, tokenize=True,
                                                       add_generation_prompt=True, return_dict=True)["input_ids"])

    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[Generation]:
        from vllm import SamplingParams as VSampling
        from vllm.inputs import TokensPrompt

        prompts = [self.encode(r) for r in requests]
        params = VSampling(max_tokens=sampling.max_new_tokens, temperature=sampling.temperature,
                           top_p=sampling.top_p, seed=sampling.seed, stop=STOP_STRINGS,
                           stop_token_ids=self.stop_ids)
        outs = self.llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], params, use_tqdm=False)
        gens = []
        for p, o in zip(prompts, outs):
            c = o.outputs[0]
            gens.append(Generation(text=c.text, prompt_tokens=len(p), completion_tokens=len(c.token_ids),
                                   finish_reason=c.finish_reason or "stop", prompt_ids=p,
                                   completion_ids=list(c.token_ids)))
        return gens
