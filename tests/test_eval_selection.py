"""Which units a `limit` judges (eval/selection.py): the stratified default (proportions, at least one per
stratum, seed determinism, independence of the input order), the old `random` and `first` draws, the
per-stratum limit of verifiable, the `sample` config values, and what the report says about the draw."""

from __future__ import annotations

import json
import random
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import SHARED_DATA, shared_data

from eval import scripted_judges as sj
from eval.benchmarks import BENCHMARKS, Source, load_benchmark, locate
from eval.config import BenchmarkConfig, EvalConfig, check_config
from eval.report import describe_selection
from eval.runner import run_eval
from eval.selection import allocate, sample_strategy, select_units
from model.config import REPO_ROOT, load_config


def units_of(items, unit=lambda x: x[0]):
    return {unit(x) for x in items}


def mixed(n_per: dict[str, int], size: int = 2) -> list[tuple[str, str, int]]:
    """(unit, stratum, item) rows: n_per[stratum] units of `size` items each, strata interleaved."""
    top = max(n_per.values())
    return [(f"{s}{k}", s, j) for k in range(top) for s, n in n_per.items() if k < n for j in range(size)]


def pick(items, limit, strategy="stratified", seed=0, **kw):
    return select_units(items, lambda r: r[0], limit, strategy, lambda r: r[1], seed, salt="t", **kw)


# --------------------------------------------------------------------------- allocation


def test_allocation_is_proportional_with_largest_remainder():
    assert allocate({"a": 50, "b": 30, "c": 20}, 10) == {"a": 5, "b": 3, "c": 2}
    assert allocate({"a": 50, "b": 30, "c": 20}, 7) == {"a": 4, "b": 2, "c": 1}  # 3.5 2.1 1.4: a's .5 wins
    assert allocate({"a": 5, "b": 3}, 100) == {"a": 5, "b": 3}  # a limit past the size takes everything


def test_every_stratum_gets_one_when_the_limit_allows():
    assert allocate({"a": 97, "b": 2, "c": 1}, 5) == {"a": 3, "b": 1, "c": 1}
    assert allocate({"a": 97, "b": 2, "c": 1}, 3) == {"a": 1, "b": 1, "c": 1}
    two = [allocate({"a": 10, "b": 10, "c": 10}, 2, seed=s) for s in range(20)]
    assert all(sum(a.values()) == 2 and max(a.values()) == 1 for a in two)  # fewer units than strata
    assert len({tuple(sorted(a.items())) for a in two}) > 1  # which strata: the seed's tie-break


def test_allocation_invariants_on_random_sizes():
    rng = random.Random(7)
    for _ in range(300):
        sizes = {f"s{k}": rng.randint(1, 60) for k in range(rng.randint(1, 9))}
        total = sum(sizes.values())
        limit = rng.randint(1, total + 3)
        a = allocate(sizes, limit, seed=rng.randint(0, 9))
        assert sum(a.values()) == min(limit, total)
        assert all(0 <= a[s] <= sizes[s] for s in sizes)
        if limit >= len(sizes):
            assert min(a.values()) >= 1
        shares = {s: Fraction(min(limit, total) * n, total) for s, n in sizes.items()}
        if all(q >= 1 for q in shares.values()):  # no stratum needed lifting: plain largest remainder
            assert all(int(q) <= a[s] <= int(q) + 1 for s, q in shares.items())
        shuffled = dict(sorted(sizes.items(), key=lambda kv: rng.random()))
        assert allocate(shuffled, limit, seed=3) == allocate(sizes, limit, seed=3)  # order of strata


# --------------------------------------------------------------------------- drawing units


def test_stratified_draw_proportions_and_whole_units():
    items = mixed({"big": 60, "mid": 30, "small": 10}, size=3)
    sel = pick(items, 10)
    assert sel.strategy == "stratified" and sel.units == 10 and sel.available == 100
    assert sel.strata == {"big": (6, 60), "mid": (3, 30), "small": (1, 10)}
    assert Counter(r[1] for r in sel.items) == {"big": 18, "mid": 9, "small": 3}  # 3 items per unit, never split
    positions = [items.index(r) for r in sel.items]
    assert positions == sorted(positions)  # load order kept


def test_stratified_draw_is_seeded_and_independent_of_the_input_order():
    items = mixed({"a": 40, "b": 25, "c": 5})
    base = units_of(pick(items, 12, seed=1).items)
    assert units_of(pick(items, 12, seed=1).items) == base
    assert units_of(pick(items, 12, seed=2).items) != base
    for k in range(3):
        shuffled = list(items)
        random.Random(k).shuffle(shuffled)
        assert units_of(pick(shuffled, 12, seed=1).items) == base
    assert units_of(pick(items[::-1], 12, seed=1).items) == base
    assert pick(items, 12, seed=1).strata == pick(items[::-1], 12, seed=1).strata


def test_random_is_the_old_seeded_draw_and_first_the_old_default():
    items = [(f"u{k}", "all", j) for k in range(20) for j in range(3)]
    # the pre-stratification `sample: true` draw, written out: rng.sample over unit indices in load order
    keys = list(dict.fromkeys(r[0] for r in items))
    old = random.Random("1\x00x\x00subsample").sample(range(len(keys)), 5)
    expected = [r for r in items if r[0] in {keys[i] for i in old}]
    got = select_units(items, lambda r: r[0], 5, "random", seed=1, salt="x")
    assert got.items == expected and got.strategy == "random"
    assert select_units(items, lambda r: r[0], 2, "first").items == items[:6]
    assert select_units(items, lambda r: r[0], None).items == items
    assert select_units(items, lambda r: r[0], None).strategy == "all"


def test_limit_per_stratum_counts_units_in_each():
    items = [("a", k) for k in range(5)] + [("b", k) for k in range(5)]
    sel = select_units(items, lambda x: f"{x[0]}{x[1]}", 2, "first", lambda x: x[0], per_stratum=True)
    assert sel.items == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    strat = select_units(items, lambda x: f"{x[0]}{x[1]}", 2, "stratified", lambda x: x[0], per_stratum=True)
    assert strat.strata == {"a": (2, 5), "b": (2, 5)}
    assert BENCHMARKS["verifiable"].limit_per_stratum and not BENCHMARKS["judgebench"].limit_per_stratum


def test_judgebench_small_run_covers_both_files_and_every_category():
    shared_data("judgebench", "judgebench_gpt-4o-2024-05-13.jsonl")
    bench = BENCHMARKS["judgebench"]
    where = locate(bench, None, SHARED_DATA)
    tasks = load_benchmark(bench, Source(where, {}, SHARED_DATA, 0, None, None))
    first = select_units(tasks, bench.unit, 20, "first", bench.stratum, salt="judgebench")
    assert len({(t.meta["file"], t.meta["subset"]) for t in first.items}) == 1  # the old default: one stratum
    sel = select_units(tasks, bench.unit, 62, "stratified", bench.stratum, salt="judgebench")
    assert len(sel.strata) == 8 and all(p >= 1 for p, _ in sel.strata.values())
    for picked, available in sel.strata.values():
        assert abs(picked - available / 10) < 1  # 10% of each stratum, rounded
    assert {t.meta["file"] for t in sel.items} == {"gpt-4o-2024-05-13", "claude-3-5-sonnet-20240620"}
    shuffled = list(tasks)
    random.Random(0).shuffle(shuffled)
    again = select_units(shuffled, bench.unit, 62, "stratified", bench.stratum, salt="judgebench")
    assert {t.id for t in again.items} == {t.id for t in sel.items}


def test_every_benchmark_names_its_strata():
    for name, bench in BENCHMARKS.items():
        assert bench.stratum is not None and bench.strata, name


# --------------------------------------------------------------------------- config values


@pytest.mark.parametrize(
    "value, strategy",
    [("stratified", "stratified"), ("random", "random"), ("first", "first"), (True, "random"),
     (False, "first"), ("True", "random"), ("false", "first")],
)
def test_sample_values(value, strategy):
    assert sample_strategy(value) == strategy


def test_sample_in_yaml_and_overrides(tmp_path):
    def loaded(text: str, *overrides: str) -> str:
        f = tmp_path / "c.yaml"
        f.write_text(text)
        cfg = load_config(EvalConfig, f, list(overrides))
        check_config(cfg)
        return cfg.sample

    assert loaded("limit: 5\n") == "stratified"
    assert loaded("sample: true\n") == "random" and loaded("sample: false\n") == "first"
    assert loaded("sample: first\n") == "first" and loaded("sample: true\n", "sample=stratified") == "stratified"
    with pytest.raises(ValueError, match="sample must be one of stratified, random, first"):
        loaded("sample: sometimes\n")


def test_every_eval_config_has_a_valid_sample():
    for path in sorted((REPO_ROOT / "configs" / "eval").glob("*.yaml")):
        cfg = load_config(EvalConfig, path, [])
        check_config(cfg)
        assert cfg.sample in ("stratified", "random", "first"), path
    quick = load_config(EvalConfig, REPO_ROOT / "configs/eval/quickstart.yaml", [])
    assert quick.sample == "stratified"  # every held-out source is represented, however small the limit


def test_cli_sample_flag(tmp_path):
    from eval.run import build_parser, config_from_args

    args = build_parser().parse_args(["--input", "x.jsonl", "--limit", "3", "--sample", "first"])
    assert config_from_args(args).sample == "first"
    assert config_from_args(build_parser().parse_args(["--input", "x.jsonl"])).sample == "stratified"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--sample", "sometimes"])


# --------------------------------------------------------------------------- the report


def write_sources(path: Path) -> Path:
    rows = [{"id": f"{src}{k}", "prompt": f"q{k}", "chosen": "right", "rejected": "wrong", "source": src}
            for src, n in (("math", 6), ("code", 3), ("chat", 1)) for k in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_report_states_how_the_subset_was_drawn(tmp_path):
    f = write_sources(tmp_path / "pairs.jsonl")
    out = run_eval(
        EvalConfig(output_dir=str(tmp_path / "r"), benchmarks=[BenchmarkConfig("generic", path=str(f))],
                   limit=5, seed=3, settings=["baseline"], data_dir=str(SHARED_DATA), progress=False, plots=False),
        backend=sj.backend(sj.oracle),
    )
    m = json.loads((out / "metrics.json").read_text())
    sel = m["benchmarks"]["generic:pairs"]["selection"]
    assert (sel["strategy"], sel["seed"], sel["limit"], sel["units"], sel["available"]) == ("stratified", 3, 5, 5, 10)
    assert sel["strata"] == {"chat": {"units": 1, "available": 1}, "code": {"units": 1, "available": 3},
                             "math": {"units": 3, "available": 6}}
    assert sel["strata_by"] == "source / subset" and m["run"]["sample"] == "stratified"
    report = (out / "report.md").read_text()
    line = ("- **generic:pairs**: stratified sample (seed 3) in proportion to source / subset: 5 of 10 units; "
            "per source / subset: chat 1/1, code 1/3, math 3/6")
    assert line in report.split("## Headline scores")[0]
    first = run_eval(
        EvalConfig(output_dir=str(tmp_path / "f"), benchmarks=[BenchmarkConfig("generic", path=str(f))],
                   limit=5, sample="first", settings=["baseline"], data_dir=str(SHARED_DATA), progress=False,
                   plots=False),
        backend=sj.backend(sj.oracle),
    )
    assert "the first units in load order (not a sample): 5 of 10 units; per source / subset: chat 0/1, code 0/3, " \
           "math 5/6" in (first / "report.md").read_text()


def test_describe_selection_per_stratum_and_all():
    per = {"strategy": "random", "seed": 1, "limit": 3, "limit_per_stratum": True, "units": 5, "available": 20,
           "strata_by": "source", "strata": {"gsm8k": {"units": 3, "available": 18},
                                             "humaneval": {"units": 2, "available": 2}}}
    assert describe_selection(per) == ("at most 3 per source, a seeded random sample (seed 1) of each: 5 of 20 "
                                       "units; per source: gsm8k 3/18, humaneval 2/2")
    assert describe_selection({**per, "strategy": "all", "units": 20, "strata": {}}).startswith("all units: 20 of 20")
