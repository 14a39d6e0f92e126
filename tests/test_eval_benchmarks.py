"""Benchmark registry: loaders on the public copies (skipped when absent) and on small files in the
upstream schemas, data location, unit selection, orders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED_DATA, shared_data

from eval.benchmarks import BENCHMARKS, BenchmarkUnavailable, Source, load_benchmark, locate
from eval.selection import count_units, select_units


def load(name: str, path: str | Path | None, data_dir: Path = SHARED_DATA, seed: int = 0, **options):
    bench = BENCHMARKS[name]
    where = locate(bench, str(path) if path else None, Path(data_dir))
    return bench, load_benchmark(bench, Source(where, options, Path(data_dir), seed, None, None))


def write_rb2(path: Path) -> Path:
    """A tiny RewardBench 2 file in the Hub schema: 3 best-of-4 rows + one ref/tied Ties pair."""
    rows = []
    for k, subset in enumerate(["Math", "Factuality", "Precise IF"]):
        rows.append(
            {
                "id": str(k),
                "prompt": f"question {k}",
                "chosen": [f"good {k}"],
                "rejected": [f"bad {k}.{j}" for j in range(3)],
                "num_correct": 1,
                "num_incorrect": 3,
                "total_completions": 4,
                "models": ["m"] * 4,
                "subset": subset,
                "additional_metadata": {},
            }
        )
    rows.append(
        {
            "id": "ref:7",
            "prompt": "name a prime",
            "chosen": ["2"],
            "rejected": ["4", "9"],
            "num_correct": 1,
            "num_incorrect": 2,
            "total_completions": 3,
            "models": ["m"] * 3,
            "subset": "Ties",
            "additional_metadata": {},
        }
    )
    rows.append(
        {
            "id": "tied:7",
            "prompt": "name a prime",
            "chosen": ["2", "3", "5"],
            "rejected": ["4", "9"],
            "num_correct": 3,
            "num_incorrect": 2,
            "total_completions": 5,
            "models": ["m"] * 5,
            "subset": "Ties",
            "additional_metadata": {},
        }
    )
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


# --------------------------------------------------------------------------- public copies


def test_judgebench_both_files():
    shared_data("judgebench", "judgebench_gpt-4o-2024-05-13.jsonl")
    bench, tasks = load("judgebench", None)
    assert len(tasks) == 620 and count_units(tasks, bench.unit) == 620
    files = {t.meta["file"] for t in tasks}
    assert len(files) == 2
    assert all(t.gold == 0 and t.orders(True) == [[0, 1], [1, 0]] for t in tasks)
    assert bench.order_fn() is None  # both orders


def test_judgebench_data_dir_is_its_own_folder():
    folder = shared_data("judgebench")
    bench = BENCHMARKS["judgebench"]
    assert locate(bench, None, folder) == str(folder.resolve())


def test_judgebench_openrs_has_resources():
    shared_data("judgebench", "openrs_format", "gpt.jsonl")
    _, tasks = load("judgebench_openrs", None)
    assert len(tasks) == 620
    assert sum(bool(t.resources.reference) for t in tasks) > 300  # final-answer references


def test_rmbench_rows_are_units():
    shared_data("rmbench", "chat_filtered.json")
    bench, tasks = load("rmbench", None)
    assert count_units(tasks, bench.unit) == 129 + 228 + 284 + 157
    assert len(tasks) == 9 * count_units(tasks, bench.unit)
    picked = select_units(tasks, bench.unit, 5, "first").items
    assert len(picked) == 45  # limit counts rows, never splits the 9 pairs of one
    assert {(t.meta["chosen_style"], t.meta["rejected_style"]) for t in picked[:9]} == {
        (i, j) for i in range(3) for j in range(3)
    }


def test_rmbench_domain_option():
    shared_data("rmbench", "code_filtered.json")
    _, tasks = load("rmbench", None, domains=["code"])
    assert {t.meta["domain"] for t in tasks} == {"code"} and len(tasks) == 9 * 228


def test_if_rewardbench_sample_judged_once_in_map_order():
    shared_data("if_rewardbench", "position_maps.json")
    bench, tasks = load("if_rewardbench", None)
    assert count_units(tasks, bench.unit) == 15
    assert bench.order_fn()(tasks[0]) == [[0, 1]]  # the loader put the candidates in position-map order
    assert all("critique" not in c for t in tasks[:20] for c in t.candidates)


def test_ifbench_loads():
    shared_data("ifbench_thukeg", "ifbench_thukeg.converted.json")
    _, tasks = load("ifbench", None)
    assert len(tasks) == 444


# --------------------------------------------------------------------------- small upstream-schema files


def test_rewardbench2_local_file_listwise_and_ties(tmp_path):
    path = write_rb2(tmp_path / "rb2.jsonl")
    bench, tasks = load("rewardbench2", path, data_dir=tmp_path)
    listwise = [t for t in tasks if t.kind == "listwise"]
    ties = [t for t in tasks if t.kind == "pointwise"]
    assert len(listwise) == 3 and len(ties) == 3 + 5
    assert count_units(tasks, bench.unit) == 5  # 3 rows + ref:7 + tied:7
    for t in listwise:
        assert t.candidates[t.gold].startswith("good") and len(t.candidates) == 4
        assert bench.order_fn()(t) == [[0, 1, 2, 3]]  # judged once, slot fixed by the loader
    _, again = load("rewardbench2", path, data_dir=tmp_path)
    assert [t.gold for t in again if t.kind == "listwise"] == [t.gold for t in listwise]  # seeded slot


def test_rewardbench2_default_local_copy_wins_over_hub(tmp_path):
    (tmp_path / "rewardbench2").mkdir()
    write_rb2(tmp_path / "rewardbench2" / "test.jsonl")
    assert locate(BENCHMARKS["rewardbench2"], None, tmp_path) == str((tmp_path / "rewardbench2").resolve())


def test_rewardbench2_unavailable_offline_is_a_clear_skip(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    bench = BENCHMARKS["rewardbench2"]
    where = locate(bench, None, tmp_path)
    assert where == "allenai/reward-bench-2"
    with pytest.raises(BenchmarkUnavailable, match="reward-bench-2.*local copy"):
        load_benchmark(bench, Source(where, {}, tmp_path, 0, None, None))


def test_rewardbench1_and_llmbar_files(tmp_path):
    v1 = tmp_path / "rb1.jsonl"
    v1.write_text(
        "\n".join(
            json.dumps(
                {
                    "prompt": f"p{k}",
                    "chosen": f"c{k}",
                    "rejected": f"r{k}",
                    "chosen_model": "x",
                    "rejected_model": "y",
                    "subset": "alpacaeval-easy",
                    "id": k,
                }
            )
            for k in range(3)
        )
        + "\n"
    )
    _, tasks = load("rewardbench1", v1, data_dir=tmp_path)
    assert len(tasks) == 3 and all(t.meta["subset"] == "alpacaeval-easy" for t in tasks)
    bar = tmp_path / "Natural" / "dataset.json"
    bar.parent.mkdir()
    bar.write_text(json.dumps([{"input": "q", "output_1": "worse", "output_2": "better", "label": 2}]))
    _, tasks = load("llmbar", bar, data_dir=tmp_path)
    assert tasks[0].candidates == ["better", "worse"] and tasks[0].meta["subset"] == "Natural"


def test_generic_file_and_missing_path(tmp_path):
    f = tmp_path / "pairs.jsonl"
    f.write_text(
        json.dumps({"id": "a", "prompt": "2+2?", "chosen": "4", "rejected": "5", "reference": "4"}) + "\n"
    )
    _, tasks = load("generic", f, data_dir=tmp_path)
    assert tasks[0].resources.reference == "4"
    with pytest.raises(BenchmarkUnavailable, match="not found"):
        locate(BENCHMARKS["generic"], str(tmp_path / "nope.jsonl"), tmp_path)
    with pytest.raises(BenchmarkUnavailable, match="give its path"):
        locate(BENCHMARKS["generic"], None, tmp_path)


def test_generic_input_also_takes_judgetask_rows(tmp_path):
    from model.records import JudgeTask

    f = tmp_path / "tasks.jsonl"
    task = JudgeTask(id="t1", source="mine", kind="pairwise", prompt="q", candidates=["x", "y"], gold=1)
    f.write_text(json.dumps(task.to_dict()) + "\n")
    _, tasks = load("generic", f, data_dir=tmp_path)
    assert tasks[0].to_dict() == task.to_dict()


def test_verifiable_synthetic_heldout(tmp_path):
    _, tasks = load(
        "verifiable",
        None,
        data_dir=tmp_path,
        sources=[{"name": "synthetic", "n": 6, "kinds": ["arithmetic", "constraints"]}],
    )
    assert len(tasks) == 6
    assert all(t.meta["split"] == "heldout" and t.meta["subset"] == "synthetic" for t in tasks)
    _, again = load(
        "verifiable",
        None,
        data_dir=tmp_path,
        sources=[{"name": "synthetic", "n": 6, "kinds": ["arithmetic", "constraints"]}],
    )
    assert [t.to_dict() for t in again] == [t.to_dict() for t in tasks]


def test_verifiable_gsm8k_heldout_split():
    shared_data("gsm8k", "train.jsonl")
    from data.split import assign_split

    bench = BENCHMARKS["verifiable"]
    src = Source(str(SHARED_DATA), {"sources": ["gsm8k"]}, SHARED_DATA, 0, 5, None)
    tasks = load_benchmark(bench, src)
    assert 1 <= len(tasks) <= 5
    assert all(assign_split(t.meta["upstream_id"]) == "heldout" for t in tasks)
