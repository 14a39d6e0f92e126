"""Local transformers backend: any model spec (Hub id, folder, GGUF, LoRA adapter, embedded), batched.

Two generation engines: `generate` (padded static batches, sorted by length to limit padding) and
`continuous` (transformers' continuous batching with a paged KV cache, `generate_batch`), which is the
fast path on a GPU. `auto` picks continuous on CUDA and generate on CPU. The generate engine reuses the
key/value states of prompts it has seen (model/backends/prefix_cache.py): an agent episode's later turns
prefill only their new tokens.
"""
from __future__ import annotations

import warnings
from typing import Any

from model.backends.base import Backend, Generation, GenerationRequest, SamplingParams
from model.backends.prefix_cache import PrefixCache, batch_states, cache_kwarg, layer_states, states_cache
from model.backends.prompt_guard import admit, encode_prompt, new_token_budget
from model.chat_template import end_of_turn_token, ensure_tool_template

STOP_STRINGS = ["<tool_response>"]  # a model that starts to invent the tool's answer has finished its turn


class HFBackend(Backend):
    native_tools = False

    def __init__(self, model: str, dtype: str = "auto", device: str | None = None, batch_size: int = 8,
                 engine: str = "auto", attn: str = "auto", model_obj: Any = None, tokenizer: Any = None,
                 prefix_cache_tokens: int = 65_536):
        import torch

        from model.loading import load_model, load_tokenizer

        self.name = f"hf:{model}"
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if dtype == "auto":
            dtype = "bfloat16" if self.device.startswith("cuda") else "float32"
        self.tokenizer = tokenizer if tokenizer is not None else load_tokenizer(model)
        ensure_tool_template(self.tokenizer)
        self.tokenizer.padding_side = "left"
        self.model = model_obj if model_obj is not None else load_model(model, dtype=dtype, attn=attn)
        self.model.to(self.device).eval()
        self.batch_size = batch_size
        self.engine = ("continuous" if self.device.startswith("cuda") else "generate") if engine == "auto" else engine
        eot = end_of_turn_token(self.tokenizer)
        self.stop_ids = sorted({i for i in (self.tokenizer.eos_token_id, self.tokenizer.convert_tokens_to_ids(eot))
                                if i is not None})
        self.max_context = int(getattr(self.model.config, "max_position_embeddings", 0) or 0) or None
        self._calls = 0
        # States are only reusable while the weights stay fixed: never for a live policy (model_obj).
        reuse = self.engine == "generate" and model_obj is None and prefix_cache_tokens > 0
        self.prefix_cache = PrefixCache(max_tokens=prefix_cache_tokens) if reuse else None

    def encode(self, req: GenerationRequest) -> list[int]:
        return encode_prompt(self.tokenizer, req)

    def generate(self, requests: list[GenerationRequest], sampling: SamplingParams) -> list[Generation]:
        import torch

        self._calls += 1
        if sampling.temperature > 0:
            torch.manual_seed(sampling.seed * 1_000_003 + self._calls)
        batch = admit(requests, self.encode, self.max_context)
        run = self._generate_continuous if self.engine == "continuous" else self._generate_static
        return batch.fill(run(list(batch.prompts.values()), sampling))

    def _max_new(self, prompt_len: int, sampling: SamplingParams) -> int:
        return new_token_budget(prompt_len, sampling.max_new_tokens, self.max_context)

    def _finish(self, prompt: list[int], completion: list[int], limit: int) -> Generation:
        completion = list(completion)
        # Cut at the first stop token (kept in completion_ids: it is a trained token) and pad.
        for k, tok in enumerate(completion):
            if tok in self.stop_ids:
                completion = completion[: k + 1]
                break
        else:
            completion = [t for t in completion if t != self.tokenizer.pad_token_id or t in self.stop_ids]
        text = self.tokenizer.decode(completion, skip_special_tokens=True)
        stopped = bool(completion) and completion[-1] in self.stop_ids
        for s in STOP_STRINGS:
            if s in text:
                text, stopped = text[: text.index(s)], True
        reason = "stop" if stopped or len(completion) < limit else "length"
        return Generation(text=text, prompt_tokens=len(prompt), completion_tokens=len(completion),
                          finish_reason=reason, prompt_ids=list(prompt), completion_ids=completion)

    def _generation_kwargs(self, sampling: SamplingParams) -> dict[str, Any]:
        kw: dict[str, Any] = dict(eos_token_id=self.stop_ids, pad_token_id=self.tokenizer.pad_token_id)
        if sampling.temperature > 0:
            kw.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kw

    def _generate_static(self, prompts: list[list[int]], sampling: SamplingParams) -> list[Generation]:
        import torch

        if self.prefix_cache is not None and all(len(p) >= 2 for p in prompts):
            try:
                return self._generate_reusing(prompts, sampling)
            except TypeError as e:  # a cache layout whose states cannot be sliced by position: recompute
                warnings.warn(f"{self.name}: prefix reuse disabled ({e})", stacklevel=2)
                self.prefix_cache = None
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        out: dict[int, Generation] = {}
        for start in range(0, len(order), self.batch_size):
            idx = order[start: start + self.batch_size]
            batch = [prompts[i] for i in idx]
            enc = self.tokenizer.pad({"input_ids": batch}, return_tensors="pt").to(self.device)
            limit = min(self._max_new(len(p), sampling) for p in batch)
            with torch.no_grad():
                gen = self.model.generate(**enc, max_new_tokens=limit, stop_strings=STOP_STRINGS,
                                          tokenizer=self.tokenizer, **self._generation_kwargs(sampling))
            width = enc["input_ids"].shape[1]
            for row, i in enumerate(idx):
                out[i] = self._finish(prompts[i], gen[row, width:].tolist(), limit)
        return [out[i] for i in range(len(prompts))]

    def _generate_continuous(self, prompts: list[list[int]], sampling: SamplingParams) -> list[Generation]:
        from transformers import GenerationConfig

        if not prompts:
            return []
        limit = min(self._max_new(len(p), sampling) for p in prompts)
        cfg = GenerationConfig(max_new_tokens=limit, **self._generation_kwargs(sampling))
        res = self.model.generate_batch(inputs=prompts, generation_config=cfg, progress_bar=False)
        by_id = {k: v for k, v in res.items()}
        gens = []
        for k, p in enumerate(prompts):
            r = by_id.get(f"req_{k}")
            if r is None:
                gens.append(Generation(text="", finish_reason="error", error="continuous batching lost request"))
            else:
                gens.append(self._finish(p, r.generated_tokens, limit))
        return gens

    def _generate_reusing(self, prompts: list[list[int]], sampling: SamplingParams) -> list[Generation]:
        """Static batches whose prompts prefill only what the prefix cache does not hold: each prompt
        but its last token is extended alone (prefill is compute-bound, so alone costs nothing and
        pads nothing), the states are left-padded into one batch cache, and generate() runs the last
        prompt token and the batched decode. Every processed sequence goes back into the cache."""
        import torch

        cache = self.prefix_cache
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        out: dict[int, Generation] = {}
        for start in range(0, len(order), self.batch_size):
            idx = order[start: start + self.batch_size]
            batch = [prompts[i] for i in idx]
            states = []
            for p in batch:
                n, held = cache.lookup(p, len(p) - 1)
                kv = self._extend(p[n:-1], held, n)
                cache.add(p[:-1], kv)  # the other rows of this batch (the other candidate order) reuse it
                states.append(kv)
            width = max(len(p) for p in batch)
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.stop_ids[0]
            ids = torch.tensor([[pad] * (width - len(p)) + p for p in batch], device=self.device)
            mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in batch], device=self.device)
            limit = min(self._max_new(len(p), sampling) for p in batch)
            with torch.no_grad():
                gen = self.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=limit,
                                          stop_strings=STOP_STRINGS, tokenizer=self.tokenizer,
                                          return_dict_in_generate=True,
                                          **{cache_kwarg(): states_cache(batch_states(states, width - 1),
                                                                         self.model.config)},
                                          **self._generation_kwargs(sampling))
            final = layer_states(getattr(gen, "cache", None) or gen.past_key_values)
            for row, (i, p) in enumerate(zip(idx, batch)):
                raw = gen.sequences[row, width:].tolist()
                out[i] = g = self._finish(p, raw, limit)
                kept = g.completion_ids[:-1] if g.completion_ids else []
                if raw[: len(kept)] == kept:  # the states of every kept token but the last are in `final`
                    lo, hi = width - len(p), width + len(kept)
                    cache.add(p + kept, [(k[row, :, lo:hi], v[row, :, lo:hi]) for k, v in final])
        return [out[i] for i in range(len(prompts))]

    def _extend(self, tokens: list[int], held: Any, n_held: int) -> list:
        """The states of (held prefix + tokens), computing only `tokens` (batch of one)."""
        import torch

        if not tokens:
            return held
        cache = states_cache([(k[None], v[None]) for k, v in held] if held else None, self.model.config)
        positions = torch.arange(n_held, n_held + len(tokens), device=self.device)[None]
        with torch.no_grad():
            self.model(input_ids=torch.tensor([tokens], device=self.device), position_ids=positions,
                       use_cache=True, logits_to_keep=1, **{cache_kwarg(): cache})
        return [(k[0], v[0]) for k, v in layer_states(cache)]
