"""The synthetic generator: determinism, kinds mix, proved gold, and no length / position cue."""

import importlib.util
import json
import re
from collections import Counter

import pytest

from data.builders.synthetic import KINDS, generate_synthetic
from model.jsonl import Rejects
from model.verifiers import ifeval
from model.verifiers.code import extract_code, run_tests
from model.verifiers.math import answers_match

needs_sandbox = pytest.mark.skipif(
    importlib.util.find_spec("model.sandbox") is None, reason="model.sandbox is not available"
)
POSITION_WORDS = re.compile(r"\b(good|bad|chosen|rejected|winner|loser|label|position)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def many():
    """200 tasks of every kind; the code kind unproved here (its proof is tested on a few below)."""
    return generate_synthetic(200, seed=11, verify=False)


def verify_gold(task, run_code=True):
    good, bad = task.candidates
    if task.meta["kind"] == "constrained_math":
        [c] = task.resources.constraints
        assert answers_match(good, task.resources.reference) and ifeval.check(c["id"], c["kwargs"], good)
        wrong = not answers_match(bad, task.resources.reference)
        broken = not ifeval.check(c["id"], c["kwargs"], bad)
        assert wrong != broken and task.meta["violated"] == (["answer"] if wrong else [c["id"]])
    elif task.domain == "math":
        assert answers_match(good, task.resources.reference) and not answers_match(
            bad, task.resources.reference
        )
    elif task.domain == "instruction_following":
        cons = task.resources.constraints
        assert all(ifeval.check(c["id"], c["kwargs"], good) for c in cons)
        assert [c["id"] for c in cons if not ifeval.check(c["id"], c["kwargs"], bad)] == task.meta["violated"]
    elif run_code:
        ep = task.resources.metadata["entry_point"]
        assert run_tests(extract_code(good, ep), task.resources.tests).passed
        assert not run_tests(extract_code(bad, ep), task.resources.tests, timeout_s=5).passed


def test_deterministic_for_a_seed():
    a = [t.to_dict() for t in generate_synthetic(24, seed=5, verify=False)]
    b = [t.to_dict() for t in generate_synthetic(24, seed=5, verify=False)]
    c = [t.to_dict() for t in generate_synthetic(24, seed=6, verify=False)]
    assert a == b
    assert [t["candidates"] for t in a] != [t["candidates"] for t in c]
    assert not {t["id"] for t in a} & {t["id"] for t in c}
    # a shorter run is a prefix of a longer one
    assert [t.to_dict() for t in generate_synthetic(9, seed=5, verify=False)] == a[:9]


def test_kinds_mix_and_structure(many):
    counts = Counter(t.meta["kind"] for t in many)
    assert set(counts) == set(KINDS) and max(counts.values()) - min(counts.values()) <= 1
    assert {t.source for t in many} == {f"synthetic-{k}" for k in KINDS}
    assert len({t.id for t in many}) == len(many)
    assert Counter(t.meta["difficulty"] for t in many).keys() == {"easy", "medium", "hard"}
    for t in many:
        assert t.kind == "pairwise" and t.gold == 0 and t.candidates[0] != t.candidates[1]
        for key in ("builder", "upstream_id", "perturbation", "split"):
            assert t.meta[key] not in (None, "")
    variety = {k: len({t.prompt.split(" ")[0] for t in many if t.meta["kind"] == k}) for k in KINDS}
    assert all(v >= 3 for v in variety.values()), variety  # several templates per kind
    only = generate_synthetic(6, seed=1, kinds=("constraints",))
    assert {t.meta["kind"] for t in only} == {"constraints"}
    with pytest.raises(ValueError):
        generate_synthetic(3, kinds=("poetry",))


def test_gold_is_proved_for_arithmetic_and_constraints(many):
    for t in many:
        verify_gold(t, run_code=False)


@needs_sandbox
def test_code_kind_is_proved_in_the_sandbox():
    tasks = generate_synthetic(4, seed=3, kinds=("code",), rejects=Rejects(None))
    assert len(tasks) == 4 and all(t.meta["proved"] for t in tasks)
    for t in tasks:
        verify_gold(t)


def test_length_is_not_a_cue(many):
    longer = sum(len(t.candidates[0]) > len(t.candidates[1]) for t in many) / len(many)
    shorter = sum(len(t.candidates[0]) < len(t.candidates[1]) for t in many) / len(many)
    print(f"good longer in {longer:.2f} of pairs, shorter in {shorter:.2f}")
    assert 0.3 <= longer <= 0.7
    assert 0.2 <= shorter <= 0.7
    for (
        kind
    ) in KINDS:  # no kind is one-sided either: among pairs of unequal length, good is longer ~half the time
        sub = [t for t in many if t.meta["kind"] == kind and len(t.candidates[0]) != len(t.candidates[1])]
        frac = sum(len(t.candidates[0]) > len(t.candidates[1]) for t in sub) / len(sub)
        assert 0.25 <= frac <= 0.75, (kind, frac)


def test_position_is_not_encoded(many):
    for t in many:
        good, bad = t.candidates
        visible = json.dumps([t.prompt, t.resources.to_dict()])
        assert good not in visible and bad not in visible, t.id
        assert not POSITION_WORDS.search(t.id), t.id
        assert not POSITION_WORDS.search(" ".join(t.meta)), t.meta
        assert t.resources.reference not in (good, bad)
    # the shared parts of a pair (intro, answer line, code fence) do not differ between good and bad
    same_start = sum(t.candidates[0][:12] == t.candidates[1][:12] for t in many) / len(many)
    assert same_start > 0.6


def test_split_selection():
    train = generate_synthetic(10, seed=2, kinds=("arithmetic",), split="train", heldout_fraction=0.5)
    held = generate_synthetic(10, seed=2, kinds=("arithmetic",), split="heldout", heldout_fraction=0.5)
    assert len(train) == len(held) == 10
    assert {t.meta["split"] for t in train} == {"train"} and {t.meta["split"] for t in held} == {"heldout"}
    assert not {t.meta["upstream_id"] for t in train} & {t.meta["upstream_id"] for t in held}
