"""What every verifiable-pair builder shares: reading rows, the pair record, ids, seeds, splits.

A builder turns one upstream row into zero or more pairwise JudgeTasks with `candidates = [good, bad]`
and `gold = 0` (the pipeline judges both orders, so the stored order carries no signal). Rows go
through `data.sources._common.collect`, so a malformed row, or a row whose gold cannot be proved by a
verifier, lands in `rejects` as (file, row, "field '<f>': reason") and never aborts the build.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from data.sources._common import ParseFn, collect, iter_json_rows
from data.split import DEFAULT_SALT, assign_split, check_fraction, check_split
from model.jsonl import Rejects
from model.records import JudgeTask, RecordError, Resources

log = logging.getLogger(__name__)


class ProofError(RecordError):
    """The builder could not prove the gold of a pair (names the upstream field it came from)."""


def fail_proof(field_name: str, message: str) -> NoReturn:
    raise ProofError(field_name, message)


def open_rows(
    path: str | Path | None, hub_default: tuple[str, str | None, str] | None, name: str
) -> tuple[str, Iterator[tuple[int, Any]]]:
    """(label, (row number, row) iterator) for a local JSON/JSONL file, or a Hub id via `datasets`.

    `path=None` uses `hub_default` = (dataset id, config, split) when the source has one on the Hub.
    """
    if path is None:
        if hub_default is None:
            raise ValueError(f"{name}: give a path to the upstream file (no default Hub dataset)")
        path = hub_default[0]
    p = Path(path)
    if p.is_file() and p.suffix.lower() in (".json", ".jsonl"):
        return str(p), iter_json_rows(p)  # physical row numbers; a bad line is a reject, not a crash
    from data.sources._hf import load_rows

    config, split = (
        (hub_default[1], hub_default[2]) if hub_default and str(path) == hub_default[0] else (None, None)
    )
    return load_rows(path, split=split, config_name=config)


def content_id(prefix: str, text: str) -> str:
    """A stable id for upstream rows that have none (GSM8K, MATH): a hash of the normalized text."""
    norm = " ".join(text.split()).lower()
    return f"{prefix}:{hashlib.sha1(norm.encode('utf-8')).hexdigest()[:12]}"


def row_rng(seed: int, upstream_id: str, salt: str = "") -> random.Random:
    """A per-row RNG: the choice for a row does not depend on which other rows were read before it."""
    return random.Random(f"{seed}\x00{salt}\x00{upstream_id}")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


class PairFactory:
    """Makes the pairs of one build: shared source, builder name, split settings."""

    def __init__(
        self,
        *,
        source: str,
        builder: str,
        domain: str,
        split: str | None = None,
        heldout_fraction: float = 0.1,
        salt: str = DEFAULT_SALT,
    ):
        check_split(split)
        check_fraction(heldout_fraction)
        self.source, self.builder, self.domain = source, builder, domain
        self.split, self.heldout_fraction, self.salt = split, heldout_fraction, salt

    def split_of(self, upstream_id: str) -> str:
        return assign_split(upstream_id, self.heldout_fraction, self.salt)

    def wanted(self, upstream_id: str) -> bool:
        return self.split in (None, "all") or self.split_of(upstream_id) == self.split

    def pair(
        self,
        *,
        upstream_id: str,
        variant: str,
        prompt: str | list[dict[str, Any]],
        good: str,
        bad: str,
        perturbation: str,
        resources: Resources,
        extra_meta: dict[str, Any] | None = None,
    ) -> JudgeTask:
        if good == bad:
            fail_proof("<pair>", f"variant {variant!r} left the response unchanged")
        meta = {
            "builder": self.builder,
            "upstream_id": upstream_id,
            "variant": variant,
            "perturbation": perturbation,
            "split": self.split_of(upstream_id),
            **(extra_meta or {}),
        }
        return JudgeTask(
            id=f"{upstream_id}#{variant}",
            source=self.source,
            kind="pairwise",
            prompt=prompt,
            candidates=[good, bad],
            gold=0,
            domain=self.domain,
            resources=resources,
            meta=meta,
        )


def build_rows(
    label: str,
    rows: Iterator[tuple[int, Any]],
    parse: Callable[[dict[str, Any], int], list[JudgeTask]],
    rejects: Rejects | None,
    limit: int | None,
) -> list[JudgeTask]:
    """Runs `parse` over rows with the shared reject / duplicate-id / limit rules.

    With `rejects=None` a malformed row raises ValueError (file, row, field), but a row whose gold
    cannot be proved is only counted in the log: that is an expected outcome, not a broken input.
    """
    if rejects is not None:
        return collect(label, rows, parse, rejects, limit)
    unproved: list[int] = []

    def strict(row: dict[str, Any], rownum: int) -> list[JudgeTask]:
        try:
            return parse(row, rownum)
        except ProofError:
            unproved.append(rownum)
            return []

    fn: ParseFn = strict
    tasks = collect(label, rows, fn, None, limit)
    if unproved:
        log.info("%s: %d rows dropped (gold not provable); pass rejects= to see why", label, len(unproved))
    return tasks
