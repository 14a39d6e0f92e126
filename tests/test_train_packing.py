"""Packed attention and loss normalisation on a tiny random llama (plain torch, no DeepSpeed)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from train.attention import (
    block_causal_mask,
    forward_kwargs,
    packed_attention_mode,
    transformers_builds_block_mask,
)
from train.data import DataStats, SFTData, collate
from train.loss import CausalLMLoss, micro_loss_scale


def tiny_llama(attn="sdpa", seed=0):
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = AutoConfig.for_model("llama", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                               num_attention_heads=4, num_key_value_heads=2, vocab_size=128,
                               max_position_embeddings=256)
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(cfg, attn_implementation=attn, dtype=torch.float32).eval()


def make_data(lengths, seed=0, vocab=128):
    rng = np.random.default_rng(seed)
    ids, labels = [], []
    for n in lengths:
        x = rng.integers(3, vocab, size=n)
        lab = x.copy()
        lab[: rng.integers(1, n // 2 + 1)] = -100  # a masked prompt of varying length
        ids.append(x)
        labels.append(lab)
    return SFTData(ids, labels, "test", DataStats())


def test_block_causal_mask():
    m = block_causal_mask(torch.tensor([[0, 1, 2, 0, 1]]))[0, 0].int().tolist()
    assert m == [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 1]]


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_transformers_builds_the_block_mask_from_position_ids(attn):
    model = tiny_llama(attn)
    assert transformers_builds_block_mask(model.config)
    assert packed_attention_mode(model.config, attn) == "position_ids"


@pytest.mark.parametrize("attn,mode", [("sdpa", "position_ids"), ("sdpa", "mask"), ("eager", "position_ids"),
                                       ("eager", "mask_eager")])
def test_packed_loss_equals_unpacked_and_no_cross_attention(attn, mode):
    model = tiny_llama(attn)
    data = make_data([7, 12, 5, 9])
    lm = CausalLMLoss(model)
    with torch.no_grad():
        packed = collate(data, [[0, 1, 2, 3]], pad_id=0, packed=True)
        packed_sum = lm(labels=packed["labels"], **forward_kwargs(packed, mode, torch.float32, torch.device("cpu")))
        padded = collate(data, [[0], [1], [2], [3]], pad_id=0, packed=False)
        padded_sum = lm(labels=padded["labels"], **forward_kwargs(padded, None, torch.float32, torch.device("cpu")))
        alone = sum(lm(labels=b["labels"], **forward_kwargs(b, None, torch.float32, torch.device("cpu")))
                    for b in (collate(data, [[i]], pad_id=0, packed=False) for i in range(4)))
        assert packed["n_trained"] == padded["n_trained"]
        torch.testing.assert_close(packed_sum, padded_sum, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(packed_sum, alone, rtol=1e-5, atol=1e-5)

        # perturbing example 0 must not change a single logit of examples 1..3
        kw = forward_kwargs(packed, mode, torch.float32, torch.device("cpu"))
        before = model(**kw).logits
        kw["input_ids"] = kw["input_ids"].clone()
        kw["input_ids"][0, :7] = torch.randint(3, 128, (7,))
        after = model(**kw).logits
        assert not torch.allclose(before[0, :7], after[0, :7])
        torch.testing.assert_close(before[0, 7:], after[0, 7:], rtol=1e-5, atol=1e-5)


def test_packing_without_use_cache_false_would_leak():
    """Guards the trap forward_kwargs avoids: with a KV cache transformers ignores packing."""
    model = tiny_llama("sdpa")
    data = make_data([6, 6])
    b = collate(data, [[0, 1]], pad_id=0, packed=True)
    with torch.no_grad():
        right = model(input_ids=b["input_ids"], position_ids=b["position_ids"], use_cache=False).logits
        leaky = model(input_ids=b["input_ids"], position_ids=b["position_ids"], use_cache=True).logits
    assert not torch.allclose(right[0, 6:], leaky[0, 6:], atol=1e-4)


def grads(model):
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


def test_grad_accumulation_normalises_by_all_trained_tokens():
    """sum-CE * world/N_global per micro-batch == the token mean over the whole global batch, however the
    batch is split; averaging micro-batch means (the naive way) is not."""
    data = make_data([30, 4, 18, 6, 25, 3], seed=1)
    cpu = torch.device("cpu")

    def run(splits, naive=False):
        model = tiny_llama("sdpa", seed=0).train()
        lm = CausalLMLoss(model)
        batches = [collate(data, s, pad_id=0, packed=True) for s in splits]
        n_global = sum(b["n_trained"] for b in batches)
        total = 0.0
        for b in batches:
            s = lm(labels=b["labels"], **forward_kwargs(b, "position_ids", torch.float32, cpu))
            loss = s / b["n_trained"] / len(batches) if naive else s * micro_loss_scale(1, n_global)
            loss.backward()
            total += float(s.detach())
        return total / n_global, grads(model)

    loss_one, g_one = run([[[0, 1, 2, 3, 4, 5]]])
    loss_acc, g_acc = run([[[0]], [[1, 2]], [[3, 4, 5]]])
    torch.testing.assert_close(g_acc, g_one, rtol=1e-4, atol=1e-6)
    assert abs(loss_acc - loss_one) < 1e-5
    _, g_naive = run([[[0]], [[1, 2]], [[3, 4, 5]]], naive=True)
    assert not torch.allclose(g_naive, g_one, rtol=1e-3, atol=1e-6)
