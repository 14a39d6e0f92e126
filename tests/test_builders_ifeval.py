"""IFEval pair builder and the violation edits: the gold is re-checked with the IFEval checkers."""

import json
import random

import pytest
from conftest import shared_data

from data.builders import ifeval_edits
from data.builders.ifeval import build_ifeval
from model.jsonl import Rejects
from model.verifiers import ifeval

INPUT_ROWS = [
    {
        "key": 1,
        "prompt": "Write about tea without any commas. Wrap everything in double quotes.",
        "instruction_id_list": ["punctuation:no_comma", "startend:quotation"],
        "kwargs": [{}, {}],
    },
    {
        "key": 2,
        "prompt": "Describe a lake in at least 20 words and end with 'Any other questions?'.",
        "instruction_id_list": ["length_constraints:number_words", "startend:end_checker"],
        "kwargs": [{"relation": "at least", "num_words": 20}, {"end_phrase": "Any other questions?"}],
    },
    {
        "key": 3,
        "prompt": "Answer in lowercase letters only.",
        "instruction_id_list": ["change_case:english_lowercase"],
        "kwargs": [{}],
    },  # the response below is not lowercase: repaired
    {
        "key": 4,
        "prompt": "A malformed row.",
        "instruction_id_list": ["punctuation:no_comma"],
        "kwargs": [{}, {}],
    },
]
RESPONSES = [
    {
        "prompt": INPUT_ROWS[0]["prompt"],
        "response": '"Tea is a calm drink and many people enjoy it in the morning."',
    },
    {
        "prompt": INPUT_ROWS[1]["prompt"],
        "response": "The lake was still and clear in the early light. Birds moved along the reeds and a "
        "small boat "
        "waited by the dock for the day to begin. Any other questions?",
    },
    {"prompt": INPUT_ROWS[2]["prompt"], "response": "The answer is simple: drink more water every day."},
    {"prompt": INPUT_ROWS[3]["prompt"], "response": "whatever"},
]


def assert_ifeval_gold(tasks):
    """Independent of the builder: good passes every constraint, bad fails the one it names."""
    for t in tasks:
        assert t.kind == "pairwise" and t.gold == 0 and t.domain == "instruction_following"
        good, bad = t.candidates
        cons = t.resources.constraints
        assert cons and all(set(c) == {"id", "kwargs"} for c in cons)
        assert all(ifeval.check(c["id"], c["kwargs"], good, t.prompt) for c in cons), t.id
        violated = t.meta["violated"]
        assert len(violated) == 1 and not ifeval.check(
            violated[0], next(c["kwargs"] for c in cons if c["id"] == violated[0]), bad, t.prompt
        )
        failing = {c["id"] for c in cons if not ifeval.check(c["id"], c["kwargs"], bad, t.prompt)}
        assert failing == set(violated) | set(t.meta["also_violated"]), t.id


def write_inputs(tmp_path, rows=INPUT_ROWS, responses=RESPONSES):
    folder = tmp_path / "ifeval"
    folder.mkdir()
    (folder / "input_data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "input_response_data_toy.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in responses) + '{"prompt": "no response field"}\n'
    )
    return folder


def test_ifeval_builder(tmp_path):
    folder = write_inputs(tmp_path)
    rejects = Rejects(None)
    tasks = build_ifeval(folder, rejects=rejects, max_pairs_per_row=2)
    assert_ifeval_gold(tasks)
    assert {t.meta["key"] for t in tasks} == {"1", "2", "3"}
    assert all(not t.meta["also_violated"] for t in tasks)
    repaired = [t for t in tasks if t.meta["repaired"]]
    assert repaired and all(t.candidates[0].islower() for t in repaired)
    reasons = {(r["file"].split("/")[-1], r["row"]): r["reason"] for r in rejects.rows}
    assert "field 'response'" in reasons[("input_response_data_toy.jsonl", 5)]
    assert "field 'kwargs'" in reasons[("input_data.jsonl", 4)]
    # one pair per constraint at most, ids unique and stable
    assert len({t.id for t in tasks}) == len(tasks)
    assert [t.id for t in tasks] == [
        t.id for t in build_ifeval(folder, max_pairs_per_row=2, rejects=Rejects(None))
    ]
    with pytest.raises(ValueError, match=r"input_response_data_toy.jsonl: row 5: field 'response'"):
        build_ifeval(folder)  # without rejects a malformed row raises, naming file, row and field


def test_violation_edits_per_family():
    rng = random.Random(0)
    text = (
        "<<A Day Out>>\n\nWe walked to the *old harbor* and watched the boats for a while. Then we ate "
        "lunch at [place] and talked about the trip.\n\n* first point\n* second point\n\nP.S. Bring a hat."
    )
    cases = {
        "punctuation:no_comma": {},
        "detectable_format:title": {},
        "detectable_format:number_highlighted_sections": {"num_highlights": 1},
        "detectable_content:number_placeholders": {"num_placeholders": 1},
        "detectable_format:number_bullet_lists": {"num_bullets": 2},
        "detectable_content:postscript": {"postscript_marker": "P.S."},
        "keywords:existence": {"keywords": ["harbor"]},
        "keywords:forbidden_words": {"forbidden_words": ["sea"]},
        "length_constraints:number_words": {"relation": "less than", "num_words": 60},
        "length_constraints:number_sentences": {"relation": "at least", "num_sentences": 3},
    }
    for iid, kw in cases.items():
        assert ifeval.check(iid, kw, text), iid
        edits = ifeval_edits.violations(iid, text, kw, "", rng)
        assert edits and all(not ifeval.check(iid, kw, bad) for _, bad in edits[:1]), iid


@pytest.mark.parametrize(
    "iid,kw,text",
    [
        ("change_case:english_lowercase", {}, "all of this is lower case text about the sea."),
        ("change_case:english_capital", {}, "ALL OF THIS IS UPPER CASE TEXT ABOUT THE SEA."),
        ("startend:quotation", {}, '"wrapped in quotes"'),
        ("startend:end_checker", {"end_phrase": "Bye."}, "Hello there. Bye."),
        ("combination:two_responses", {}, "First answer.\n******\nSecond answer."),
        ("detectable_format:json_format", {}, '{"a": 1}'),
    ],
)
def test_more_violation_edits(iid, kw, text):
    assert ifeval.check(iid, kw, text)
    edits = ifeval_edits.violations(iid, text, kw, "", random.Random(1))
    assert edits and not ifeval.check(iid, kw, edits[0][1])


def test_real_ifeval_yield():
    rejects = Rejects(None)
    tasks = build_ifeval(shared_data("ifeval", "input_data.jsonl"), limit=80, rejects=rejects)
    rows = tasks[-1].meta["row"]
    print(
        f"ifeval: {len(tasks)} pairs from {rows} rows; {len(rejects)} rejected, e.g. "
        f"{sorted({r['reason'][:90] for r in rejects.rows})[:4]}"
    )
    assert len(tasks) == 80 and len(rejects) <= 0.4 * rows
    assert_ifeval_gold(tasks)
    assert sum(bool(t.meta["also_violated"]) for t in tasks) <= 0.1 * len(tasks)
