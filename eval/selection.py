"""Which units of a benchmark are judged: all, the first N, or a seeded random N.

A unit is what a benchmark's `limit` counts (a pair, an RM-Bench row with its 9 pairs, a RewardBench 2
row, an IF-RewardBench prompt, a best-of-N prompt); the items of one unit are never split.
The seeded subset depends only on (seed, benchmark, unit keys), and keeps the load order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def group_units(items: Sequence[T], unit: Callable[[T], Any]) -> dict[str, list[T]]:
    """Items grouped by unit key, units and items in load order."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(str(unit(item)), []).append(item)
    return groups


def select_units(
    items: Sequence[T],
    unit: Callable[[T], Any],
    limit: int | None,
    sample: bool = False,
    seed: int = 0,
    salt: str = "",
) -> list[T]:
    """The items of the first `limit` units (or of `limit` seeded random units when `sample`)."""
    groups = group_units(items, unit)
    keys = list(groups)
    if limit is not None and limit < len(keys):
        if sample:
            rng = random.Random(f"{seed}\x00{salt}\x00subsample")
            picked = set(rng.sample(range(len(keys)), limit))
            keys = [k for i, k in enumerate(keys) if i in picked]
        else:
            keys = keys[:limit]
    return [item for k in keys for item in groups[k]]


def select_stratified(items: Sequence[T], unit: Callable[[T], Any], stratum: Callable[[T], Any] | None,
                      limit: int | None, sample: bool = False, seed: int = 0, salt: str = "") -> list[T]:
    """`select_units` within each stratum (e.g. each source of a mixed benchmark); strata in load order."""
    if stratum is None:
        return select_units(items, unit, limit, sample, seed, salt)
    groups = group_units(items, stratum)
    out: list[T] = []
    for key, group in groups.items():
        out += select_units(group, unit, limit, sample, seed, f"{salt}/{key}")
    return out


def count_units(items: Sequence[T], unit: Callable[[T], Any]) -> int:
    return len(group_units(items, unit))
