"""The vllm backend's real code path on a stand-in engine: a fake `vllm` package whose `LLM` validates and
answers like `vllm.LLM.generate` (an input it rejects raises ValueError and fails the whole call), so the
backend's rendering, context guard, SamplingParams mapping, output mapping and failure isolation run as
they do on a GPU. The per-request contract is checked against the hf backend too (one shared guard)."""
from __future__ import annotations

import importlib.machinery
import sys
import types
from types import SimpleNamespace

import pytest

from model.backends import BackendConfig, make_backend
from model.backends.base import GenerationRequest, SamplingParams
from model.backends.hf import STOP_STRINGS
from model.loading import resolve_spec

VOCAB = 49152  # SmolLM2's vocabulary: the fake engine rejects ids beyond it, as vLLM does


class FakeSamplingParams:
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class FakeLLM:
    """Checks each request as vLLM's input processing does, then answers with the prompt's first tokens."""

    def __init__(self, model, **kwargs):
        self.model, self.kwargs = model, kwargs
        self.max_model_len = kwargs.get("max_model_len") or 2048
        self.llm_engine = SimpleNamespace(model_config=SimpleNamespace(max_model_len=self.max_model_len))
        self.calls: list[list[list[int]]] = []
        self.params: list[FakeSamplingParams] = []
        self.abort_prompt_len: int | None = None  # a request of this length finishes "abort"

    def generate(self, prompts, sampling_params, *, use_tqdm=True):
        if not isinstance(sampling_params, list):  # vLLM takes one for all, or one per prompt
            sampling_params = [sampling_params] * len(prompts)
        assert len(sampling_params) == len(prompts)
        ids = [p["prompt_token_ids"] for p in prompts]
        self.calls.append(ids)
        for p in ids:
            if len(p) > self.max_model_len:
                raise ValueError(f"The decoder prompt (length {len(p)}) is longer than the maximum model "
                                 f"length of {self.max_model_len}.")
            if max(p) >= VOCAB:
                raise ValueError(f"Token id {max(p)} is out of vocabulary")
        self.params += sampling_params
        return [self._answer(p, sp) for p, sp in zip(ids, sampling_params)]

    def _answer(self, prompt, sp):
        n = min(sp.max_tokens, 4)
        reason = "abort" if len(prompt) == self.abort_prompt_len else ("length" if n == sp.max_tokens else "stop")
        out = SimpleNamespace(text=f"reply to {len(prompt)} tokens", token_ids=tuple(prompt[:n]), finish_reason=reason)
        return SimpleNamespace(prompt_token_ids=prompt, outputs=[out])


@pytest.fixture
def fake_vllm(monkeypatch):
    vllm = types.ModuleType("vllm")
    vllm.__spec__ = importlib.machinery.ModuleSpec("vllm", None)  # importlib.util.find_spec("vllm") finds it
    vllm.LLM, vllm.SamplingParams = FakeLLM, FakeSamplingParams
    inputs = types.ModuleType("vllm.inputs")
    inputs.TokensPrompt = lambda prompt_token_ids: {"prompt_token_ids": prompt_token_ids}  # a TypedDict in vLLM
    vllm.inputs = inputs
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.inputs", inputs)
    return vllm


def chat(text: str) -> GenerationRequest:
    return GenerationRequest([{"role": "user", "content": text}])


def test_engine_built_from_the_spec_with_the_project_template(fake_vllm):
    backend = make_backend("smollm2-135m", BackendConfig(kind="vllm", extra={"max_model_len": 256,
                                                                          "gpu_memory_utilization": 0.5}))
    llm = backend.llm
    assert isinstance(llm, FakeLLM) and llm.model == resolve_spec("smollm2-135m").path
    assert llm.kwargs == {"dtype": "auto", "gpu_memory_utilization": 0.5, "max_model_len": 256}
    assert backend.max_context == 256  # read back from the engine
    tok = backend.tokenizer
    assert set(backend.stop_ids) == {tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>")}
    assert "<tool_call>" in tok.chat_template  # the project tool template: the tokens training sees


def test_overlong_prompt_fails_alone_and_the_rest_of_the_batch_generates(fake_vllm):
    backend = make_backend("smollm2-135m", BackendConfig(kind="vllm", extra={"max_model_len": 128}))
    reqs = [chat("two plus two"), chat("word " * 400), chat("three plus three")]
    gens = backend.generate(reqs, SamplingParams(max_new_tokens=32))
    assert [g.finish_reason for g in gens] == ["stop", "prompt_too_long", "stop"]
    assert gens[1].error.startswith("prompt of ") and "exceeds the context of 128" in gens[1].error
    assert gens[1].prompt_tokens > 128 and gens[1].text == ""
    # only the fitting prompts reach the engine, rendered by the chat template with the generation prompt
    tok = backend.tokenizer
    expected = [tok.apply_chat_template(r.messages, tokenize=True, add_generation_prompt=True, return_dict=True)
                ["input_ids"] for r in (reqs[0], reqs[2])]
    assert backend.llm.calls == [expected]
    for gen, ids in zip([gens[0], gens[2]], expected):
        assert gen.error is None and gen.text == f"reply to {len(ids)} tokens"
        assert (gen.prompt_ids, gen.prompt_tokens) == (ids, len(ids))
        assert gen.completion_ids == ids[:4] and gen.completion_tokens == 4 and isinstance(gen.completion_ids, list)


def test_sampling_params_mapping(fake_vllm):
    backend = make_backend("smollm2-135m", BackendConfig(kind="vllm", extra={"max_model_len": 64}))
    short, near_end = [1, 2, 3], list(range(10, 70))  # 60 tokens: 4 left in the context
    reqs = [GenerationRequest([], prompt_ids=short), GenerationRequest([], prompt_ids=near_end),
            GenerationRequest([], prompt_ids=short)]
    gens = backend.generate(reqs, SamplingParams(max_new_tokens=16, temperature=0.7, top_p=0.9, seed=5))
    p = backend.llm.params
    assert [x.max_tokens for x in p] == [16, 4, 16]  # capped at the end of the context, as in hf
    assert all((x.temperature, x.top_p, x.stop, x.stop_token_ids) == (0.7, 0.9, STOP_STRINGS, backend.stop_ids)
               for x in p)
    assert len({x.seed for x in p}) == 3  # identical prompts of one batch do not share a sample
    assert gens[1].finish_reason == "length" and gens[0].finish_reason == "stop"
    backend.generate(reqs, SamplingParams(max_new_tokens=16, temperature=0.7, top_p=0.9, seed=5))
    assert not {x.seed for x in p[:3]} & {x.seed for x in p[3:]}  # a new call draws new seeds
    again = make_backend("smollm2-135m", BackendConfig(kind="vllm", extra={"max_model_len": 64}))
    again.generate(reqs, SamplingParams(max_new_tokens=16, temperature=0.7, top_p=0.9, seed=5))
    assert [x.seed for x in again.llm.params] == [x.seed for x in p[:3]]  # deterministic for a seed


def test_a_request_vllm_rejects_is_isolated(fake_vllm):
    backend = make_backend("smollm2-135m", BackendConfig(kind="vllm", extra={"max_model_len": 128}))
    reqs = [chat(f"question {k}") for k in range(5)]
    reqs[3] = GenerationRequest([], prompt_ids=[1, 2, VOCAB + 7])  # a token id the model does not have
    gens = backend.generate(reqs, SamplingParams(max_new_tokens=8))
    assert [g.error is None for g in gens] == [True, True, True, False, True]
    assert gens[3].finish_reason == "error" and f"Token id {VOCAB + 7} is out of vocabulary" in gens[3].error
    assert all(g.text.startswith("reply to") for k, g in enumerate(gens) if k != 3)
    assert len(backend.llm.calls) <= 1 + 2 * 3  # halving: a few engine calls, not one per request


def test_unrenderable_conversation_and_aborted_request_are_per_request_errors(fake_vllm):
    backend = make_backend("smollm2-135m", BackendConfig(kind="vllm", extra={"max_model_len": 128}))
    backend.llm.abort_prompt_len = 2
    reqs = [GenerationRequest([{"role": "user"}]), GenerationRequest([], prompt_ids=[5, 6]), chat("fine")]
    gens = backend.generate(reqs, SamplingParams(max_new_tokens=8))
    assert gens[0].finish_reason == "error" and "chat template cannot render" in gens[0].error
    assert gens[1].finish_reason == "error" and "'abort'" in gens[1].error
    assert gens[2].error is None and gens[2].finish_reason == "stop"


def test_empty_batch_calls_no_engine(fake_vllm):
    backend = make_backend("smollm2-135m", BackendConfig(kind="vllm"))
    assert backend.generate([], SamplingParams()) == []
    assert backend.generate([chat("word " * 3000)], SamplingParams())[0].finish_reason == "prompt_too_long"
    assert backend.llm.calls == []


def test_lora_and_gguf_specs_are_refused(fake_vllm, tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(ValueError, match="not a gguf spec"):
        make_backend(str(gguf), BackendConfig(kind="vllm"))


def test_hf_backend_applies_the_same_guard(tiny_model_dir):
    """hf and vllm share the guard: the same overlong request fails alone with the same error."""
    backend = make_backend(str(tiny_model_dir), BackendConfig(kind="hf", batch_size=2))
    backend.max_context = 128
    reqs = [chat("two plus two"), chat("word " * 400), GenerationRequest([{"role": "user"}])]
    gens = backend.generate(reqs, SamplingParams(max_new_tokens=3))
    assert [g.finish_reason for g in gens][1:] == ["prompt_too_long", "error"]
    assert gens[0].error is None and gens[0].completion_tokens >= 1
    assert "exceeds the context of 128" in gens[1].error and "chat template cannot render" in gens[2].error
