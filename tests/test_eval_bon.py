"""Best-of-N sequential knockout: hand-computed SeqKO with a scripted judge, batching per round, ties and
unparseable judgments keep the incumbent, resume, the candidate-set format and builders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED_DATA, shared_data
from test_eval_run import CrashingBackend

from eval import scripted_judges as sj
from eval.bon import knockout_order
from eval.bon_sets import load_candidate_sets
from eval.config import BenchmarkConfig, BonConfig, EvalConfig
from eval.predictions import read_predictions
from eval.runner import run_eval
from model.jsonl import Rejects

SETS = [
    {
        "id": "s1",
        "prompt": "p1",
        "candidates": ["a", "bbb", "cc", "dddd"],
        "scores": [0, 0, 0, 1],
        "answers": ["1", "2", "2", "4"],
    },
    {
        "id": "s2",
        "prompt": "p2",
        "candidates": ["xxxxx", "y", "zz"],
        "scores": [0, 1, 1],
        "answers": ["9", "3", "3"],
    },
    {
        "id": "s3",
        "prompt": "p3",
        "candidates": ["short", "a much longer one", "mid length"],
        "scores": [0.2, 0.5, 1.0],
        "reference": "42",
    },
]


def sets_file(tmp_path: Path) -> Path:
    f = tmp_path / "sets.jsonl"
    f.write_text("".join(json.dumps(s) + "\n" for s in SETS))
    return f


def run(tmp_path: Path, backend, n: int = 10, name: str = "run", **kw) -> Path:
    cfg = EvalConfig(
        output_dir=str(tmp_path / name),
        progress=False,
        plots=False,
        seed=kw.pop("seed", 0),
        benchmarks=[BenchmarkConfig("bon", path=str(sets_file(tmp_path)))],
        bon=BonConfig(n=n),
        **kw,
    )
    return run_eval(cfg, backend=backend)


def result(out: Path, setting: str = "baseline", label: str = "bon") -> dict:
    return json.loads((out / "metrics.json").read_text())["results"][label][setting]["metrics"]


def test_prefer_longer_seqko_matches_hand_computation(tmp_path):
    out = run(tmp_path, sj.backend(sj.prefer_longer))
    m = result(out)
    # all candidates in play: the knockout keeps the longest,
    # "dddd" (1), "xxxxx" (0), "a much longer one" (0.5)
    assert m["seqko"] == pytest.approx((1 + 0 + 0.5) / 3)
    assert m["oracle"] == pytest.approx(1.0)
    assert m["random"] == pytest.approx((1 / 4 + 2 / 3 + 1.7 / 3) / 3)
    first = [s["scores"][knockout_order(s["id"], len(s["candidates"]), 10, 0)[0]] for s in SETS]
    assert m["pass_at_1"] == pytest.approx(sum(first) / 3)
    assert m["majority_groups"] == 2  # s3 has no answers
    assert m["judgments"] == 3 + 2 + 2 and m["unparseable_kept"] == 0
    groups = [json.loads(line) for line in (out / "bon_groups.jsonl").read_text().splitlines()]
    assert [g["winner_candidate"] for g in groups] == [3, 0, 1]


def test_knockout_with_n_2_keeps_the_longer_of_the_first_two(tmp_path):
    m = result(run(tmp_path, sj.backend(sj.prefer_longer), n=2))
    expected = []
    for s in SETS:
        i, j = knockout_order(s["id"], len(s["candidates"]), 2, 0)
        expected.append(s["scores"][i if len(s["candidates"][i]) >= len(s["candidates"][j]) else j])
    assert m["seqko"] == pytest.approx(sum(expected) / 3) and m["judgments"] == 3


def test_one_run_agent_call_per_round_and_seeded_sides(tmp_path):
    calls = []
    backend = sj.backend(sj.prefer_longer)
    inner = backend.generate
    backend.generate = lambda reqs, sampling: calls.append(len(reqs)) or inner(reqs, sampling)
    out = run(tmp_path, backend)
    assert calls == [3, 3, 1]  # round k judges (incumbent, candidate k) of every prompt that has one
    rows = read_predictions(out)
    assert {tuple(r["order"]) for r in rows} == {(0, 1), (1, 0)}  # the incumbent is shown on both sides
    assert all(r["meta"]["incumbent_side"] == (0 if r["order"] == [0, 1] else 1) for r in rows)


def test_unparseable_and_tie_keep_the_incumbent(tmp_path):
    for policy, key in ((sj.unparseable, "unparseable_kept"), (sj.tie, "ties_kept")):
        m = result(run(tmp_path, sj.backend(policy), name=key))
        assert m[key] == 7 and m["switches"] == 0
        assert m["seqko"] == pytest.approx(m["pass_at_1"])  # the first candidate stays


def test_resume_after_crash_replays_the_same_knockout(tmp_path):
    clean = result(run(tmp_path, sj.backend(sj.prefer_longer), name="clean"))
    with pytest.raises(RuntimeError):
        run(tmp_path, CrashingBackend(sj.backend(sj.prefer_longer), crash_after=1), name="resumed")
    out = run(tmp_path, sj.backend(sj.prefer_longer), name="resumed")
    assert result(out) == clean
    keys = [(r["task_id"], r["setting"]) for r in read_predictions(out)]
    assert len(keys) == len(set(keys)) == 7


def test_candidate_set_format_rejects_bad_rows(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text(
        "\n".join(
            [
                json.dumps(SETS[0]),
                json.dumps({**SETS[1], "scores": [1]}),
                json.dumps({**SETS[2], "candidates": ["only one"], "scores": [1]}),
                "{not json",
                json.dumps({**SETS[0], "extra": 1}),
            ]
        )
        + "\n"
    )
    rejects = Rejects(None)
    sets = load_candidate_sets(f, rejects)
    assert [s.id for s in sets] == ["s1"]
    reasons = [r["reason"] for r in rejects.rows]
    assert any("scores" in r for r in reasons) and any("candidates" in r for r in reasons)
    assert any("extra" in r for r in reasons) and len(reasons) == 4
    with pytest.raises(ValueError, match="row 2"):
        load_candidate_sets(f)


def test_humaneval_candidate_sets_are_scored_by_their_tests(tmp_path):
    shared_data("humaneval", "HumanEval.jsonl")
    pytest.importorskip("model.sandbox", reason="the code sets run tests in model.sandbox")
    cfg = EvalConfig(output_dir=str(tmp_path / "h"), data_dir=str(SHARED_DATA), progress=False, plots=False,
                     limit=2, sample="first", bon=BonConfig(n=4), benchmarks=[BenchmarkConfig("bon_humaneval")])
    # sample first: the builder proves only the first `limit` problems (a sample builds them all)
    out = run_eval(cfg, backend=sj.backend(sj.oracle))
    sets = load_candidate_sets(out / "bon_sets" / "bon_humaneval.jsonl")
    assert len(sets) == 2
    for s in sets:
        assert s.tests and s.entry_point and 2 <= len(s.candidates) <= 4
        assert s.scores[0] == 1.0 and s.scores[1] == 0.0  # canonical passes, the builder's mutant fails
    assert result(out, label="bon_humaneval")["oracle"] == 1.0


def test_gsm8k_candidate_sets_from_the_builders(tmp_path):
    shared_data("gsm8k", "train.jsonl")
    from model.verifiers.math import is_equivalent

    cfg = EvalConfig(
        output_dir=str(tmp_path / "g"),
        data_dir=str(SHARED_DATA),
        progress=False,
        plots=False,
        limit=3,
        sample="first",  # the builder makes only `limit` sets (a sample builds them all, then draws 3)
        benchmarks=[BenchmarkConfig("bon_gsm8k")],
    )
    out = run_eval(cfg, backend=sj.backend(sj.oracle))
    sets = load_candidate_sets(out / "bon_sets" / "bon_gsm8k.jsonl")
    assert len(sets) == 3
    for s in sets:
        assert s.scores[0] == 1.0 and sum(s.scores) == 1.0 and len(s.candidates) >= 2
        assert is_equivalent(s.answers[0], s.reference)
    assert (
        result(out, label="bon_gsm8k")["seqko"] == 1.0
    )  # the oracle judge always keeps the correct solution
