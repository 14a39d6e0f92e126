"""train/data.py: validation, packing, the seeded schedule, collation (no model, no DeepSpeed)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from train.data import (
    IGNORE_INDEX,
    BatchSchedule,
    build_batcher,
    check_end_of_turn_trained,
    collate,
    load_sft_data,
    pack_bfd,
)
from train.synthetic import synthetic_rows


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def row(n, trained_from=1):
    ids = list(range(10, 10 + n))
    return {"input_ids": ids, "labels": [IGNORE_INDEX] * trained_from + ids[trained_from:]}


def test_bad_rows_are_skipped_and_named(tmp_path):
    rows = [row(5), {"input_ids": [1, 2, 3], "labels": [1, 2]}, {"input_ids": [1, 2], "labels": [-100, -100]},
            row(20), {"input_ids": [], "labels": []}]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    with pytest.warns(UserWarning) as rec:
        data = load_sft_data(path, max_seq_len=10, overlong="truncate")
    text = "\n".join(str(w.message) for w in rec)
    assert "row 2: field 'labels': length 2 != input_ids length 3" in text
    assert "row 3: field 'labels': no trained token" in text
    assert "row 5: field 'input_ids'" in text and str(path) in text
    assert len(data) == 2 and data.stats.truncated == 1 and len(data.input_ids[1]) == 10
    assert data.stats.skipped == {"malformed": 2, "no_trained_tokens": 1}
    with pytest.warns(UserWarning):
        dropped = load_sft_data(path, max_seq_len=10, overlong="drop")
    assert len(dropped) == 1 and dropped.stats.dropped_overlong == 1


def test_truncation_that_leaves_nothing_trained_drops(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [row(5), row(30, trained_from=20)])
    data = load_sft_data(path, max_seq_len=10)
    assert len(data) == 1 and data.stats.dropped_overlong == 1


def test_save_to_disk_and_jsonl_load_the_same(tmp_path):
    import datasets

    rows = synthetic_rows(12, 2048, eot_id=2, seed=1, mean_len=40, min_len=10, max_len=80)
    for r in rows:
        r["task_id"], r["source"] = "t", "s"
    write_jsonl(tmp_path / "d.jsonl", rows)
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "disk"))
    a = load_sft_data(tmp_path / "d.jsonl", 128)
    b = load_sft_data(tmp_path / "disk", 128)
    assert all(np.array_equal(x, y) for x, y in zip(a.input_ids + a.labels, b.input_ids + b.labels))


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_sft_data(tmp_path / "nope", 10)


def test_pack_bfd_places_every_example_once_within_capacity():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 100, size=500)
    rows = pack_bfd(lengths, 128)
    flat = sorted(i for r in rows for i in r)
    assert flat == list(range(500))
    assert max(sum(lengths[i] for i in r) for r in rows) <= 128
    assert lengths.sum() / (len(rows) * 128) > 0.9  # tight packing
    assert rows == pack_bfd(lengths, 128)  # deterministic


def test_schedule_is_seeded_and_world_size_invariant():
    units = [[i] for i in range(40)]
    lengths = np.arange(40)
    one = BatchSchedule(units, lengths, global_batch=8, micro_batch=2, world_size=1, rank=0, seed=3)
    two = [BatchSchedule(units, lengths, 8, 2, 2, r, seed=3) for r in range(2)]
    for step in range(12):  # crosses epoch boundaries (5 steps per epoch)
        whole = sorted(u[0] for mb in one.micro_batches(step) for unit in [mb] for u in unit)
        split = sorted(u[0] for s in two for mb in s.micro_batches(step) for u in mb)
        assert whole == split
    epoch0 = [u for s in range(5) for mb in one.micro_batches(s) for u in mb]
    assert sorted(x[0] for x in epoch0) == list(range(40))
    other = BatchSchedule(units, lengths, 8, 2, 1, 0, seed=4)
    assert one.micro_batches(0) != other.micro_batches(0)
    assert one.micro_batches(5) != one.micro_batches(0)  # a new permutation each epoch


def test_length_grouping_reduces_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(10, 500, size=400)
    units = [[i] for i in range(400)]

    def padding(group):
        s = BatchSchedule(units, lengths, 8, 2, 1, 0, seed=0, group_by_length=group)
        pad = 0
        for step in range(s.steps_per_epoch):
            for mb in s.micro_batches(step):
                ls = [lengths[u[0]] for u in mb]
                pad += max(ls) * len(ls) - sum(ls)
        return pad

    assert padding(True) < 0.2 * padding(False)


def test_collate_shifts_labels_within_each_example():
    rows = [{"input_ids": [1, 2, 3], "labels": [-100, 2, 3]}, {"input_ids": [4, 5, 6, 7], "labels": [-100, -100, 6, 7]}]
    from train.data import DataStats, SFTData

    data = SFTData([np.array(r["input_ids"]) for r in rows], [np.array(r["labels"]) for r in rows], "x", DataStats())
    b = collate(data, [[0, 1], [1]], pad_id=0, packed=True)
    assert b["input_ids"].tolist() == [[1, 2, 3, 4, 5, 6, 7], [4, 5, 6, 7, 0, 0, 0]]
    assert b["position_ids"].tolist() == [[0, 1, 2, 0, 1, 2, 3], [0, 1, 2, 3, 0, 1, 2]]
    # token 3 (end of example 0) does not learn to predict token 4 (start of example 1)
    assert b["labels"].tolist() == [[2, 3, -100, -100, 6, 7, -100], [-100, 6, 7, -100, -100, -100, -100]]
    assert b["n_tokens"] == 11 and b["n_trained"] == 6
    flat = collate(data, [[0, 1], [1]], pad_id=0, packed=True, flatten=True)
    assert flat["input_ids"].shape == (1, 11)
    padded = collate(data, [[0], [1]], pad_id=0, packed=False)
    assert padded["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]] and "position_ids" not in padded


def test_batcher_packs_and_counts(tmp_path):
    rows = synthetic_rows(50, 2048, eot_id=2, seed=0, mean_len=60, min_len=10, max_len=200)
    data = load_sft_data(write_jsonl(tmp_path / "d.jsonl", rows), 256)
    b = build_batcher(data, max_seq_len=256, packing=True, global_batch=4, micro_batch=2, world_size=1, rank=0,
                      seed=0, pad_id=0)
    batches = b.step_batches(0)
    assert len(batches) == 2 and all(x["input_ids"].shape[1] <= 256 for x in batches)
    assert b.fingerprint == build_batcher(data, max_seq_len=256, packing=True, global_batch=4, micro_batch=2,
                                          world_size=1, rank=0, seed=0, pad_id=0).fingerprint


def test_end_of_turn_not_trained_warns(tmp_path):
    ok = synthetic_rows(4, 2048, eot_id=2, seed=0, mean_len=40, min_len=10, max_len=80)
    data = load_sft_data(write_jsonl(tmp_path / "ok.jsonl", ok), 128)
    assert check_end_of_turn_trained(data, [2]) is None
    for r in ok:
        r["labels"] = [-100 if t == 2 else x for t, x in zip(r["input_ids"], r["labels"])]
    bad = load_sft_data(write_jsonl(tmp_path / "bad.jsonl", ok), 128)
    assert "never trained" in check_end_of_turn_trained(bad, [2])
