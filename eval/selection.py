"""Which units of a benchmark are judged, and a record of how they were drawn.

A unit is what a benchmark's `limit` counts (a pair, an RM-Bench row with its 9 pairs, a RewardBench 2
row, an IF-RewardBench prompt, a best-of-N prompt); the items of one unit are never split. With a limit
below the benchmark's size, the `sample` strategy decides which units:

- `stratified` (the default): a seeded sample in proportion to the benchmark's strata (e.g. JudgeBench's
  response-model file x source category), at least one unit per stratum when the limit allows,
  largest-remainder rounding. It depends only on the seed, the salt (the benchmark label) and the unit
  and stratum keys, never on the order of the input.
- `random`: a seeded random `limit` units of the whole benchmark (the old `sample: true`).
- `first`: the first `limit` units in load order (the old default; one file, one category on JudgeBench).

A benchmark whose limit counts per stratum (`per_stratum`, e.g. verifiable: pairs per source) applies the
strategy inside every stratum. The picked units keep their load order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Generic, TypeVar

T = TypeVar("T")

SAMPLE_STRATEGIES = ("stratified", "random", "first")
_LEGACY = {"true": "random", "false": "first"}  # `sample` was a boolean: a seeded random N, or the first N
ALL = "all"  # the strategy recorded when nothing had to be left out


def sample_strategy(value: Any) -> str:
    """The strategy a config's `sample` names; the old booleans keep their meaning (true: random, false: first)."""
    text = str(value).strip().lower()
    text = _LEGACY.get(text, text)
    if text not in SAMPLE_STRATEGIES:
        raise ValueError(
            f"sample must be one of {', '.join(SAMPLE_STRATEGIES)} (or the old true = random, false = first), "
            f"got {value!r}"
        )
    return text


@dataclass
class Selection(Generic[T]):
    items: list[T]
    strategy: str  # stratified | random | first, or "all" when the limit left nothing out
    seed: int
    limit: int | None
    per_stratum: bool = False
    strata: dict[str, tuple[int, int]] = field(default_factory=dict)  # stratum -> (units picked, available)

    @property
    def units(self) -> int:
        return sum(picked for picked, _ in self.strata.values())

    @property
    def available(self) -> int:
        return sum(n for _, n in self.strata.values())

    def summary(self) -> dict[str, Any]:
        """What the manifest, metrics.json and report.md say about the subset."""
        return {
            "strategy": self.strategy,
            "seed": self.seed,
            "limit": self.limit,
            "limit_per_stratum": self.per_stratum,
            "units": self.units,
            "available": self.available,
            "strata": {k: {"units": p, "available": n} for k, (p, n) in self.strata.items()},
        }


def group_units(items: Sequence[T], unit: Callable[[T], Any]) -> dict[str, list[T]]:
    """Items grouped by unit key, units and items in load order."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(str(unit(item)), []).append(item)
    return groups


def count_units(items: Sequence[T], unit: Callable[[T], Any]) -> int:
    return len(group_units(items, unit))


def select_units(
    items: Sequence[T],
    unit: Callable[[T], Any],
    limit: int | None,
    strategy: str = "stratified",
    stratum: Callable[[T], Any] | None = None,
    seed: int = 0,
    salt: str = "",
    per_stratum: bool = False,
) -> Selection[T]:
    """The items of `limit` units drawn by `strategy` (a unit's stratum is its first item's)."""
    strategy = sample_strategy(strategy)
    units = group_units(items, unit)
    strata: dict[str, list[str]] = {}
    for key, members in units.items():
        strata.setdefault(str(stratum(members[0])) if stratum else ALL, []).append(key)
    strata = dict(sorted(strata.items()))
    if per_stratum:
        quotas = {s: len(keys) if limit is None else min(limit, len(keys)) for s, keys in strata.items()}
        picked = {k for s, keys in strata.items() for k in _pick(keys, quotas[s], strategy, seed, f"{salt}/{s}")}
    elif limit is None or limit >= len(units):
        picked = set(units)
    elif strategy == "stratified":
        quotas = allocate({s: len(keys) for s, keys in strata.items()}, limit, seed, salt)
        picked = {k for s, keys in strata.items() for k in _pick(keys, quotas[s], strategy, seed, f"{salt}/{s}")}
    else:
        picked = set(_pick(list(units), limit, strategy, seed, salt))
    counts = {s: (sum(k in picked for k in keys), len(keys)) for s, keys in strata.items()}
    complete = len(picked) == len(units)
    return Selection(
        items=[item for k in units if k in picked for item in units[k]],
        strategy=ALL if complete else strategy,
        seed=seed,
        limit=limit,
        per_stratum=per_stratum,
        strata=counts,
    )


def allocate(sizes: dict[str, int], limit: int, seed: int = 0, salt: str = "") -> dict[str, int]:
    """`limit` units shared out over strata of `sizes` units in proportion (largest remainder).

    When the limit allows one unit per stratum, a stratum whose share is under one unit gets exactly one
    and the others share the rest. Equal remainders are broken by a seeded draw, so which of two equal
    strata gets the extra unit depends on the seed, not on the order of the strata.
    """
    if limit >= sum(sizes.values()):
        return dict(sizes)
    alloc = {s: 0 for s in sizes}
    pool = {s: n for s, n in sizes.items() if n > 0}
    left = limit
    if limit >= len(pool):
        while pool:
            total = sum(pool.values())
            small = [s for s, n in pool.items() if Fraction(left * n, total) < 1]
            if not small:
                break
            for s in small:
                alloc[s], left = 1, left - 1
                del pool[s]
    if pool and left:
        total = sum(pool.values())
        shares = {s: Fraction(left * n, total) for s, n in pool.items()}
        floors = {s: int(q) for s, q in shares.items()}
        extra = left - sum(floors.values())
        ranked = sorted(pool, key=lambda s: (floors[s] - shares[s], _tie(seed, salt, s), s))
        for s in ranked[:extra]:
            floors[s] += 1
        alloc.update(floors)
    return alloc


def _tie(seed: int, salt: str, stratum: str) -> float:
    return random.Random(f"{seed}\x00{salt}\x00{stratum}\x00tie").random()


def _pick(keys: list[str], k: int | None, strategy: str, seed: int, salt: str) -> list[str]:
    """`k` of `keys` (unit keys in load order) by `strategy`."""
    if k is None or k >= len(keys):
        return list(keys)
    if strategy == "first":
        return keys[:k]
    if strategy == "random":  # the old `sample: true`, kept draw for draw (it follows the load order)
        rng = random.Random(f"{seed}\x00{salt}\x00subsample")
        return [keys[i] for i in rng.sample(range(len(keys)), k)]
    rng = random.Random(f"{seed}\x00{salt}\x00stratified")
    return rng.sample(sorted(keys), k)
