"""Near-duplicate detection for training prompts: word 5-gram shingles, MinHash signatures, LSH bands.

LSH only proposes candidates; every candidate pair is then checked with the exact Jaccard of the two
shingle sets, so precision is exact and the banding is chosen for recall (>= 99% at the threshold).
Hashes come from blake2b (not Python's salted `hash`) and the permutations from a seeded RNG, so the
result is the same in every process and run.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Hashable, Sequence

import numpy as np

from data.decontam import normalize_words

SHINGLE_N = 5
NUM_PERM = 128
_PRIME = np.uint64((1 << 61) - 1)
_MAX32 = np.uint64(0xFFFFFFFF)


def normalized_text(text: str) -> str:
    """NFKC, lower case, words only (punctuation and spacing differences vanish)."""
    return " ".join(normalize_words(text))


def text_hash(text: str) -> str:
    """The exact-duplicate key of a text."""
    return hashlib.sha256(normalized_text(text).encode("utf-8")).hexdigest()


def shingles(text: str, n: int = SHINGLE_N) -> frozenset[int]:
    """32-bit hashes of the word n-grams of `text` (a text shorter than n words is one shingle)."""
    words = normalize_words(text)
    grams = [" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))]
    return frozenset(int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=4).digest(), "big")
                     for g in grams)


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def bands_for(threshold: float, num_perm: int = NUM_PERM, recall: float = 0.99) -> tuple[int, int]:
    """(bands, rows): the most selective banding that still proposes a pair at `threshold` with
    probability >= `recall`; candidates are verified exactly, so extra candidates only cost time."""
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        if num_perm % rows:
            continue
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold ** rows) ** bands >= recall:
            best = (bands, rows)
    return best


class MinHashLSH:
    """Insert (key, shingles); `near(shingles)` -> the inserted keys with Jaccard >= threshold."""

    def __init__(self, threshold: float, num_perm: int = NUM_PERM, seed: int = 0):
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        rng = np.random.default_rng([seed, 0x5EED])
        self.a = rng.integers(1, int(_PRIME), size=num_perm, dtype=np.uint64)
        self.b = rng.integers(0, int(_PRIME), size=num_perm, dtype=np.uint64)
        self.bands, self.rows = bands_for(threshold, num_perm)
        self.tables: list[dict[bytes, list[Hashable]]] = [defaultdict(list) for _ in range(self.bands)]
        self.sets: dict[Hashable, frozenset[int]] = {}

    def signature(self, sh: frozenset[int]) -> np.ndarray:
        hv = np.fromiter(sorted(sh), dtype=np.uint64, count=len(sh)) if sh else np.zeros(1, np.uint64)
        with np.errstate(over="ignore"):  # the universal hash wraps around 2**64 by design (as datasketch)
            ph = ((np.outer(hv, self.a) + self.b) % _PRIME) & _MAX32
        return ph.min(axis=0)

    def _band_keys(self, sig: np.ndarray) -> list[bytes]:
        return [sig[i * self.rows:(i + 1) * self.rows].tobytes() for i in range(self.bands)]

    def near(self, sh: frozenset[int], sig: np.ndarray | None = None) -> list[Hashable]:
        sig = self.signature(sh) if sig is None else sig
        cands: dict[Hashable, None] = {}
        for table, key in zip(self.tables, self._band_keys(sig)):
            for k in table.get(key, ()):
                cands[k] = None
        return [k for k in cands if jaccard(sh, self.sets[k]) >= self.threshold]

    def insert(self, key: Hashable, sh: frozenset[int], sig: np.ndarray | None = None) -> None:
        sig = self.signature(sh) if sig is None else sig
        self.sets[key] = sh
        for table, band in zip(self.tables, self._band_keys(sig)):
            table[band].append(key)


def first_of_duplicates(texts: Sequence[tuple[Hashable, str]], threshold: float, seed: int = 0,
                        near: bool = True) -> dict[Hashable, tuple[str, Hashable]]:
    """Walks `(key, text)` in order, keeping the first of each group of duplicates.

    Returns {dropped key: (reason, the kept key it duplicates)}; reason is "exact_duplicate" or
    "near_duplicate".
    """
    exact: dict[str, Hashable] = {}
    lsh = MinHashLSH(threshold, seed=seed) if near else None
    dropped: dict[Hashable, tuple[str, Hashable]] = {}
    for key, text in texts:
        h = text_hash(text)
        if h in exact:
            dropped[key] = ("exact_duplicate", exact[h])
            continue
        if lsh is not None:
            sh = shingles(text)
            sig = lsh.signature(sh)
            hits = lsh.near(sh, sig)
            if hits:
                dropped[key] = ("near_duplicate", hits[0])
                continue
            lsh.insert(key, sh, sig)
        exact[h] = key
    return dropped
