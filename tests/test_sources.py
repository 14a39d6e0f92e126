"""Source adapters on small files written here in each upstream schema (no network, no shared data).

Every gold-only upstream field is filled with a CANARY string; the leakage test checks that no canary,
and no upstream label text, reaches a prompt, a candidate or a resource.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from data.sources import (
    PRESETS,
    SOURCES,
    ColumnMapping,
    detect_format,
    load_chat_pairs,
    load_generic,
    load_hf_preference,
    load_if_rewardbench,
    load_judgebench,
    load_judgebench_dir,
    load_rewardbench1,
    load_rewardbench2,
    load_rmbench,
    load_source,
)
from data.sources._common import LABEL_TEXTS
from data.sources.rewardbench2 import chosen_slot
from model.jsonl import Rejects
from model.records import RESOURCE_FIELDS, JudgeTask

CANARY = "CANARY"


@pytest.fixture(autouse=True, scope="module")
def _offline_datasets(tmp_path_factory):
    """No Hub access, and a private datasets cache (the Arrow files of the tiny test datasets)."""
    import datasets.config
    import huggingface_hub.constants

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(datasets.config, "HF_HUB_OFFLINE", True)
        mp.setattr(datasets.config, "HF_DATASETS_OFFLINE", True, raising=False)
        mp.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path_factory.mktemp("hf_cache"))
        mp.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        yield


# --------------------------------------------------------------------------- helpers


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def msgs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": r, "content": c} for r, c in pairs]


def visible_strings(task: JudgeTask) -> list[str]:
    """Everything a judge may see: prompt, candidates, resources."""
    out = [task.prompt] if isinstance(task.prompt, str) else [m["content"] for m in task.prompt]
    out += list(task.candidates)
    out.append(json.dumps(task.resources.to_dict(), ensure_ascii=False))
    return out


def assert_no_leak(tasks: list[JudgeTask], extra: tuple[str, ...] = ()) -> None:
    assert tasks
    for t in tasks:
        for s in visible_strings(t):
            for bad in (CANARY, *LABEL_TEXTS, *extra):
                assert bad not in s, f"{t.id}: {bad!r} visible"
        assert set(t.resources.to_dict()) <= set(RESOURCE_FIELDS)
        assert not set(t.resources.metadata) & set(t.meta), t.id
    ids = [t.id for t in tasks]
    assert len(ids) == len(set(ids))


def assert_reject(rejects: Rejects, file: Path | str, row: int, field: str, text: str = "") -> None:
    """Row `row` of `file` was rejected with a reason naming `field` (and containing `text`)."""
    hits = [r for r in rejects.rows if r["row"] == row]
    assert len(hits) == 1, rejects.rows
    assert hits[0]["file"] == str(file), hits[0]
    assert f"field '{field}'" in hits[0]["reason"] and text in hits[0]["reason"], hits[0]
    assert hits[0]["raw"], hits[0]


def roundtrip(tasks: list[JudgeTask]) -> None:
    for t in tasks:
        assert JudgeTask.from_dict(json.loads(json.dumps(t.to_dict()))) == t


# --------------------------------------------------------------------------- JudgeBench


def judgebench_official_rows(model: str = "gpt-4o-2024-05-13") -> list[dict]:
    base = {"original_id": 1, "response_model": model, "question": "What is 2+2?"}
    return [
        {
            **base,
            "pair_id": f"{model}-p1",
            "source": "mmlu-pro-law",
            "response_A": "good A",
            "response_B": "bad B",
            "label": "A>B",
        },
        {
            **base,
            "pair_id": f"{model}-p2",
            "source": "livebench-math",
            "response_A": "bad A",
            "response_B": "good B",
            "label": "B>A",
        },
        {
            **base,
            "pair_id": f"{model}-p3",
            "source": "livecodebench",
            "response_A": "x",
            "response_B": "y",
            "label": "A=B",
        },  # malformed: label
    ]


def judgebench_openrs_rows() -> list[dict]:
    base = {
        "original_id": 7,
        "response_model": "gpt-4o-2024-05-13",
        "prompt": "Pick the option.",
        "check_list": [],
    }
    return [
        {
            **base,
            "question_id": "q1",
            "query_type": "mmlu-pro-math",
            "chosen": "right",
            "rejected": "wrong",
            "ground_truth": "$\\boxed{J}$",
        },
        {
            **base,
            "question_id": "q2",
            "query_type": "livecodebench",
            "chosen": "def f(): return 1",
            "rejected": "def f(): return 2",
            "ground_truth": f"The provided solution {CANARY} is correct",
        },
        {
            **base,
            "question_id": "q3",
            "query_type": "mmlu-pro-biology",
            "chosen": "c",
            "rejected": "r",
            "ground_truth": ["D", "J"],
            "check_list": ["states the option letter"],
        },
        {
            **base,
            "question_id": "q4",
            "query_type": "livebench-reasoning",
            "rejected": "r",
            "ground_truth": "yes",
        },  # malformed: chosen missing
    ]


def test_judgebench_official(tmp_path):
    f = write_jsonl(tmp_path / "judgebench_gpt-4o-2024-05-13.jsonl", judgebench_official_rows())
    rejects = Rejects(None)
    tasks = load_judgebench(f, rejects=rejects)
    assert [t.id for t in tasks] == ["gpt-4o-2024-05-13-p1", "gpt-4o-2024-05-13-p2"]
    assert tasks[0].candidates == ["good A", "bad B"] and tasks[1].candidates == ["good B", "bad A"]
    assert all(t.gold == 0 and t.kind == "pairwise" for t in tasks)
    assert tasks[0].meta == {
        "benchmark": "judgebench",
        "pair_id": "gpt-4o-2024-05-13-p1",
        "subset": "mmlu-pro",
        "source_full": "mmlu-pro-law",
        "file": "gpt-4o-2024-05-13",
        "original_id": 1,
        "label": "A>B",
    }
    assert (tasks[0].domain, tasks[1].domain) == ("factuality", "math")
    assert tasks[1].meta["subset"] == "livebench-math"
    assert len(rejects) == 1
    assert_reject(rejects, f, 3, "label")
    with pytest.raises(ValueError, match=r"row 3: field 'label'"):
        load_judgebench(f)
    assert_no_leak(tasks)
    roundtrip(tasks)


def test_judgebench_dir_loads_both_files(tmp_path):
    for model in ("gpt-4o-2024-05-13", "claude-3-5-sonnet-20240620"):
        write_jsonl(tmp_path / f"judgebench_{model}.jsonl", judgebench_official_rows(model)[:2])
    tasks = load_judgebench_dir(tmp_path)
    assert len(tasks) == 4
    assert Counter(t.meta["file"] for t in tasks) == {"gpt-4o-2024-05-13": 2, "claude-3-5-sonnet-20240620": 2}
    assert len(load_judgebench_dir(tmp_path, limit=1)) == 2  # limit is per file
    assert detect_format(tmp_path) == "judgebench"


def test_judgebench_openrs(tmp_path):
    f = write_jsonl(tmp_path / "gpt.jsonl", judgebench_openrs_rows())
    rejects = Rejects(None)
    tasks = {t.id: t for t in load_judgebench(f, rejects=rejects)}
    assert list(tasks) == ["q1", "q2", "q3"]
    assert tasks["q1"].resources.reference == "J" and tasks["q1"].domain == "math"
    assert tasks["q1"].candidates == ["right", "wrong"] and tasks["q1"].gold == 0
    # livecodebench: OpenRS ground_truth is written from the chosen solution -> never a resource
    assert tasks["q2"].resources.reference is None and tasks["q2"].domain == "code"
    assert CANARY in tasks["q2"].meta["openrs_ground_truth"]
    assert tasks["q3"].resources.reference == "one of: D, J"
    assert tasks["q3"].resources.checklist == ["states the option letter"]
    assert tasks["q3"].meta["subset"] == "mmlu-pro" and tasks["q3"].meta["source_full"] == "mmlu-pro-biology"
    assert_reject(rejects, f, 4, "chosen")
    assert_no_leak(list(tasks.values()))
    assert detect_format(f) == "judgebench"


# --------------------------------------------------------------------------- RM-Bench


def rmbench_row(row_id: int, subset: str = "alpacaeval", **extra: Any) -> dict:
    return {
        "id": row_id,
        "prompt": f"prompt {row_id}",
        "subset": subset,
        "chosen": [f"c{row_id}-{s}" for s in range(3)],
        "rejected": [f"r{row_id}-{s}" for s in range(3)],
        **extra,
    }


def write_rmbench(folder: Path) -> Path:
    chat = [
        rmbench_row(1, error_key=CANARY, error=f"{CANARY}: the rejected answer is wrong"),
        {**rmbench_row(2), "chosen": ["only", "two"]},
    ]  # malformed: chosen has 2 styles
    write_json(folder / "chat_filtered.json", chat)
    write_json(
        folder / "code_filtered.json",
        [rmbench_row(1, "bigcode/humanevalpack", language="cpp", task_id="CPP/1")],
    )
    write_json(folder / "safety-refuse_filtered.json", [rmbench_row(5, "xstest-should-refuse")])
    return folder


def test_rmbench_folder(tmp_path):
    folder = write_rmbench(tmp_path / "rmbench")
    rejects = Rejects(None)
    tasks = load_rmbench(folder, rejects=rejects)
    assert len(tasks) == 3 * 9
    assert_reject(rejects, folder / "chat_filtered.json", 2, "chosen")
    t = next(t for t in tasks if t.id == "rmbench-chat-1-c0r2")
    assert t.candidates == ["c1-0", "r1-2"] and t.gold == 0 and t.domain == "chat"
    assert t.meta == {
        "benchmark": "rmbench",
        "row_id": "1",
        "domain": "chat",
        "subset": "alpacaeval",
        "chosen_style": 0,
        "rejected_style": 2,
    }
    pairs = {
        (t.meta["chosen_style"], t.meta["rejected_style"])
        for t in tasks
        if t.meta["row_id"] == "1" and t.meta["domain"] == "chat"
    }
    assert pairs == {(i, j) for i in range(3) for j in range(3)}
    code = [t for t in tasks if t.meta["domain"] == "code"]
    assert code[0].domain == "code" and code[0].resources.metadata == {"language": "cpp"}
    assert code[0].meta["task_id"] == "CPP/1"
    assert {t.domain for t in tasks if t.meta["domain"] == "safety-refuse"} == {"safety"}
    assert_no_leak(tasks)
    roundtrip(tasks[:3])
    assert detect_format(folder) == "rmbench"
    assert detect_format(folder / "code_filtered.json") == "rmbench"


def test_rmbench_domain_selection(tmp_path):
    folder = write_rmbench(tmp_path / "rmbench")
    tasks = load_rmbench(folder, domains=["code", "safety-refuse"])
    assert {t.meta["domain"] for t in tasks} == {"code", "safety-refuse"}
    with pytest.raises(FileNotFoundError, match="math"):
        load_rmbench(folder, domains=["math"])
    with pytest.raises(ValueError, match="unknown RM-Bench domain"):
        load_rmbench(folder, domains=["poetry"])
    with pytest.raises(ValueError, match=r"row 2: field 'chosen'"):
        load_rmbench(folder, domains=["chat"])


# --------------------------------------------------------------------------- RewardBench 2


def rb2_row(row_id: str, subset: str, n_chosen: int = 1, n_rejected: int = 3) -> dict:
    return {
        "id": row_id,
        "prompt": f"question {row_id}",
        "subset": subset,
        "chosen": [f"correct {row_id}.{k}" for k in range(n_chosen)],
        "rejected": [f"wrong {row_id}.{k}" for k in range(n_rejected)],
        "num_correct": n_chosen,
        "num_incorrect": n_rejected,
        "total_completions": n_chosen + n_rejected,
        "models": [f"{CANARY}-model"] * (n_chosen + n_rejected),
        "additional_metadata": {"category": None, "correct": CANARY, "label": CANARY},
    }


def rb2_rows() -> list[dict]:
    return [
        rb2_row("0", "Factuality"),
        rb2_row("1", "Precise IF"),
        rb2_row("2", "Math"),
        rb2_row("3", "Safety"),
        rb2_row("4", "Focus"),
        rb2_row("ref:7", "Ties", 1, 2),
        rb2_row("tied:7", "Ties", 3, 2),
        rb2_row("5", "Math", 1, 2),  # malformed: 2 rejected answers
    ]


def test_rewardbench2_local_jsonl(tmp_path):
    f = write_jsonl(tmp_path / "rb2.jsonl", rb2_rows())
    rejects = Rejects(None)
    tasks = load_rewardbench2(f, rejects=rejects)
    assert_reject(rejects, f, 8, "rejected")
    listwise = [t for t in tasks if t.kind == "listwise"]
    assert len(listwise) == 5
    for t in listwise:
        row_id = t.meta["row_id"]
        assert t.candidates[t.gold] == f"correct {row_id}.0"
        assert sorted(t.candidates) == sorted(
            [f"correct {row_id}.0"] + [f"wrong {row_id}.{k}" for k in range(3)]
        )
        assert t.gold == chosen_slot(0, row_id)
        assert t.meta == {"benchmark": "rewardbench2", "subset": t.meta["subset"], "row_id": row_id}
    assert {t.meta["subset"]: t.domain for t in listwise} == {
        "Factuality": "factuality",
        "Precise IF": "instruction_following",
        "Math": "math",
        "Safety": "safety",
        "Focus": "chat",
    }
    ties = [t for t in tasks if t.kind == "pointwise"]
    assert len(ties) == 3 + 5
    ref = [t for t in ties if t.meta["sample_type"] == "ref"]
    assert [t.meta["is_correct"] for t in ref] == [True, False, False]
    tied = [t for t in ties if t.meta["prompt_id"] == "tied:7"]
    assert [t.meta["is_correct"] for t in tied] == [True, True, True, False, False]
    assert all(
        t.meta["group_id"] == 7 and t.meta["subset"] == "Ties" and len(t.candidates) == 1 for t in ties
    )
    assert all(t.gold == (1.0 if t.meta["is_correct"] else 0.0) for t in ties)
    assert_no_leak(tasks)
    roundtrip(tasks)
    assert detect_format(f) == "rewardbench2"


def test_rewardbench2_parquet_and_saved_dataset(tmp_path):
    import datasets

    rows = rb2_rows()[:-1]
    ds = datasets.Dataset.from_list(rows)
    ds.to_parquet(str(tmp_path / "test.parquet"))
    datasets.DatasetDict({"test": ds}).save_to_disk(str(tmp_path / "saved"))
    from_jsonl = load_rewardbench2(write_jsonl(tmp_path / "rb2.jsonl", rows))
    from_parquet = load_rewardbench2(tmp_path / "test.parquet")
    from_disk = load_rewardbench2(tmp_path / "saved", split="test")
    assert [t.to_dict() for t in from_parquet] == [t.to_dict() for t in from_jsonl]
    assert [t.to_dict() for t in from_disk] == [t.to_dict() for t in from_jsonl]
    assert detect_format(tmp_path / "test.parquet") == "rewardbench2"
    assert detect_format(tmp_path / "saved") == "rewardbench2"
    only_ties = load_rewardbench2(tmp_path / "test.parquet", subsets=["Ties"])
    assert {t.meta["subset"] for t in only_ties} == {"Ties"}


def test_rewardbench2_slot_reproducible_and_uniform(tmp_path):
    rows = [rb2_row(str(k), "Focus") for k in range(400)]
    f = write_jsonl(tmp_path / "a.jsonl", rows)
    g = write_jsonl(tmp_path / "b.jsonl", rows[::-1])
    first = {t.id: t.gold for t in load_rewardbench2(f)}
    again = {t.id: t.gold for t in load_rewardbench2(f)}
    reversed_order = {t.id: t.gold for t in load_rewardbench2(g)}
    assert first == again == reversed_order
    counts = Counter(first.values())
    assert set(counts) == {0, 1, 2, 3}
    assert all(70 <= c <= 130 for c in counts.values()), counts  # 100 expected per slot
    other_seed = {t.id: t.gold for t in load_rewardbench2(f, seed=1)}
    assert other_seed != first
    big = Counter(chosen_slot(0, str(k)) for k in range(20000))
    assert all(abs(c - 5000) < 300 for c in big.values()), big


# --------------------------------------------------------------------------- RewardBench v1 / LLMBar


def test_rewardbench1_v1_schema(tmp_path):
    rows = [
        {
            "prompt": "p1",
            "chosen": "good",
            "chosen_model": CANARY,
            "rejected": "bad",
            "rejected_model": CANARY,
            "subset": "alpacaeval-easy",
            "id": 1,
        },
        {
            "prompt": "p2",
            "chosen": "good2",
            "chosen_model": CANARY,
            "rejected": "bad2",
            "rejected_model": CANARY,
            "subset": "hep-python",
            "id": 2,
        },
        {
            "prompt": "p3",
            "chosen": "",
            "chosen_model": CANARY,
            "rejected": "bad3",
            "rejected_model": CANARY,
            "subset": "xstest-should-respond",
            "id": 3,
        },  # malformed: empty chosen
    ]
    f = write_jsonl(tmp_path / "filtered.jsonl", rows)
    rejects = Rejects(None)
    tasks = load_rewardbench1(f, rejects=rejects)
    assert [t.id for t in tasks] == ["rewardbench-1", "rewardbench-2"]
    assert tasks[0].candidates == ["good", "bad"] and tasks[0].gold == 0
    assert tasks[0].meta == {"benchmark": "rewardbench", "subset": "alpacaeval-easy"}
    assert (tasks[0].domain, tasks[1].domain) == ("chat", "code")
    assert_reject(rejects, f, 3, "chosen")
    assert_no_leak(tasks)
    assert detect_format(f) == "rewardbench1"


def test_rewardbench1_llmbar_schema(tmp_path):
    rows = [
        {"input": "Write a haiku.", "output_1": "haiku", "output_2": "limerick", "label": 1},
        {"input": "Name a prime.", "output_1": "4", "output_2": "7", "label": 2},
        {"input": "Say hi.", "output_1": "hi", "output_2": "hello", "label": 3},  # malformed: label
    ]
    f = write_json(tmp_path / "LLMBar" / "Natural" / "dataset.json", rows)
    rejects = Rejects(None)
    tasks = load_rewardbench1(f, rejects=rejects)
    assert [t.candidates for t in tasks] == [["haiku", "limerick"], ["7", "4"]]
    assert all(t.gold == 0 and t.domain == "instruction_following" for t in tasks)
    assert tasks[0].meta == {"benchmark": "llmbar", "subset": "Natural"} and tasks[0].id == "llmbar-Natural-1"
    assert_reject(rejects, f, 3, "label")
    assert_no_leak(tasks)
    assert detect_format(f) == "llmbar"


# --------------------------------------------------------------------------- IF-RewardBench


def ifrb_row(row_id: int, n: int = 3, instruction_type: str = "Multi_Turn") -> dict:
    responses = [
        {
            "response_id": k,
            "response": f"response {row_id}.{k}",
            "labels": [1, 0],
            "critique": f"{CANARY} critique {k}",
        }
        for k in range(n)
    ]
    graph = [
        {
            "pair_id": 0,
            "chosen": {"response_id": 2, "response": responses[2]["response"], "label": [1, 1]},
            "rejected": {"response_id": 0, "response": responses[0]["response"], "label": [0, 1]},
        }
    ]
    return {
        "id": row_id,
        "response_generation_model": "Qwen3-8B",
        "instruction_type": instruction_type,
        "messages": msgs(
            ("system", "Be brief."), ("user", "hi"), ("assistant", "hello"), ("user", "Two words.")
        ),
        "checklist": ["Uses two words", "Is polite"],
        "constraint_type": [],
        "responses": responses,
        "preference_graph": graph,
    }


def test_if_rewardbench(tmp_path):
    f = write_json(tmp_path / "if_rewardbench.json", [ifrb_row(10), ifrb_row(11)])
    write_json(tmp_path / "position_maps.json", {"10": {"0_1": 1, "0_2": 0, "1_2": 1}})  # 11 is missing
    rejects = Rejects(None)
    tasks = {t.id: t for t in load_if_rewardbench(f, rejects=rejects)}
    assert_reject(rejects, f, 2, "position_maps[11]")
    assert set(tasks) == {"if_rewardbench-10-0_1", "if_rewardbench-10-0_2", "if_rewardbench-10-1_2"}
    t01, t02, t12 = (
        tasks["if_rewardbench-10-0_1"],
        tasks["if_rewardbench-10-0_2"],
        tasks["if_rewardbench-10-1_2"],
    )
    # flag 1 -> the higher index goes first (upstream: A = responses[u] iff flag==1 and u > v)
    assert t01.meta["pair"] == [1, 0] and t01.candidates == ["response 10.1", "response 10.0"]
    assert t02.meta["pair"] == [0, 2] and t02.candidates == ["response 10.0", "response 10.2"]
    assert t12.meta["pair"] == [2, 1]
    assert t02.gold == 1  # edge 2 > 0; response 2 is second in this order
    assert t01.gold is None and t12.gold is None
    assert t02.meta["preference_graph"] == [
        {"pair_id": 0, "chosen": {"response_id": 2}, "rejected": {"response_id": 0}}
    ]
    assert t02.meta["instruction_type"] == "Multi_Turn" and t02.meta["n_responses"] == 3
    assert t02.meta["prompt_id"] == "10"
    assert t02.resources.checklist == ["Uses two words", "Is polite"]
    assert isinstance(t02.prompt, list) and t02.prompt[-1] == {"role": "user", "content": "Two words."}
    assert all(t.domain == "instruction_following" for t in tasks.values())
    assert_no_leak(list(tasks.values()))
    roundtrip(list(tasks.values()))
    assert detect_format(f) == "if_rewardbench"


# --------------------------------------------------------------------------- chat pairs


def test_chat_pairs(tmp_path):
    rows = [
        {
            "id": 1,
            "domain": "level-1",
            "text_chosen": msgs(("user", "Q1"), ("assistant", "good")),
            "text_rejected": msgs(("user", "Q1"), ("assistant", "bad")),
        },
        {
            "id": 2,
            "domain": "level-2",
            "text_chosen": msgs(
                ("system", "S"), ("user", "Q2"), ("assistant", "A"), ("user", "more"), ("assistant", "g")
            ),
            "text_rejected": msgs(
                ("system", "S"), ("user", "Q2"), ("assistant", "A"), ("user", "more"), ("assistant", "b")
            ),
        },
        {
            "id": 3,
            "domain": "level-1",
            "text_chosen": msgs(("user", "Q3"), ("assistant", "good")),
            "text_rejected": msgs(("user", "Q3 changed"), ("assistant", "bad")),
        },  # malformed: prefixes differ
    ]
    f = write_json(tmp_path / "ifbench.converted.json", rows)
    rejects = Rejects(None)
    tasks = load_chat_pairs(f, benchmark="ifbench", domain="instruction_following", rejects=rejects)
    assert [t.id for t in tasks] == ["ifbench-1", "ifbench-2"]
    assert tasks[0].prompt == "Q1" and tasks[0].candidates == ["good", "bad"] and tasks[0].gold == 0
    assert tasks[1].prompt == msgs(("system", "S"), ("user", "Q2"), ("assistant", "A"), ("user", "more"))
    assert tasks[0].meta == {"benchmark": "ifbench", "subset": "level-1"}
    assert tasks[0].domain == "instruction_following"
    assert_reject(rejects, f, 3, "text_rejected")
    assert_no_leak(tasks)
    assert detect_format(f) == "chat_pairs"
    assert [t.id for t in load_source("ifbench", f, rejects=Rejects(None))] == ["ifbench-1", "ifbench-2"]


# --------------------------------------------------------------------------- generic


def test_generic(tmp_path):
    rows = [
        {
            "id": "g1",
            "prompt": "2+2?",
            "chosen": "4",
            "rejected": "5",
            "reference": "4",
            "source": "toy",
            "label": CANARY,
        },
        {
            "id": "g2",
            "prompt": msgs(("user", "hi"), ("assistant", "hey"), ("user", "bye?")),
            "chosen": "bye",
            "rejected": "no",
            "domain": "chat",
        },
        {"id": "g3", "prompt": "x", "rejected": "y"},  # malformed: chosen missing
    ]
    f = write_jsonl(tmp_path / "pairs.jsonl", rows)
    rejects = Rejects(None)
    tasks = load_generic(f, rejects=rejects)
    assert [t.id for t in tasks] == ["g1", "g2"]
    assert tasks[0].resources.reference == "4" and tasks[0].source == "toy"
    assert tasks[0].meta == {"benchmark": "toy", "subset": "toy"}
    assert tasks[1].source == "generic" and tasks[1].domain == "chat" and isinstance(tasks[1].prompt, list)
    assert_reject(rejects, f, 3, "chosen")
    with pytest.raises(ValueError, match=r"pairs.jsonl: row 3: field 'chosen'"):
        load_generic(f)
    assert_no_leak(tasks)
    assert detect_format(f) == "generic"


def test_invalid_json_line_is_rejected(tmp_path):
    f = tmp_path / "pairs.jsonl"
    f.write_text('{"id": "a", "prompt": "p", "chosen": "c", "rejected": "r"}\n{not json\n')
    rejects = Rejects(None)
    assert len(load_generic(f, rejects=rejects)) == 1
    assert_reject(rejects, f, 2, "<json>")


def test_duplicate_ids_are_rejected(tmp_path):
    row = {"id": "same", "prompt": "p", "chosen": "c", "rejected": "r"}
    f = write_jsonl(tmp_path / "dup.jsonl", [row, row])
    rejects = Rejects(None)
    assert len(load_generic(f, rejects=rejects)) == 1
    assert_reject(rejects, f, 2, "id")


# --------------------------------------------------------------------------- HF preference presets


def skywork_rows() -> list[dict]:
    return [
        {
            "chosen": msgs(("user", "Q1"), ("assistant", "good")),
            "rejected": msgs(("user", "Q1"), ("assistant", "bad")),
            "source": "magpie_ultra",
        },
        {
            "chosen": msgs(("user", "How to X?"), ("assistant", "I can't help")),
            "rejected": msgs(("user", "How to X?"), ("assistant", "Sure")),
            "source": "wildguard",
        },
        {
            "chosen": msgs(
                ("user", "Q3"), ("assistant", "a"), ("user", "dangling")
            ),  # malformed: ends with user
            "rejected": msgs(("user", "Q3"), ("assistant", "b")),
            "source": "offsetbias",
        },
    ]


def helpsteer3_rows() -> list[dict]:
    ind = [{"score": 2, "reasoning": CANARY, "feedback1": CANARY, "feedback2": CANARY}]
    ctx = msgs(("user", "Fix my code"), ("assistant", "Which code?"), ("user", "This: x=1"))
    return [
        {
            "domain": "code",
            "language": "python",
            "context": ctx,
            "response1": "r1 worse",
            "response2": "r2 better",
            "overall_preference": 2,
            "individual_preference": ind,
        },
        {
            "domain": "general",
            "language": "english",
            "context": msgs(("user", "Hello")),
            "response1": "r1 better",
            "response2": "r2 worse",
            "overall_preference": -3,
            "individual_preference": ind,
        },
        {
            "domain": "stem",
            "language": "english",
            "context": msgs(("user", "Tie?")),
            "response1": "same",
            "response2": "same too",
            "overall_preference": 0,
            "individual_preference": ind,
        },  # no preference
    ]


def ultrafeedback_rows() -> list[dict]:
    return [
        {
            "prompt": "Q1",
            "prompt_id": "abc",
            "chosen": msgs(("user", "Q1"), ("assistant", "good")),
            "rejected": msgs(("user", "Q1"), ("assistant", "bad")),
            "messages": msgs(("user", "Q1"), ("assistant", "good")),
            "score_chosen": 9.0,
            "score_rejected": 2.0,
        },
        {
            "prompt": "Q2",
            "prompt_id": "def",
            "chosen": msgs(("user", "Q2"), ("assistant", "good")),
            "rejected": msgs(("user", "Q2 other"), ("assistant", "bad")),  # malformed: prefixes differ
            "messages": msgs(("user", "Q2"), ("assistant", "good")),
            "score_chosen": 8.0,
            "score_rejected": 3.0,
        },
    ]


def test_preset_skywork(tmp_path):
    f = write_jsonl(tmp_path / "skywork.jsonl", skywork_rows())
    rejects = Rejects(None)
    tasks = load_hf_preference(f, mapping="skywork", rejects=rejects)
    assert [t.id for t in tasks] == ["skywork-train-1", "skywork-train-2"]
    assert tasks[0].prompt == "Q1" and tasks[0].candidates == ["good", "bad"] and tasks[0].gold == 0
    assert (tasks[0].domain, tasks[1].domain) == ("chat", "safety")
    assert tasks[1].meta["subset"] == "wildguard" and tasks[1].meta["benchmark"] == "skywork"
    assert_reject(rejects, f, 3, "chosen[-1].role")
    assert_no_leak(tasks)
    assert detect_format(f) == "skywork"
    assert len(SOURCES["skywork"](f, rejects=Rejects(None))) == 2


def test_preset_helpsteer3(tmp_path):
    f = write_jsonl(tmp_path / "helpsteer3.jsonl", helpsteer3_rows())
    rejects = Rejects(None)
    tasks = load_hf_preference(
        f, mapping=PRESETS["helpsteer3"].mapping, benchmark="helpsteer3", rejects=rejects
    )
    assert [t.candidates for t in tasks] == [["r2 better", "r1 worse"], ["r1 better", "r2 worse"]]
    assert tasks[0].prompt == msgs(
        ("user", "Fix my code"), ("assistant", "Which code?"), ("user", "This: x=1")
    )
    assert tasks[1].prompt == "Hello"
    assert [t.meta["strength"] for t in tasks] == [2, 3]
    assert (tasks[0].domain, tasks[1].domain) == ("code", "chat") and tasks[0].meta["subset"] == "code"
    assert_reject(rejects, f, 3, "overall_preference", "no preference")
    assert_no_leak(tasks)
    assert detect_format(f) == "helpsteer3"
    with pytest.raises(ValueError, match=r"row 3: field 'overall_preference': no preference"):
        load_hf_preference(f, mapping="helpsteer3")


def test_preset_ultrafeedback(tmp_path):
    f = write_jsonl(tmp_path / "uf.jsonl", ultrafeedback_rows())
    rejects = Rejects(None)
    tasks = load_hf_preference(f, mapping="ultrafeedback", rejects=rejects)
    assert len(tasks) == 1 and tasks[0].id == "ultrafeedback-abc"
    assert tasks[0].prompt == "Q1" and tasks[0].candidates == ["good", "bad"] and tasks[0].domain == "chat"
    assert tasks[0].meta["split"] == "train_prefs"
    assert_reject(rejects, f, 2, "rejected")
    assert_no_leak(tasks)
    assert detect_format(f) == "ultrafeedback"


def test_hf_preference_string_columns_and_saved_dataset(tmp_path):
    import datasets

    rows = [
        {"question": "Q", "good": "yes", "bad": "no", "topic": "math"},
        {"question": "Q2", "good": None, "bad": "no", "topic": "code"},
    ]  # malformed: good is null
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))
    mapping = ColumnMapping(
        prompt="question",
        chosen="good",
        rejected="bad",
        domain="topic",
        domain_map={"math": "math", "code": "code"},
    )
    rejects = Rejects(None)
    tasks = load_hf_preference(tmp_path / "saved", mapping=mapping, benchmark="toy", rejects=rejects)
    assert len(tasks) == 1 and tasks[0].prompt == "Q" and tasks[0].candidates == ["yes", "no"]
    assert tasks[0].domain == "math" and tasks[0].id == "toy-train-1"
    assert_reject(rejects, tmp_path / "saved", 2, "good")
    with pytest.raises(ValueError, match="chosen and rejected"):
        load_hf_preference(tmp_path / "saved", mapping=ColumnMapping(chosen=None))


def test_hf_preference_mixed_types_row_rejected(tmp_path):
    rows = skywork_rows()[:2]
    rows.append({"chosen": "just text", "rejected": msgs(("user", "Q"), ("assistant", "b")), "source": "x"})
    f = write_jsonl(tmp_path / "mixed.jsonl", rows)
    rejects = Rejects(None)
    assert len(load_hf_preference(f, mapping="skywork", rejects=rejects)) == 2
    assert_reject(rejects, f, 3, "chosen")


# --------------------------------------------------------------------------- registry


def test_registry_and_limit(tmp_path):
    expected = {
        "judgebench",
        "rmbench",
        "rewardbench2",
        "rewardbench1",
        "llmbar",
        "if_rewardbench",
        "chat_pairs",
        "ifbench",
        "generic",
        "hf_preference",
        "skywork",
        "helpsteer3",
        "ultrafeedback",
    }
    assert expected <= set(SOURCES)
    f = write_jsonl(
        tmp_path / "pairs.jsonl",
        [{"id": f"g{k}", "prompt": "p", "chosen": "c", "rejected": "r"} for k in range(5)],
    )
    assert len(load_source("generic", f, limit=2)) == 2
    assert len(load_source("auto", f)) == 5
    folder = write_rmbench(tmp_path / "rm")
    assert len(load_source("rmbench", folder, domains=["code"], limit=1)) == 9  # limit counts rows
    with pytest.raises(ValueError, match="unknown source"):
        load_source("nope", f)
    assert detect_format("allenai/reward-bench-2") == "rewardbench2"
    assert detect_format("nvidia/HelpSteer3") == "helpsteer3"
    with pytest.raises(ValueError):
        detect_format(tmp_path / "missing.jsonl")


# --------------------------------------------------------------------------- Hub ids (load_dataset faked)


@pytest.fixture
def fake_hub(monkeypatch):
    """Replaces datasets.load_dataset for Hub ids; records (path, config, split) of each call."""
    import datasets

    calls: list[tuple[str, str | None, str]] = []
    tables = {
        "allenai/reward-bench-2": rb2_rows()[:-1],
        "nvidia/HelpSteer3": helpsteer3_rows()[:2],
        "HuggingFaceH4/ultrafeedback_binarized": ultrafeedback_rows()[:1],
        "Skywork/Skywork-Reward-Preference-80K-v0.2": skywork_rows()[:2],
    }

    def fake_load_dataset(path, name=None, split=None, **kw):
        calls.append((path, name, split))
        return datasets.Dataset.from_list(tables[path])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    return calls


def test_hub_ids_go_through_load_dataset(fake_hub):
    assert len(load_source("auto", "allenai/reward-bench-2")) == 5 + 8
    assert fake_hub[-1] == ("allenai/reward-bench-2", None, "test")
    tasks = load_source("helpsteer3", None)
    assert fake_hub[-1] == ("nvidia/HelpSteer3", "preference", "train")
    assert [t.candidates[0] for t in tasks] == ["r2 better", "r1 better"]
    load_hf_preference(mapping="ultrafeedback")
    assert fake_hub[-1] == ("HuggingFaceH4/ultrafeedback_binarized", None, "train_prefs")
    load_source("auto", "Skywork/Skywork-Reward-Preference-80K-v0.2")
    assert fake_hub[-1] == ("Skywork/Skywork-Reward-Preference-80K-v0.2", None, "train")


def test_rmbench_total_dataset_file(tmp_path):
    rows = [
        {**rmbench_row(1), "domain": "chat"},
        {**rmbench_row(2, "bigcode/humanevalpack"), "domain": "code"},
        {**rmbench_row(3), "domain": "poetry"},  # malformed: domain
    ]
    f = write_json(tmp_path / "total_dataset.json", rows)
    rejects = Rejects(None)
    tasks = load_rmbench(f, rejects=rejects)
    assert Counter(t.meta["domain"] for t in tasks) == {"chat": 9, "code": 9}
    assert_reject(rejects, f, 3, "domain")
    assert {t.meta["domain"] for t in load_rmbench(f, domains=["code"], rejects=Rejects(None))} == {"code"}


def test_leakage_every_adapter(tmp_path):
    """One pass over every registered format: no canary / label text visible, meta never in resources."""
    ifrb = write_json(tmp_path / "ifrb" / "data.json", [ifrb_row(10)])
    write_json(tmp_path / "ifrb" / "position_maps.json", {"10": {"0_1": 1, "0_2": 0, "1_2": 1}})
    inputs = {
        "judgebench": write_jsonl(
            tmp_path / "jb.jsonl", judgebench_official_rows() + judgebench_openrs_rows()
        ),
        "rmbench": write_rmbench(tmp_path / "rm"),
        "rewardbench2": write_jsonl(tmp_path / "rb2.jsonl", rb2_rows()),
        "rewardbench1": write_jsonl(
            tmp_path / "rb1.jsonl",
            [
                {
                    "prompt": "p",
                    "chosen": "c",
                    "rejected": "r",
                    "subset": "mt-bench-easy",
                    "id": 1,
                    "chosen_model": CANARY,
                    "rejected_model": CANARY,
                }
            ],
        ),
        "llmbar": write_json(
            tmp_path / "Natural" / "dataset.json",
            [{"input": "i", "output_1": "a", "output_2": "b", "label": 2}],
        ),
        "if_rewardbench": ifrb,
        "chat_pairs": write_json(
            tmp_path / "cp.json",
            [
                {
                    "id": 1,
                    "text_chosen": msgs(("user", "q"), ("assistant", "a")),
                    "text_rejected": msgs(("user", "q"), ("assistant", "b")),
                }
            ],
        ),
        "generic": write_jsonl(
            tmp_path / "g.jsonl",
            [{"id": "x", "prompt": "p", "chosen": "c", "rejected": "r", "label": CANARY, "gold": CANARY}],
        ),
        "skywork": write_jsonl(tmp_path / "sky.jsonl", skywork_rows()),
        "helpsteer3": write_jsonl(tmp_path / "hs3.jsonl", helpsteer3_rows()),
        "ultrafeedback": write_jsonl(tmp_path / "uf.jsonl", ultrafeedback_rows()),
    }
    for name, path in inputs.items():
        assert detect_format(path) == name, name
        tasks = load_source("auto", path, rejects=Rejects(None))
        assert_no_leak(tasks)
        for t in tasks:
            assert {"benchmark"} <= set(t.meta), (name, t.id)
