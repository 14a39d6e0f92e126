"""N-gram decontamination: a planted benchmark question is caught, unrelated prompts are not."""

import json
import time

import pytest
from conftest import shared_data

from data.decontam import EvalIndex, decontaminate, find_contaminated, main, normalize_words
from model.records import JudgeTask

QUESTIONS = [
    "A rectangular garden is three times as long as it is wide. If the perimeter of the garden is 96 meters, "
    "what is the area of the garden in square meters? Think step by step and give the final answer.",
    "Which of the following best describes the function of the mitochondria in eukaryotic cells? "
    "(A) protein synthesis (B) energy production (C) lipid storage (D) cell division. Answer with a letter.",
    "Write a Python function that returns the longest palindromic substring of a given string, and explain "
    "the time complexity of your approach in detail.",
]
BOILERPLATE = (
    "If you cannot determine the correct multiple-choice answer, take your best guess. Once you have "
    "your answer, please duplicate that letter five times in a single string."
)


def task(tid, prompt):
    return JudgeTask(id=tid, source="train", kind="pairwise", prompt=prompt, candidates=["a", "b"], gold=0)


@pytest.fixture()
def judgebench_file(tmp_path):
    rows = [
        {
            "pair_id": f"p{k}",
            "original_id": f"o{k}",
            "source": "mmlu-pro-biology",
            "question": q,
            "response_model": "gpt-4o",
            "response_A": "Answer A.",
            "response_B": "Answer B.",
            "label": "A>B",
        }
        for k, q in enumerate(QUESTIONS)
    ]
    path = tmp_path / "judgebench_gpt-4o.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_planted_overlap_is_caught_and_unrelated_prompts_are_not(judgebench_file):
    index = EvalIndex.from_sources(
        {
            "judgebench": judgebench_file,
            "notes": ["a short eval question about the boiling point of water at sea level"],
        }
    )
    assert index.counts() == {"judgebench": 3, "notes": 1}
    train = [
        task(
            "planted",
            "Please help me with my homework.\n\n" + QUESTIONS[0].upper().replace(",", " ,") + "\nThanks!",
        ),
        task("short", "Quick one: what is the boiling point of water at sea level, in Celsius?"),
        task(
            "unrelated",
            "A rectangular field is twice as long as it is wide. Its perimeter is 60 meters. "
            "Find its area and explain each step of the computation carefully.",
        ),
        task(
            "other", "Write a haiku about autumn leaves falling on a quiet river in the early morning light."
        ),
    ]
    found = find_contaminated(train, index, n=13, threshold=0.5)
    assert [(t, b) for t, b, _ in found] == [("planted", "judgebench")]
    assert found[0][2] == 1.0
    kept, removed, report = decontaminate(train, index)
    assert [t.id for t in removed] == ["planted"] and len(kept) == 3
    assert report["per_benchmark"] == {"judgebench": 1} and report["removed"] == 1 and report["checked"] == 4
    assert report["matches"][0]["eval_item"] == "p0"
    # a short eval text (fewer than n words) is matched whole
    short_index = EvalIndex.from_sources({"notes": ["what is the boiling point of water at sea level"]})
    assert [t for t, _, _ in find_contaminated(train, short_index)] == ["short"]


def test_boilerplate_shared_by_many_items_is_ignored():
    index = EvalIndex(n=8, max_item_frequency=3)
    index.add_texts(
        "bench",
        [f"Question {k}: compute {k} plus {k * 7} and report the sum. {BOILERPLATE}" for k in range(10)],
    )
    train = [task("t", "Name three rivers in Europe and describe where they flow. " + BOILERPLATE)]
    assert find_contaminated(train, index) == []
    assert (
        find_contaminated(train, EvalIndex.from_sources({"bench": [BOILERPLATE + " extra words here"]}, n=8))
        != []
    )


def test_parameters_are_checked():
    index = EvalIndex(n=13)
    with pytest.raises(ValueError, match="differs"):
        find_contaminated([], index, n=8)
    with pytest.raises(ValueError, match="threshold"):
        find_contaminated([], index, threshold=0)
    assert normalize_words("Héllo, WORLD!  ﬁne") == ["héllo", "world", "fine"]


def test_scales_to_tens_of_thousands_of_prompts(judgebench_file):
    index = EvalIndex.from_sources({"judgebench": judgebench_file})
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho".split()
    train = [
        task(f"t{i}", " ".join(words[(i + k) % len(words)] for k in range(60)) + f" item {i}")
        for i in range(20000)
    ]
    start = time.perf_counter()
    kept, removed, _ = decontaminate(train, index)
    assert not removed and len(kept) == 20000
    assert time.perf_counter() - start < 20


def test_cli(tmp_path, judgebench_file):
    train = tmp_path / "train.jsonl"
    rows = [
        task("planted", "Solve: " + QUESTIONS[1]).to_dict(),
        task("ok", "Tell me a joke about cats.").to_dict(),
    ]
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = main(
        [
            "--train",
            str(train),
            "--eval",
            f"judgebench={judgebench_file}",
            "--out",
            str(tmp_path / "kept.jsonl"),
            "--report",
            str(tmp_path / "report.json"),
        ]
    )
    assert report["removed"] == 1
    assert [json.loads(x)["id"] for x in (tmp_path / "kept.jsonl").read_text().splitlines()] == ["ok"]


def test_real_benchmarks_catch_a_planted_judgebench_question():
    from data.sources import load_source

    folder = shared_data("judgebench")
    index = EvalIndex.from_sources({"judgebench": folder, "rmbench": shared_data("rmbench")})
    question = load_source("judgebench", folder, limit=3)[2].prompt_text
    train = [
        task("planted", f"Here is a practice problem.\n{question}\nShow your work."),
        task("clean", "Describe the water cycle for a ten year old in a few friendly sentences."),
    ]
    kept, removed, report = decontaminate(train, index)
    print("eval items indexed:", report["eval_items"])
    assert [t.id for t in removed] == ["planted"] and report["per_benchmark"] == {"judgebench": 1}
