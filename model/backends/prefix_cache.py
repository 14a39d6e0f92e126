"""Reuse of key/value states across the turns of agent episodes (and across episodes sharing a prefix).

An agent episode re-sends its whole conversation every step: the system prompt, the task, and every
earlier turn, of which only the last tool result is new. On a CPU, prefill is most of a judgment's
cost (a 135M model prefills ~400 tokens/s on 2 cores), so the hf backend keeps the key/value states of
the sequences it has processed and, for a new prompt, computes only the tokens after the longest
prefix it already holds. Both candidate orders of a pair share the system prompt and the question,
so the second order reuses those too.

Correctness does not depend on how prompts are re-rendered: only the longest common *token* prefix is
reused, and a causal model's states for a prefix depend on that prefix alone. (Numerics: states
computed in a padded batch and alone differ in the last bits, as batched generation already does.)

Only valid while the weights do not change: the hf backend disables it for a live policy (RL, the
in-training eval hook). Memory is bounded by `max_tokens` (least recently used entries go first).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

MIN_REUSE = 16
"""Shorter common prefixes are recomputed: slicing and merging states costs more than they save."""


@dataclass(eq=False)  # entries are compared by identity (removal), not by their arrays
class _Entry:
    tokens: np.ndarray                              # the token ids whose states are held
    kv: list[tuple[torch.Tensor, torch.Tensor]]     # per layer (keys, values), each [heads, len, dim]
    used: int = 0


@dataclass
class PrefixCacheStats:
    lookups: int = 0
    prompt_tokens: int = 0
    reused_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"lookups": self.lookups, "prompt_tokens": self.prompt_tokens, "reused_tokens": self.reused_tokens,
                "reused_fraction": round(self.reused_tokens / max(self.prompt_tokens, 1), 3)}


@dataclass
class PrefixCache:
    max_tokens: int = 65_536
    entries: list[_Entry] = field(default_factory=list)
    stats: PrefixCacheStats = field(default_factory=PrefixCacheStats)
    _clock: int = 0

    def held_tokens(self) -> int:
        return sum(len(e.tokens) for e in self.entries)

    def longest(self, prompt: list[int], limit: int) -> tuple[int, _Entry | None]:
        """The longest held prefix of `prompt` (at most `limit` tokens), and the entry holding it."""
        p = np.asarray(prompt[:limit], dtype=np.int64)
        best, best_entry = 0, None
        for e in self.entries:
            n = min(len(p), len(e.tokens))
            if n <= best:
                continue
            diff = np.flatnonzero(p[:n] != e.tokens[:n])
            common = int(diff[0]) if diff.size else n
            if common > best:
                best, best_entry = common, e
        return best, best_entry

    def lookup(self, prompt: list[int], limit: int) -> tuple[int, list[tuple[torch.Tensor, torch.Tensor]] | None]:
        """(n, states of prompt[:n]) for the longest reusable held prefix, or (0, None)."""
        self.stats.lookups += 1
        self.stats.prompt_tokens += len(prompt)
        n, e = self.longest(prompt, limit)
        if e is None or n < MIN_REUSE:
            return 0, None
        self._clock += 1
        e.used = self._clock
        self.stats.reused_tokens += n
        return n, [(k[:, :n], v[:, :n]) for k, v in e.kv]

    def add(self, tokens: list[int], kv: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Hold the states of `tokens` (copied out of any larger batch tensor). An entry that is a
        prefix of the new one is dropped: the new one answers every lookup it would."""
        if len(tokens) < MIN_REUSE or len(tokens) > self.max_tokens:
            return
        t = np.asarray(tokens, dtype=np.int64)
        self.entries = [e for e in self.entries
                        if not (len(e.tokens) <= len(t) and np.array_equal(e.tokens, t[: len(e.tokens)]))]
        self._clock += 1
        self.entries.append(_Entry(t, [(k.contiguous().clone(), v.contiguous().clone()) for k, v in kv], self._clock))
        while self.held_tokens() > self.max_tokens:
            self.entries.remove(min(self.entries, key=lambda e: e.used))

    def clear(self) -> None:
        self.entries.clear()


def cache_kwarg() -> str:
    """The name transformers gives the cache argument: `cache` since 5.2x, `past_key_values` before."""
    from transformers.generation import utils

    return "cache" if "cache" in getattr(utils, "ALL_CACHE_NAMES", ()) else "past_key_values"


def states_cache(states: list[tuple[torch.Tensor, torch.Tensor]] | None, config: Any) -> Any:
    """A transformers DynamicCache holding `states` (per layer keys, values: [batch, heads, len, dim])."""
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=states, config=config) if states else DynamicCache(config=config)


def layer_states(cache: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per layer (keys, values) of a DynamicCache. Raises TypeError for caches whose layers are not plain
    full-attention layers (sliding windows, recurrent state): those states cannot be sliced by position."""
    layers = getattr(cache, "layers", None)
    if layers is None or any(type(layer).__name__ != "DynamicLayer" for layer in layers):
        raise TypeError(f"prefix reuse needs full-attention DynamicLayer caches, got {type(cache).__name__}")
    return [(layer.keys, layer.values) for layer in layers]


States = list[tuple[torch.Tensor, torch.Tensor]]


def batch_states(rows: list[States], width: int) -> States:
    """Per-row states ([heads, len_i, dim] per layer) left-padded with zeros into [batch, heads, width, dim]
    tensors, aligned with left-padded input ids (the attention mask hides the padding)."""
    out = []
    for layer in range(len(rows[0])):
        k0, v0 = rows[0][layer]
        keys = k0.new_zeros((len(rows), k0.shape[0], width, k0.shape[2]))
        values = v0.new_zeros((len(rows), v0.shape[0], width, v0.shape[2]))
        for r, kv in enumerate(rows):
            k, v = kv[layer]
            n = k.shape[1]
            if n:
                keys[r, :, width - n:] = k
                values[r, :, width - n:] = v
        out.append((keys, values))
    return out
