"""The hf backend's reuse of key/value states across agent turns: same tokens out, fewer tokens in."""
from __future__ import annotations

import torch

from model.backends.base import GenerationRequest, SamplingParams
from model.backends.prefix_cache import MIN_REUSE, PrefixCache


def _states(n: int, fill: float = 1.0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(torch.full((2, n, 4), fill), torch.full((2, n, 4), -fill)) for _ in range(3)]


def test_lookup_returns_the_longest_common_token_prefix_only():
    cache = PrefixCache(max_tokens=1000)
    a = list(range(100))
    cache.add(a, _states(100))
    n, kv = cache.lookup(a[:60] + [999] * 10, limit=69)
    assert n == 60 and kv[0][0].shape == (2, 60, 4)
    n, _ = cache.lookup(a + [5, 6], limit=50)  # never more than the caller allows (the last token is fed)
    assert n == 50
    assert cache.lookup([7] * 40, limit=39) == (0, None)
    assert cache.lookup(a[: MIN_REUSE - 1] + [999], limit=100) == (0, None)  # too short to be worth it
    s = cache.stats.as_dict()
    assert s["lookups"] == 4 and s["reused_tokens"] == 110


def test_a_prefix_entry_is_replaced_by_its_extension_and_memory_stays_bounded():
    cache = PrefixCache(max_tokens=250)
    cache.add(list(range(100)), _states(100))
    cache.add(list(range(120)), _states(120))  # the episode's next turn: the old entry is its prefix
    assert [len(e.tokens) for e in cache.entries] == [120]
    cache.add([5] * 100, _states(100))
    cache.lookup(list(range(120)), limit=119)  # used: the [5]*100 entry is now the least recently used
    cache.add([6] * 100, _states(100))
    assert sorted(len(e.tokens) for e in cache.entries) == [100, 120] and cache.held_tokens() <= 250
    assert cache.lookup([5] * 50, limit=49) == (0, None)


def _conversations(k: int) -> list[list[dict]]:
    return [[{"role": "system", "content": "You are a careful judge. Compare the two responses and answer."},
             {"role": "user", "content": f"Question {i}: what is {i} + {3 * i}? [Response A] {4 * i} [Response B] "
                                         f"{4 * i + 1}. Which response is right?"}] for i in range(k)]


def test_multi_turn_generation_is_token_identical_with_and_without_reuse(tiny_model_dir):
    from model.backends.hf import HFBackend

    plain = HFBackend(str(tiny_model_dir), batch_size=3, prefix_cache_tokens=0)
    reusing = HFBackend(str(tiny_model_dir), batch_size=3)
    assert plain.prefix_cache is None and reusing.prefix_cache is not None
    convs = _conversations(5)
    sampling = SamplingParams(max_new_tokens=12)
    for _ in range(3):
        reqs = [GenerationRequest(messages=c) for c in convs]
        want, got = plain.generate(reqs, sampling), reusing.generate(reqs, sampling)
        assert [g.completion_ids for g in got] == [g.completion_ids for g in want]
        assert [g.text for g in got] == [g.text for g in want]
        assert [g.prompt_tokens for g in got] == [g.prompt_tokens for g in want]
        for c, g in zip(convs, want):
            c += [{"role": "assistant", "content": g.text}, {"role": "user", "content": "Tool result: B is right."}]
    stats = reusing.prefix_cache.stats.as_dict()
    assert stats["lookups"] == 15 and stats["reused_fraction"] > 0.5, stats


def test_a_live_policy_never_reuses_states(tiny_model_dir):
    """RL and the in-training eval pass the model being trained: its weights change between calls."""
    from model.backends.hf import HFBackend
    from model.loading import load_model, load_tokenizer

    live = HFBackend("policy", model_obj=load_model(str(tiny_model_dir)), tokenizer=load_tokenizer(str(tiny_model_dir)))
    assert live.prefix_cache is None
