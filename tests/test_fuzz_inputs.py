"""Seeded fuzz of every stage's row reader: malformed rows mixed with good ones.

Each stage reads one generated JSONL file holding good rows and >= 100 bad ones of every kind the
reader must survive (invalid JSON, NaN, a non-object, a too-deep row, wrong field types, non-UTF-8
bytes, a lone surrogate, a BOM inside the file, a repeated id, out-of-range token ids for SFT). The
reader must raise nothing, keep every good row, and list every bad row (file, row, field, reason) in
its rejects. The figures are printed (run with -s) per stage.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from model.jsonl import Rejects
from model.records import JudgeTask

N_GOOD, N_BAD = 60, 120
VOCAB = 1000


def _line(obj) -> bytes:
    return (json.dumps(obj) + "\n").encode()


def _deep(n: int) -> str:
    """JSON text nested n levels (built as text: json.dumps itself would recurse)."""
    return '{"a": ' * (n // 2) + "[" * (n - n // 2) + '"x"' + "]" * (n - n // 2) + "}" * (n // 2)


def _generic_row(i: int) -> dict:
    return {"id": f"t{i}", "prompt": f"question {i}?", "chosen": f"good answer {i}", "rejected": f"bad {i}"}


def _rl_row(i: int) -> dict:
    task = JudgeTask(id=f"t{i}", source="fuzz", kind="pairwise", prompt=f"question {i}?",
                     candidates=[f"good {i}", f"bad {i}"], gold=0)
    return {"task": task.to_dict(), "setting": "skill_operational"}


def _sft_row(i: int) -> dict:
    ids = [i + 1, 7, 8, 9]  # the first token tags the row
    return {"input_ids": ids, "labels": [-100, 7, 8, 9]}


# Wrong-type mutations of required fields, per stage: row -> bad row.
WRONG_TYPES = {
    "generic": [
        lambda r: {**r, "chosen": 12}, lambda r: {**r, "rejected": ["x"]}, lambda r: {**r, "id": {"a": 1}},
        lambda r: {**r, "id": True}, lambda r: {**r, "prompt": None}, lambda r: {**r, "chosen": None},
        lambda r: {**r, "prompt": 123},
        lambda r: {**r, "prompt": [{"role": "user"}]},
        lambda r: {**r, "source": 3}, lambda r: {k: v for k, v in r.items() if k != "rejected"},
    ],
    "rl": [
        lambda r: {**r, "task": 5}, lambda r: {**r, "task": "{not json"}, lambda r: {"setting": "x"},
        lambda r: {**r, "task": {**r["task"], "candidates": "ab"}},
        lambda r: {**r, "task": {**r["task"], "gold": None}},
        lambda r: {**r, "task": {**r["task"], "id": None}},
    ],
    "sft": [
        lambda r: {**r, "input_ids": "abc"}, lambda r: {**r, "labels": None},
        lambda r: {**r, "input_ids": [1.5, 2, 3, 4]}, lambda r: {**r, "input_ids": [[1], [2], [3], [4]]},
        lambda r: {**r, "input_ids": [1, 2, 3]}, lambda r: {**r, "input_ids": [True, 2, 3, 4]},
        lambda r: {**r, "input_ids": [VOCAB, 2, 3, 4]}, lambda r: {**r, "input_ids": [-1, 2, 3, 4]},
        lambda r: {**r, "input_ids": [2**70, 2, 3, 4]}, lambda r: {**r, "labels": [-100, 7, VOCAB + 5, 9]},
    ],
}


def _bad_line(kind: str, rng: random.Random, good: dict, stage: str, dup_of: dict) -> bytes:
    text = json.dumps(good)
    if kind == "truncated":
        return (text[: rng.randrange(1, len(text) - 1)] + "\n").encode()
    if kind == "nan":
        return (text[:-1] + ', "x": NaN}\n').encode()
    if kind == "not_object":
        return _line(rng.choice([[1, 2], "row", 3, None, [good]]))
    if kind == "too_deep":
        return (text[:-1] + ', "extra": ' + _deep(rng.choice([70, 200, 5000])) + "}\n").encode()
    if kind == "wrong_type":
        return _line(rng.choice(WRONG_TYPES[stage])(good))
    if kind == "non_utf8":
        raw = _line(good)
        k = rng.randrange(1, len(raw) - 1)
        return raw[:k] + rng.choice([b"\xff", b"\xc3\x28", b"\x80\x80", b"\xed\xa0\x80"]) + raw[k:]
    if kind == "surrogate":
        return (text[:-1] + ', "note": "\\ud83d"}\n').encode()
    if kind == "bom":
        return b"\xef\xbb\xbf" + _line(good)
    if kind == "duplicate":
        return _line(dup_of)
    raise AssertionError(kind)


KINDS = ["truncated", "nan", "not_object", "too_deep", "wrong_type", "non_utf8", "surrogate", "bom", "duplicate"]


def _fuzz_file(tmp_path: Path, stage: str, seed: int) -> tuple[Path, set[int], set[int]]:
    """The file, the good tags and the bad line numbers. SFT rows have no id: no duplicate kind."""
    rng = random.Random(seed)
    make = {"generic": _generic_row, "rl": _rl_row, "sft": _sft_row}[stage]
    kinds = [k for k in KINDS if not (stage == "sft" and k == "duplicate")]
    slots = ["good"] * N_GOOD + [kinds[i % len(kinds)] for i in range(N_BAD)]
    rng.shuffle(slots)
    slots.insert(0, "good")  # a duplicate needs an earlier good row; the BOM kind needs a later line
    lines, good_tags, bad_lines, goods = [], set(), set(), []
    for n, slot in enumerate(slots):
        tag = n + 1
        if slot == "good":
            row = make(tag)
            goods.append(row)
            good_tags.add(tag)
            lines.append(_line(row))
        else:
            lines.append(_bad_line(slot, rng, make(tag), stage, rng.choice(goods)))
            bad_lines.add(len(lines))
        if rng.random() < 0.05:
            lines.append(b"\n")  # blank lines are skipped, not rows
    path = tmp_path / f"{stage}.jsonl"
    path.write_bytes(b"".join(lines))
    return path, good_tags, bad_lines


def _judge(path, rejects):
    from model.judging import load_tasks

    return {int(t.id[1:]) for t in load_tasks(path, rejects)}


def _generate_source(path, rejects):
    from data.sources import load_source

    return {int(t.id[1:]) for t in load_source("generic", path, rejects=rejects)}


def _eval_generic(path, rejects):
    from eval.benchmarks import Source, _generic

    src = Source(path=str(path), options={}, data_dir=path.parent, seed=0, limit=None, rejects=rejects)
    return {int(t.id[1:]) for t in _generic(src)}


def _sft(path, rejects):
    from train.data import load_sft_data

    with pytest.warns(UserWarning):
        data = load_sft_data(path, max_seq_len=64, vocab_size=VOCAB, rejects=rejects)
    return {int(ids[0]) - 1 for ids in data.input_ids}


def _rl(path, rejects):
    from train.rl import load_rl_tasks

    with pytest.warns(UserWarning):
        return {int(t.id[1:]) for t, _ in load_rl_tasks(path, rejects)}


STAGES = {"judge": ("generic", _judge), "generate_source": ("generic", _generate_source),
          "eval_generic": ("generic", _eval_generic), "sft": ("sft", _sft), "rl": ("rl", _rl)}
FIGURES: dict[str, dict[str, int]] = {}


@pytest.mark.parametrize("stage", sorted(STAGES))
@pytest.mark.parametrize("seed", [0, 1])
def test_every_bad_row_is_rejected_and_no_good_row_lost(tmp_path, stage, seed):
    kind, load = STAGES[stage]
    path, good, bad = _fuzz_file(tmp_path, kind, seed)
    rejects = Rejects(tmp_path / "rejects.jsonl")
    crashes = 0
    try:
        kept = load(path, rejects)
    except Exception:  # counted, then re-raised so the traceback shows
        crashes = 1
        raise
    finally:
        FIGURES[f"{stage}/{seed}"] = {"inputs": len(good) + len(bad), "bad": len(bad), "crashes": crashes}
    rejected = {r["row"] for r in rejects.rows}
    lost = good - kept
    FIGURES[f"{stage}/{seed}"].update(lost=len(lost), rejected=len(rejected))
    print(f"\n[fuzz] {stage} seed {seed}: {FIGURES[f'{stage}/{seed}']}")
    assert len(bad) >= 100
    assert not lost, f"good rows lost: {sorted(lost)[:10]}"
    assert kept == good, f"bad rows accepted: {sorted(kept - good)[:10]}"
    assert rejected == bad, f"not rejected: {sorted(bad - rejected)[:10]}; wrongly: {sorted(rejected - bad)[:10]}"
    for r in rejects.rows:
        assert r["file"] == str(path) and r["field"] and r["reason"], r
    rejects.close()
    written = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert {r["row"] for r in written} == bad
