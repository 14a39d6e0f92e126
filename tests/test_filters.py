"""data.filters on hand-made trajectories: what each filter removes and why; seeded, order-independent
choices; the MinHash near-duplicate index."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from data import filters as F
from data.config import FilterConfig
from data.near_dup import MinHashLSH, bands_for, first_of_duplicates, jaccard, shingles
from model.records import JudgeTask, Trajectory

LONG = ("A farmer keeps {n} hens in a barn near the river and every morning she collects the eggs, "
        "counts them twice, writes the number in a small notebook, sells half at the village market "
        "and gives the rest to her neighbours; after a week of rain the barn roof leaks and two hens "
        "stop laying, so she asks how many eggs she will collect during the next seven days if each "
        "remaining hen lays exactly one egg per day and nothing else changes at all in the {end}")


def task(tid, source="s1", prompt=None, n=2, gold=0, kind="pairwise", domain="math"):
    return JudgeTask(id=tid, source=source, kind=kind, prompt=prompt or f"question {tid}?",
                     candidates=[f"{tid} answer {i}" for i in range(n)], gold=gold, domain=domain)


def traj(t: JudgeTask, order, label, *, setting="skill_operational", tools=("run_resource",), k=0,
         parse_ok=True, forced=False, pad=0, correct=None):
    """A finished trajectory choosing `label`; `correct` defaults to the truth (order + gold)."""
    msgs = [{"role": "system", "content": "sys"}, {"role": "user", "content": "judge"}]
    for name in tools:
        msgs += [{"role": "assistant", "content": "x" * pad,
                  "tool_calls": [{"type": "function", "function": {"name": name, "arguments": {}}}]},
                 {"role": "tool", "name": name, "content": "ok"}]
    msgs += [{"role": "assistant", "content": "",
              "tool_calls": [{"type": "function", "function": {"name": "final_answer",
                                                               "arguments": {"verdict": label}}}]}]
    right = label in "AB"[: len(order)] and order["AB".index(label)] == t.gold
    return Trajectory(task_id=t.id, setting=setting, order=list(order), messages=msgs, verdict=label,
                      parse_ok=parse_ok, correct=right if correct is None else correct, forced_final=forced,
                      tool_calls=len(tools) + 1, meta={"sample_index": k})


def both(t, **kw):
    """Correct trajectories in both orders (gold 0: A in identity, B swapped)."""
    return [traj(t, [0, 1], "A", **kw), traj(t, [1, 0], "B", **kw)]


def ids(trajs):
    return sorted((t.task_id, t.setting, tuple(t.order), F.sample_index(t)) for t in trajs)


def test_skill_settings_drops_baseline_runs():
    t = task("t")
    kept, removed = F.skill_settings([*both(t), traj(t, [0, 1], "A", setting="baseline", tools=())])
    assert len(kept) == 2 and removed == {"setting_baseline": 1}


def test_correctness_reasons():
    t, p = task("t"), task("p", kind="pointwise", n=1, gold=None)
    tasks = {"t": t, "p": p}
    rows = [
        traj(t, [0, 1], "A"),                                  # right
        traj(t, [0, 1], "B"),                                  # wrong
        traj(t, [1, 0], "tie"),                                # tie
        traj(t, [1, 0], "B", forced=True),                     # right but forced by the step limit
        traj(t, [0, 1], "A", parse_ok=False),                  # unparsed
        traj(t, [0, 1], "A", correct=False),                   # record disagrees with the verdict
        Trajectory(task_id="p", setting="skill_fair", order=[0], messages=[], verdict="7", parse_ok=True),
    ]
    kept, removed = F.correctness(rows, tasks)
    assert kept == rows[:1]
    assert removed == {"wrong": 1, "tie": 1, "forced_final": 1, "unparsed": 1, "inconsistent_record": 1,
                       "unverifiable": 1}
    kept, removed = F.correctness(rows, tasks, require_correct=True, drop_forced=False)
    assert rows[3] in kept
    kept, removed = F.correctness(rows, tasks, require_correct=False)
    assert removed == {"unparsed": 1, "no_label": 1} and len(kept) == 5  # a tie has no label to train


def test_order_consistency_keeps_both_orders_or_none():
    a, b, c = task("a"), task("b"), task("c")
    tasks = {"a": a, "b": b, "c": c}
    rows = [*both(a), *both(a, setting="skill_fair"),
            traj(b, [0, 1], "A"),                                 # b: only one order judged right
            traj(c, [0, 1], "A"), traj(c, [1, 0], "A")]           # c: wrong in the swapped order
    rows_ok, _ = F.correctness(rows, tasks)
    kept, removed = F.order_consistency(rows_ok, tasks)
    assert {t.task_id for t in kept} == {"a"} and len(kept) == 4
    assert removed == {"not_right_in_all_orders": 2}
    assert Counter(t.verdict for t in kept) == {"A": 2, "B": 2}  # both orders -> balanced positions
    # standalone (without correctness first) it checks rightness itself
    kept, _ = F.order_consistency(rows, tasks)
    assert {t.task_id for t in kept} == {"a"}


def test_order_consistency_listwise_needs_only_the_judged_order():
    t = task("l", kind="listwise", n=4, gold=2)
    r = Trajectory(task_id="l", setting="skill_fair", order=[0, 1, 2, 3], messages=[], verdict="C",
                   parse_ok=True, correct=True)
    kept, removed = F.order_consistency([r], {"l": t})
    assert kept == [r] and not removed


def test_pick_sample_shortest_and_seeded():
    t = task("t")
    rows = [traj(t, [0, 1], "A", k=0, pad=300), traj(t, [0, 1], "A", k=1, pad=10),
            traj(t, [0, 1], "A", k=2, pad=200), traj(t, [1, 0], "B", k=0)]
    kept, removed = F.pick_sample(rows, seed=0)
    assert [F.sample_index(x) for x in kept] == [1, 0] and removed == {"extra_sample": 2}
    # random choice: seeded, independent of input order, and it varies with the seed
    picks = set()
    for seed in range(8):
        a, _ = F.pick_sample(rows, seed, how="random")
        b, _ = F.pick_sample(list(reversed(rows)), seed, how="random")
        assert ids(a) == ids(b)
        picks.add(F.sample_index(next(x for x in a if x.order == [0, 1])))
    assert len(picks) > 1
    with pytest.raises(ValueError):
        F.pick_sample(rows, 0, how="longest")


def test_dedup_exact_and_near_keeps_the_first_task():
    tasks = {t.id: t for t in [
        task("a", prompt=LONG.format(n=12, end="world.")),
        task("b", prompt="Completely different: what is the capital of France?"),
        task("c", prompt=LONG.format(n=12, end="world.").upper() + "  "),     # exact after normalization
        task("d", prompt=LONG.format(n=12, end="universe!")),                 # near: last word differs
        task("e", prompt=LONG.format(n=99, end="world.")),                    # a number in the middle differs
    ]}
    rows = [r for t in tasks.values() for r in both(t)]
    kept, removed, details = F.dedup(rows, tasks, threshold=0.9)
    assert {t.task_id for t in kept} == {"a", "b"}
    assert removed == {"exact_duplicate": 2, "near_duplicate": 4}
    assert details["tasks_removed"] == 3
    assert {(e["dropped"], e["kept"]) for e in details["examples"]} == {("c", "a"), ("d", "a"), ("e", "a")}
    # a task whose trajectories are all gone does not shadow a later copy
    kept, _, _ = F.dedup([r for r in rows if r.task_id != "a"], tasks, threshold=0.9)
    assert {t.task_id for t in kept} == {"b", "c"}
    # exact only
    kept, removed, _ = F.dedup(rows, tasks, threshold=0.9, near=False)
    assert removed == {"exact_duplicate": 2}


def test_heldout_overlap_drops_train_copies_of_held_out_prompts():
    tasks = {t.id: t for t in [
        task("a", prompt=LONG.format(n=12, end="world.")),            # near copy of a held-out prompt
        task("b", prompt="Implement `second_largest(nums)` in Python."),  # exact copy (case, spacing)
        task("c", prompt="Something only the train split has."),
        task("d", prompt="Something only the train split has!"),      # train-only duplicate: dedup's job
    ]}
    heldout = [LONG.format(n=12, end="universe."), "implement `second_largest(nums)`   in python",
               "unrelated"]
    rows = [r for t in tasks.values() for r in both(t)]
    kept, removed, details = F.heldout_overlap(rows, tasks, heldout, threshold=0.9)
    assert {t.task_id for t in kept} == {"c", "d"}
    assert removed == {"heldout_near_duplicate": 2, "heldout_exact_duplicate": 2}
    assert details["tasks_removed"] == 2
    kept, steps = F.apply_filters(rows, tasks, FilterConfig(), seed=0, heldout_prompts=heldout)
    assert steps[1].name == "heldout_overlap" and steps[1].removed == 4
    assert {t.task_id for t in kept} == {"c"}


def test_minhash_index_recall_and_exact_verification():
    base = LONG.format(n=3, end="end")
    sh = shingles(base)
    lsh = MinHashLSH(0.9, seed=0)
    lsh.insert("base", sh)
    near = shingles(base.replace("end", "finish"))
    assert jaccard(sh, near) >= 0.9 and lsh.near(near) == ["base"]
    far = shingles(base.replace("barn", "shed"))  # 2 occurrences -> ~10 of ~96 shingles change
    assert jaccard(sh, far) < 0.9 and lsh.near(far) == []
    bands, rows = bands_for(0.9)
    assert bands * rows == 128 and 1 - (1 - 0.9 ** rows) ** bands >= 0.99
    assert shingles("two words") == shingles("Two,   WORDS!")  # shorter than 5 words: one shingle
    # many random texts: LSH + verification finds exactly the pairs a brute force finds
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(50)]
    texts = []
    for i in range(60):
        words = [rng.choice(vocab) for _ in range(40)]
        texts.append((i, " ".join(words)))
        if i % 6 == 0:
            words = list(words)
            words[-1] = "zz"
            texts.append((f"{i}'", " ".join(words)))
    dropped = first_of_duplicates(texts, 0.9)
    sets = {k: shingles(t) for k, t in texts}
    brute = set()
    kept_keys: list = []
    for k, _ in texts:
        if any(jaccard(sets[k], sets[j]) >= 0.9 for j in kept_keys):
            brute.add(k)
        else:
            kept_keys.append(k)
    assert set(dropped) == brute and len(brute) == 10


def test_length_drops_the_pair_together():
    a, b = task("a"), task("b")
    rows = [*both(a), *both(b)]
    n = {id(rows[0]): 50, id(rows[1]): 120, id(rows[2]): 50, id(rows[3]): None}
    kept, removed = F.length(rows, n, max_tokens=100)
    assert kept == [] and removed == {"too_long": 1, "pair_too_long": 2, "render_failed": 1}
    n = {id(r): 50 for r in rows} | {id(rows[1]): 120}
    kept, removed = F.length(rows, n, max_tokens=100, keep_pairs=False)
    assert len(kept) == 3 and removed == {"too_long": 1}


def test_capped_counts():
    assert F.capped_counts({"a": 100, "b": 10, "c": 10}, 0.6) == {"a": 30, "b": 10, "c": 10}
    assert F.capped_counts({"a": 10, "b": 10}, 0.6) == {"a": 10, "b": 10}
    assert F.capped_counts({"a": 50, "b": 30, "c": 20}, 0.2) == {"a": 20, "b": 20, "c": 20}  # 1/k floor


def test_balance_sources_drops_whole_tasks_seeded():
    tasks = {f"big{i}": task(f"big{i}", source="big") for i in range(20)}
    tasks |= {f"small{i}": task(f"small{i}", source="small") for i in range(5)}
    rows = [r for t in tasks.values() for r in both(t)]
    kept, removed, details = F.balance_sources(rows, tasks, 0.6, seed=1)
    per = Counter(tasks[t.task_id].source for t in kept)
    assert per["small"] == 10 and per["big"] <= 0.6 * len(kept) and per["big"] == 14
    assert removed == {"source_big": 26} and details["caps"] == {"big": 15}
    assert all(Counter(t.task_id for t in kept)[tid] in (0, 2) for tid in tasks)  # whole tasks
    kept2, _, _ = F.balance_sources(list(reversed(rows)), tasks, 0.6, seed=1)
    assert ids(kept) == ids(kept2)
    kept3, _, _ = F.balance_sources(rows, tasks, 0.6, seed=2)
    assert ids(kept3) != ids(kept)
    one = {k: v for k, v in tasks.items() if k.startswith("big")}
    kept, removed, details = F.balance_sources([r for r in rows if r.task_id in one], one, 0.6, seed=0)
    assert not removed and "skipped" in details


def test_direct_share_cap():
    tasks = {f"t{i}": task(f"t{i}") for i in range(10)}
    rows = [traj(tasks[f"t{i}"], [0, 1], "A", tools=() if i < 7 else ("view_resource",)) for i in range(10)]
    assert sum(F.is_direct(r) for r in rows) == 7
    kept, removed = F.direct_share(rows, 0.5, seed=0)
    assert sum(F.is_direct(r) for r in kept) == 3 and len(kept) == 6 and removed == {"direct_over_cap": 4}
    kept, removed = F.direct_share(rows, 0.0, seed=0)
    assert len(kept) == 3 and not any(F.is_direct(r) for r in kept)
    kept, removed = F.direct_share(rows, 1.0, seed=0)
    assert kept == rows and not removed


def test_balance_positions_equalizes_labels():
    tasks = {f"t{i}": task(f"t{i}") for i in range(10)}
    rows = [traj(tasks[f"t{i}"], [0, 1], "A") for i in range(7)] + \
           [traj(tasks[f"t{i}"], [1, 0], "B") for i in range(7, 10)]
    kept, removed = F.balance_positions(rows, tasks, seed=0)
    assert Counter(t.verdict for t in kept) == {"A": 3, "B": 3} and removed == {"excess_A": 4}
    kept2, _ = F.balance_positions(list(reversed(rows)), tasks, seed=0)
    assert ids(kept) == ids(kept2)


def test_apply_filters_pipeline_and_report_steps():
    tasks = {t.id: t for t in [task("a", "s1"), task("b", "s1"), task("c", "s2"),
                               task("d", "s2", prompt="question a?")]}
    rows = [*both(tasks["a"]), *both(tasks["b"], tools=()), *both(tasks["c"]),
            traj(tasks["c"], [0, 1], "B", k=1), *both(tasks["d"])]
    calls = []

    def n_tokens(trajs):
        calls.append(len(trajs))
        return {id(t): 10 for t in trajs}
    kept, steps = F.apply_filters(rows, tasks, FilterConfig(), seed=0, n_tokens=n_tokens)
    by = {s.name: s for s in steps}
    assert [s.name for s in steps] == ["skill_setting", "correctness", "order_consistency", "one_sample",
                                       "dedup", "length", "source_balance", "direct_share",
                                       "position_balance"]
    assert by["correctness"].reasons == {"wrong": 1}
    assert by["dedup"].reasons == {"exact_duplicate": 2}
    assert calls == [6]  # rendered once, after the cheap filters
    assert sum(s.removed for s in steps) + len(kept) == len(rows)
    assert all(s.kept == len(kept) for s in steps[-1:])
    assert Counter(t.verdict for t in kept)["A"] == Counter(t.verdict for t in kept)["B"]
