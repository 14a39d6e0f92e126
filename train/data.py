"""SFT data: loading + validation, padding-free packing, the seeded batch schedule, collation.

Rows come from the render stage (`input_ids`, `labels` with -100 on untrained tokens; labels are
*unshifted*: labels[t] is the target for position t). Collation shifts them per example
(`shift_labels[t] = labels[t+1]`, the last position of every example gets -100), so a packed row never
trains the last token of one example to predict the first token of the next.

Packing: examples are placed into rows of at most `max_seq_len` tokens once (best-fit decreasing, a
deterministic plan); the rows are shuffled per epoch. Each example restarts its position ids at 0;
that is what tells the attention where one example ends (see train/attention.py).

Schedule: step s of the run reads global batch s % steps_per_epoch of epoch s // steps_per_epoch; the
epoch order is a permutation seeded by (seed, epoch). The whole data position is therefore the global
step, which checkpoints store; a resumed run reads exactly the batches an uninterrupted one would.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

IGNORE_INDEX = -100
MAX_WARNINGS = 5


class DataError(ValueError):
    pass


@dataclass
class DataStats:
    rows: int = 0
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    truncated: int = 0
    dropped_overlong: int = 0
    label_mismatch_rows: int = 0  # trained labels that differ from the input token (kept; warned)
    tokens: int = 0
    trained_tokens: int = 0
    messages: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "kept": self.kept, "skipped": dict(self.skipped), "truncated": self.truncated,
                "dropped_overlong": self.dropped_overlong, "tokens": self.tokens,
                "trained_tokens": self.trained_tokens, "label_mismatch_rows": self.label_mismatch_rows}


@dataclass
class SFTData:
    input_ids: list[np.ndarray]
    labels: list[np.ndarray]
    source: str
    stats: DataStats

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(x) for x in self.input_ids), dtype=np.int64, count=len(self.input_ids))


# ------------------------------------------------------------------------------------------ loading

def iter_rows(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(row number, row) from a JSONL file (1-based line numbers) or a save_to_disk folder (0-based)."""
    p = Path(path)
    if p.is_file():  # a line that is not a JSON object arrives as a model.jsonl.BadRow
        from model.jsonl import iter_jsonl

        yield from iter_jsonl(p)
        return
    if not p.is_dir():
        raise DataError(f"SFT data not found: {p} (a datasets.save_to_disk folder or a .jsonl file)")
    import datasets

    ds = datasets.load_from_disk(str(p))
    if isinstance(ds, datasets.DatasetDict):
        if "train" not in ds:
            raise DataError(f"{p}: DatasetDict without a 'train' split (splits: {list(ds)})")
        ds = ds["train"]
    missing = [c for c in ("input_ids", "labels") if c not in ds.column_names]
    if missing:
        raise DataError(f"{p}: missing column(s) {missing}; columns: {ds.column_names}")
    ds = ds.select_columns(["input_ids", "labels"])
    i = 0
    for batch in ds.iter(batch_size=1024):
        for ids, labels in zip(batch["input_ids"], batch["labels"]):
            yield i, {"input_ids": ids, "labels": labels}
            i += 1


def _check_row(row: Any, vocab_size: int | None = None) -> tuple[str, str] | tuple[np.ndarray, np.ndarray]:
    """(input_ids, labels) as int64 arrays, or (field, problem) for a malformed row."""
    from model.jsonl import BadRow

    if isinstance(row, BadRow):
        return row.field, row.reason
    arrays = []
    for name in ("input_ids", "labels"):
        v = row.get(name)
        if not isinstance(v, (list, tuple, np.ndarray)) or len(v) == 0:
            return name, "missing or empty"
        if not isinstance(v, np.ndarray) and any(isinstance(x, bool) for x in v):
            return name, "must be a flat list of integers (got a boolean)"
        try:
            a = np.asarray(v)
        except (ValueError, TypeError):
            return name, "must be a flat list of integers"
        if a.ndim != 1 or a.dtype.kind not in "iu":
            return name, f"must be a flat list of integers (got {a.dtype.name} values, {a.ndim}-d)"
        arrays.append(a.astype(np.int64))
    ids, labels = arrays
    if len(ids) != len(labels):
        return "labels", f"length {len(labels)} != input_ids length {len(ids)}"
    hi = vocab_size if vocab_size else np.iinfo(np.int32).max
    if ids.min() < 0 or ids.max() >= hi:
        return "input_ids", f"token id out of range [0, {hi}): min {ids.min()}, max {ids.max()}"
    trained = labels[labels != IGNORE_INDEX]
    if trained.size and (trained.min() < 0 or trained.max() >= hi):
        return "labels", f"token id out of range [0, {hi}) or -100: min {trained.min()}, max {trained.max()}"
    return ids, labels


def load_sft_data(path: str | Path, max_seq_len: int, overlong: str = "truncate",
                  vocab_size: int | None = None, rejects: Any = None) -> SFTData:
    """Loads and validates the rendered rows. Bad rows (not JSON objects, wrong types, token ids outside
    [0, vocab_size)) are skipped and counted, never fatal: a warning names file, row and field (the first
    few), every one goes to `rejects` (a model.jsonl.Rejects) when given, the totals are in `stats`."""
    stats = DataStats()
    ids_out: list[np.ndarray] = []
    labels_out: list[np.ndarray] = []

    def skip(i: int, fld: str, why: str, reason: str, raw: Any = None) -> None:
        stats.skipped[reason] += 1
        if rejects is not None:
            rejects.add(path, i, why, getattr(raw, "text", raw), field=fld)
        if sum(stats.skipped.values()) <= MAX_WARNINGS:
            stats.messages.append(f"{path}: row {i}: field '{fld}': {why} (skipped)")

    for i, row in iter_rows(path):
        stats.rows += 1
        ids, labels = _check_row(row, vocab_size)
        if isinstance(ids, str):
            skip(i, ids, labels, "malformed", row)
            continue
        if not (labels[1:] != IGNORE_INDEX).any():  # position 0 is never predicted
            skip(i, "labels", "no trained token (all -100)", "no_trained_tokens")
            continue
        if len(ids) > max_seq_len:
            if overlong == "drop":
                stats.dropped_overlong += 1
                continue
            ids, labels = ids[:max_seq_len], labels[:max_seq_len]
            stats.truncated += 1
            if not (labels[1:] != IGNORE_INDEX).any():
                stats.dropped_overlong += 1
                continue
        trained = labels != IGNORE_INDEX
        if (labels[trained] != ids[trained]).any():
            stats.label_mismatch_rows += 1
        stats.tokens += len(ids)
        stats.trained_tokens += int(trained[1:].sum())
        ids_out.append(ids.astype(np.int32))
        labels_out.append(labels.astype(np.int32))
    stats.kept = len(ids_out)
    for m in stats.messages:
        warnings.warn(m, stacklevel=2)
    if sum(stats.skipped.values()):
        warnings.warn(f"{path}: skipped {dict(stats.skipped)} of {stats.rows} rows", stacklevel=2)
    if not ids_out:
        raise DataError(f"{path}: no usable rows ({stats.summary()})")
    return SFTData(ids_out, labels_out, str(path), stats)


def check_end_of_turn_trained(data: SFTData, eot_ids: list[int], sample: int = 256) -> str | None:
    """A warning (as TRL gives) when the end-of-turn token appears in inputs but is never trained:
    the model would then never learn to stop."""
    eot = [t for t in eot_ids if t is not None]
    seen = trained = False
    for ids, labels in zip(data.input_ids[:sample], data.labels[:sample]):
        hit = np.isin(ids, eot)
        seen |= bool(hit.any())
        trained |= bool((labels[hit] != IGNORE_INDEX).any())
    if seen and not trained:
        return (f"{data.source}: the end-of-turn token(s) {eot} occur in input_ids but are never trained "
                f"(labels -100); the model will not learn to end its turn. Check the render stage's mask.")
    return None


# ------------------------------------------------------------------------------------------ packing

def pack_bfd(lengths: np.ndarray, capacity: int) -> list[list[int]]:
    """Best-fit decreasing: each example (longest first) goes into the row whose free space fits it most
    tightly. Deterministic (ties broken by example index). Rows hold example indices."""
    order = sorted(range(len(lengths)), key=lambda i: (-int(lengths[i]), i))
    rows: list[list[int]] = []
    free: list[tuple[int, int]] = []  # sorted (free space, row id)
    for i in order:
        n = int(lengths[i])
        if n > capacity:
            raise ValueError(f"example {i} has {n} tokens > capacity {capacity}")
        k = bisect.bisect_left(free, (n, -1))
        if k < len(free):
            space, rid = free.pop(k)
        else:
            space, rid = capacity, len(rows)
            rows.append([])
        rows[rid].append(i)
        if space - n > 0:
            bisect.insort(free, (space - n, rid))
    return rows


def plan_fingerprint(units: list[list[int]], lengths: np.ndarray) -> str:
    """A short hash of the batching plan; a resumed run checks it to refuse a silently changed dataset."""
    h = hashlib.sha256(json.dumps(units).encode())
    h.update(np.asarray(lengths, dtype=np.int64).tobytes())
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------------------ schedule

class BatchSchedule:
    """Which units (packed rows, or single examples) each rank reads at each step.

    A global batch is `global_batch` units; rank r's micro-batch m is the contiguous slice
    [(m * world + r) * micro, ... + micro). The content of a global batch does not depend on the world
    size, so runs on 1 or N ranks see the same data per step. The incomplete last batch is dropped.
    """

    def __init__(self, units: list[list[int]], unit_lengths: np.ndarray, global_batch: int, micro_batch: int,
                 world_size: int, rank: int, seed: int, group_by_length: bool = False, group_mult: int = 16):
        self.units, self.unit_lengths = units, np.asarray(unit_lengths)
        self.global_batch, self.micro_batch = global_batch, micro_batch
        self.world_size, self.rank, self.seed = world_size, rank, seed
        self.group_by_length, self.group_mult = group_by_length, group_mult
        self.grad_accum = global_batch // (micro_batch * world_size)
        self.steps_per_epoch = len(units) // global_batch
        if self.steps_per_epoch == 0:
            raise DataError(f"{len(units)} rows < global_batch_size={global_batch}: not one step of data")
        self._cache: tuple[int, np.ndarray] | None = None

    def epoch_order(self, epoch: int) -> np.ndarray:
        if self._cache and self._cache[0] == epoch:
            return self._cache[1]
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.units))
        if self.group_by_length:
            order = self._group(order, rng)
        order = order[: self.steps_per_epoch * self.global_batch]
        self._cache = (epoch, order)
        return order

    def _group(self, order: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Sorts chunks of group_mult global batches by length, then shuffles the batches' order."""
        chunk = self.global_batch * self.group_mult
        parts = []
        for s in range(0, len(order), chunk):
            c = order[s: s + chunk]
            parts.append(c[np.argsort(-self.unit_lengths[c], kind="stable")])
        grouped = np.concatenate(parts)
        n = len(grouped) // self.global_batch
        batches = grouped[: n * self.global_batch].reshape(n, self.global_batch)
        return batches[rng.permutation(n)].reshape(-1)

    def micro_batches(self, step: int) -> list[list[list[int]]]:
        """This rank's micro-batches at global step `step` (0-based): grad_accum lists of units."""
        epoch, i = divmod(step, self.steps_per_epoch)
        batch = self.epoch_order(epoch)[i * self.global_batch: (i + 1) * self.global_batch]
        out = []
        for m in range(self.grad_accum):
            s = (m * self.world_size + self.rank) * self.micro_batch
            out.append([self.units[u] for u in batch[s: s + self.micro_batch]])
        return out


# ------------------------------------------------------------------------------------------ collation

def _shift(labels: np.ndarray) -> np.ndarray:
    out = np.full_like(labels, IGNORE_INDEX)
    out[:-1] = labels[1:]
    return out


def collate(data: SFTData, units: list[list[int]], pad_id: int, packed: bool, flatten: bool = False,
            pad_multiple: int = 1) -> dict[str, Any]:
    """Tensors for one micro-batch.

    packed: every unit is a row of whole examples; position ids restart at 0 per example; rows are
    right-padded to the longest row (the pad tail is its own segment with position ids 0..k and
    labels -100). `flatten` concatenates the rows into one row without padding (flash-attn varlen).
    Not packed: one example per unit, right-padded, with a 2-D `attention_mask`.
    Returns input_ids, labels (already shifted), position_ids | attention_mask, n_tokens (real),
    n_trained.
    """
    rows_ids, rows_lab, rows_pos = [], [], []
    for unit in units:
        ids = [data.input_ids[e] for e in unit]
        rows_ids.append(np.concatenate(ids))
        rows_lab.append(np.concatenate([_shift(data.labels[e]) for e in unit]))
        rows_pos.append(np.concatenate([np.arange(len(x)) for x in ids]))
    if flatten:
        rows_ids, rows_lab, rows_pos = ([np.concatenate(rows_ids)], [np.concatenate(rows_lab)],
                                        [np.concatenate(rows_pos)])
    n_real = sum(len(r) for r in rows_ids)
    width = max(len(r) for r in rows_ids)
    width = -(-width // pad_multiple) * pad_multiple
    B = len(rows_ids)
    input_ids = np.full((B, width), pad_id, dtype=np.int64)
    labels = np.full((B, width), IGNORE_INDEX, dtype=np.int64)
    position_ids = np.zeros((B, width), dtype=np.int64)
    attention_mask = np.zeros((B, width), dtype=np.int64)
    for b, (ids, lab, pos) in enumerate(zip(rows_ids, rows_lab, rows_pos)):
        n = len(ids)
        input_ids[b, :n], labels[b, :n], position_ids[b, :n] = ids, lab, pos
        position_ids[b, n:] = np.arange(width - n)
        attention_mask[b, :n] = 1
    batch: dict[str, Any] = {"input_ids": torch.from_numpy(input_ids), "labels": torch.from_numpy(labels)}
    if packed:
        batch["position_ids"] = torch.from_numpy(position_ids)
    else:
        batch["attention_mask"] = torch.from_numpy(attention_mask)
    batch["n_tokens"] = n_real
    batch["n_trained"] = int((labels != IGNORE_INDEX).sum())
    return batch


@dataclass
class Batcher:
    """Data + units + schedule + collation settings: what the training loop asks for a step's batches."""

    data: SFTData
    units: list[list[int]]
    schedule: BatchSchedule
    pad_id: int
    packed: bool
    flatten: bool = False
    pad_multiple: int = 1
    fingerprint: str = ""

    def step_batches(self, step: int) -> list[dict[str, Any]]:
        return [collate(self.data, mb, self.pad_id, self.packed, self.flatten, self.pad_multiple)
                for mb in self.schedule.micro_batches(step)]


def build_batcher(data: SFTData, *, max_seq_len: int, packing: bool, global_batch: int, micro_batch: int,
                  world_size: int, rank: int, seed: int, pad_id: int, group_by_length: bool = True,
                  flatten: bool = False, pad_multiple: int = 1) -> Batcher:
    lengths = data.lengths
    units = pack_bfd(lengths, max_seq_len) if packing else [[i] for i in range(len(data))]
    unit_lengths = np.array([sum(int(lengths[e]) for e in u) for u in units])
    schedule = BatchSchedule(units, unit_lengths, global_batch, micro_batch, world_size, rank, seed,
                             group_by_length=group_by_length and not packing)
    return Batcher(data, units, schedule, pad_id, packing, flatten, pad_multiple, plan_fingerprint(units, lengths))


def packing_efficiency(batcher: Batcher, max_seq_len: int) -> float:
    """Real tokens / (rows * max_seq_len) of the packing plan."""
    return float(batcher.data.lengths.sum()) / (len(batcher.units) * max_seq_len)
