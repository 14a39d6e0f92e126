"""Deterministic train / held-out assignment by hashing the *upstream* id.

Every task built from one upstream problem (both members of a pair, every perturbation variant, both
judging orders) carries the same upstream id, so they always land in the same split; re-running a
builder, changing `limit` or reordering the input file does not move a problem across the boundary.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from model.records import JudgeTask

SPLITS = ("train", "heldout")
DEFAULT_SALT = "skill-rm-split-v1"


def split_score(upstream_id: str, salt: str = DEFAULT_SALT) -> float:
    """A uniform number in [0, 1) that is a pure function of (salt, upstream id)."""
    digest = hashlib.sha256(f"{salt}\x00{upstream_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_split(upstream_id: str, heldout_fraction: float = 0.1, salt: str = DEFAULT_SALT) -> str:
    """ "train" or "heldout" for one upstream problem."""
    check_fraction(heldout_fraction)
    return "heldout" if split_score(str(upstream_id), salt) < heldout_fraction else "train"


def check_fraction(heldout_fraction: float) -> None:
    if not 0.0 <= float(heldout_fraction) <= 1.0:
        raise ValueError(f"heldout_fraction must be in [0, 1], got {heldout_fraction!r}")


def check_split(split: str | None) -> None:
    """`split` selects what a builder returns: None / "all" (everything, tagged) or one of SPLITS."""
    if split not in (None, "all", *SPLITS):
        raise ValueError(f"split must be one of {SPLITS}, 'all' or None, got {split!r}")


def wanted(upstream_id: str, split: str | None, heldout_fraction: float, salt: str = DEFAULT_SALT) -> bool:
    """Whether a problem belongs to the requested split (None / "all" keeps everything)."""
    return split in (None, "all") or assign_split(upstream_id, heldout_fraction, salt) == split


def filter_split(tasks: Iterable[JudgeTask], split: str | None) -> list[JudgeTask]:
    """The tasks whose meta["split"] (set by the builders) is `split`; None / "all" keeps all."""
    check_split(split)
    return [t for t in tasks if split in (None, "all") or t.meta.get("split") == split]
