"""Train / held-out splitting by upstream id, and the builder registry."""

import inspect
import json

import pytest

from data.builders import BUILDERS, build
from data.builders.math import build_gsm8k
from data.split import assign_split, filter_split, split_score
from model.jsonl import Rejects


def test_assign_split_is_deterministic_and_calibrated():
    ids = [f"gsm8k:{i}" for i in range(20000)]
    first = [assign_split(i, 0.1) for i in ids]
    assert first == [assign_split(i, 0.1) for i in ids]
    assert abs(first.count("heldout") / len(ids) - 0.1) < 0.01
    assert [assign_split(i, 0.1, salt="other") for i in ids[:200]] != first[:200]
    assert all(assign_split(i, 0.0) == "train" for i in ids[:100])
    assert all(assign_split(i, 1.0) == "heldout" for i in ids[:100])
    # growing the fraction only moves problems from train to held-out, never back
    assert all(assign_split(i, 0.2) == "heldout" for i, s in zip(ids, first) if s == "heldout")
    assert 0 <= split_score("x") < 1
    with pytest.raises(ValueError):
        assign_split("x", 1.5)


def _gsm8k_file(tmp_path, n=40):
    rows = [
        {
            "question": f"Tom has {a} apples and buys 3 bags of {a + 4} apples. How many apples does he "
            f"have?",
            "answer": f"He buys 3*{a + 4} = <<3*{a + 4}={3 * a + 12}>>{3 * a + 12} apples.\n"
            f"He has {a}+{3 * a + 12} = <<{a}+{3 * a + 12}={4 * a + 12}>>{4 * a + 12} apples.\n"
            f"#### {4 * a + 12}",
        }
        for a in range(5, 5 + n)
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_builders_split_by_upstream_problem(tmp_path):
    path = _gsm8k_file(tmp_path)
    everything = build_gsm8k(path, max_pairs_per_row=3, heldout_fraction=0.3)
    train = build_gsm8k(path, max_pairs_per_row=3, heldout_fraction=0.3, split="train")
    held = build_gsm8k(path, max_pairs_per_row=3, heldout_fraction=0.3, split="heldout")
    assert train and held
    assert sorted(t.id for t in train + held) == sorted(t.id for t in everything)
    assert {t.meta["split"] for t in train} == {"train"} and {t.meta["split"] for t in held} == {"heldout"}
    splits_of = {}
    for t in everything:  # every variant of one upstream problem lands in one split
        splits_of.setdefault(t.meta["upstream_id"], set()).add(t.meta["split"])
        assert t.meta["split"] == assign_split(t.meta["upstream_id"], 0.3)
    assert all(len(s) == 1 for s in splits_of.values())
    assert any(len([t for t in everything if t.meta["upstream_id"] == u]) > 1 for u in splits_of)
    assert [t.id for t in filter_split(everything, "train")] == [t.id for t in train]
    # `limit` counts rows of the requested split
    assert len(build_gsm8k(path, split="heldout", heldout_fraction=0.3, limit=2)) == 2
    with pytest.raises(ValueError):
        build_gsm8k(path, split="test")


def test_registry_signatures(tmp_path):
    assert set(BUILDERS) == {"gsm8k", "math", "humaneval", "mbpp", "ifeval", "synthetic"}
    for name, fn in BUILDERS.items():
        params = inspect.signature(fn).parameters
        assert {"limit", "seed", "split", "heldout_fraction", "rejects"} <= set(params), name
        for p in ("limit", "seed", "split", "heldout_fraction", "rejects"):
            assert params[p].kind is inspect.Parameter.KEYWORD_ONLY, (name, p)
    rejects = Rejects(None)
    tasks = build(
        "gsm8k", _gsm8k_file(tmp_path, 5), limit=3, seed=1, split=None, heldout_fraction=0.1, rejects=rejects
    )
    assert len(tasks) == 3
    synth = build(
        "synthetic",
        4,
        limit=None,
        seed=0,
        split=None,
        heldout_fraction=0.1,
        rejects=rejects,
        kinds=("arithmetic", "constraints"),
    )
    assert len(synth) == 4
    with pytest.raises(ValueError, match="unknown builder"):
        build("nope")
    with pytest.raises(ValueError, match="give a path"):
        build("math", None)
