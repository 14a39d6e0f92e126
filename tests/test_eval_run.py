"""The eval runner end to end with scripted judges whose scores follow from the metric definitions,
resume after a crash or a kill, the CLI, and (slow) the embedded model producing every report file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, SHARED_DATA, shared_data
from test_eval_benchmarks import write_rb2

from eval import scripted_judges as sj
from eval.config import BenchmarkConfig, EvalConfig
from eval.predictions import prediction_key, read_predictions
from eval.runner import run_eval
from model.backends.base import Backend

REPORT_FILES = (
    "config.yaml",
    "predictions.jsonl",
    "metrics.json",
    "report.md",
    "headlines.png",
    "position_bias.png",
)


def config(out: Path, *benchmarks: BenchmarkConfig, **kw) -> EvalConfig:
    kw.setdefault("settings", ["baseline"])
    kw.setdefault("data_dir", str(SHARED_DATA))
    return EvalConfig(
        output_dir=str(out), benchmarks=list(benchmarks), progress=False, plots=kw.pop("plots", False), **kw
    )


def metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def cell(out: Path, label: str, setting: str = "baseline") -> dict:
    return metrics(out)["results"][label][setting]


# --------------------------------------------------------------------------- known scores


def test_always_a_on_judgebench_scores_what_the_definitions_predict(tmp_path):
    shared_data("judgebench", "judgebench_claude-3-5-sonnet-20240620.jsonl")
    out = run_eval(
        config(tmp_path / "a", BenchmarkConfig("judgebench"), settings=["baseline", "skill_fair"]),
        backend=sj.backend(sj.always("A")),
    )
    for setting in ("baseline", "skill_fair"):
        c = cell(out, "judgebench", setting)
        # every pair: +1 in the order (chosen, rejected), -1 in the swapped one -> sum 0 -> not correct
        assert c["headline"] == 0.0 and c["metrics"]["pairs"] == 620 and c["metrics"]["tied"] == 620
        assert c["metrics"]["single_order_accuracy"] == 0.5
        e = c["extra"]
        assert e["judgments"] == 1240 and e["parse_failure_rate"] == 0.0
        assert e["position_a_rate"] == 1.0 and e["order_consistency"] == 0.0
    assert set(cell(out, "judgebench")["metrics"]["per_file"]) == {
        "gpt-4o-2024-05-13",
        "claude-3-5-sonnet-20240620",
    }


def test_always_a_and_oracle_on_rmbench(tmp_path):
    shared_data("rmbench", "chat_filtered.json")
    rm = BenchmarkConfig("rmbench", limit=12)
    out = run_eval(config(tmp_path / "a", rm, sample=True), backend=sj.backend(sj.always("A")))
    c = cell(out, "rmbench")
    assert c["headline"] == 0.0  # chosen wins only the order where it is A: never both
    assert c["metrics"]["single_order"]["headline"] == 0.5 and c["metrics"]["position_a_rate"] == 1.0
    assert c["extra"]["judgments"] == 12 * 18 and c["metrics"]["order_mode"] == "both_orders"
    out = run_eval(config(tmp_path / "o", rm, sample=True), backend=sj.backend(sj.oracle))
    c = cell(out, "rmbench")
    assert c["headline"] == 1.0 and c["extra"]["order_consistency"] == 1.0
    assert c["extra"]["position_a_rate"] == 0.5


def test_rewardbench2_file_always_a_and_oracle(tmp_path):
    from data.sources.rewardbench2 import chosen_slot

    rb2 = BenchmarkConfig("rewardbench2", path=str(write_rb2(tmp_path / "rb2.jsonl")))
    out = run_eval(config(tmp_path / "a", rb2), backend=sj.backend(sj.always("A", rating=5)))
    c = cell(out, "rewardbench2")
    expected = [float(chosen_slot(0, str(k)) == 0) for k in range(3)]
    assert c["metrics"]["per_subset"]["Ties"]["score"] == 0.0  # all ratings equal: nothing accurate
    assert c["headline"] == pytest.approx((sum(expected) + 0.0) / 4)
    assert c["extra"]["judgments"] == 3 + 8  # best-of-4 judged once; Ties rated one by one
    out = run_eval(config(tmp_path / "o", rb2), backend=sj.backend(sj.oracle))
    c = cell(out, "rewardbench2")
    assert c["metrics"]["per_subset"]["Ties"]["score"] == pytest.approx(
        1.01
    )  # 0.3+0.3+0.2+0.2+0.01*tanh(inf)
    assert c["headline"] == pytest.approx((3 + 1.01) / 4)


def test_unparseable_rb2_rows_score_a_quarter(tmp_path):
    rb2 = BenchmarkConfig(
        "rewardbench2", path=str(write_rb2(tmp_path / "rb2.jsonl")), options={"subsets": ["Math"]}
    )
    out = run_eval(config(tmp_path / "u", rb2), backend=sj.backend(sj.unparseable))
    c = cell(out, "rewardbench2")
    assert (
        c["headline"] == 0.25
        and c["metrics"]["invalid_rate"] == 1.0
        and c["extra"]["parse_failure_rate"] == 1.0
    )


def test_generic_input_oracle_and_report(tmp_path):
    f = tmp_path / "pairs.jsonl"
    f.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"p{k}",
                    "prompt": f"q{k}",
                    "chosen": "right",
                    "rejected": "wrong",
                    "subset": "s1" if k < 3 else "s2",
                }
            )
            + "\n"
            for k in range(5)
        )
    )
    out = run_eval(
        config(
            tmp_path / "g",
            BenchmarkConfig("generic", path=str(f)),
            settings=["baseline", "skill_operational"],
            plots=True,
        ),
        backend=sj.backend(sj.oracle),
    )
    for name in REPORT_FILES:
        assert (out / name).exists(), name
    c = cell(out, "generic:pairs", "skill_operational")
    assert c["headline"] == 1.0 and set(c["metrics"]["per_subset"]) == {"s1", "s2"}
    report = (out / "report.md").read_text()
    assert "published, different protocols" in report and "Qwen3.5-27B" in report
    assert "## Judge behaviour" in report and "generic:pairs" in report
    rows = read_predictions(out)
    assert len(rows) == 2 * 5 * 2 and {r["benchmark"] for r in rows} == {"generic:pairs"}


def test_skipped_benchmark_is_reported(tmp_path):
    f = tmp_path / "pairs.jsonl"
    f.write_text(json.dumps({"id": "p", "prompt": "q", "chosen": "a", "rejected": "b"}) + "\n")
    out = run_eval(
        config(
            tmp_path / "s",
            BenchmarkConfig("generic", path=str(f)),
            BenchmarkConfig("rewardbench2"),
            data_dir=str(tmp_path),
        ),
        backend=sj.backend(sj.always("B")),
    )
    m = metrics(out)
    assert "rewardbench2" in m["skipped"] and "rewardbench2" not in m["results"]
    assert "Skipped" in (out / "report.md").read_text()


# --------------------------------------------------------------------------- resume


class CrashingBackend(Backend):
    """Delegates to a scripted policy, then raises on its (k+1)-th call (a crash mid-run)."""

    def __init__(self, inner: Backend, crash_after: int):
        self.inner, self.crash_after, self.calls = inner, crash_after, 0

    def generate(self, requests, sampling):
        self.calls += 1
        if self.calls > self.crash_after:
            raise RuntimeError("simulated crash")
        return self.inner.generate(requests, sampling)


def _scores(out: Path) -> dict:
    return {
        lab: {s: c["metrics"] for s, c in cells.items()} for lab, cells in metrics(out)["results"].items()
    }


def _assert_complete(out: Path, expected: int) -> None:
    rows = read_predictions(out)
    keys = [prediction_key(r) for r in rows]
    assert len(keys) == len(set(keys)) == expected


def test_resume_after_crash_loses_and_duplicates_nothing(tmp_path):
    shared_data("judgebench", "judgebench_claude-3-5-sonnet-20240620.jsonl")
    bench = [BenchmarkConfig("judgebench", limit=12), BenchmarkConfig("rmbench", limit=2)]
    kw = dict(settings=["baseline", "skill_fair"], chunk_size=4)
    clean = run_eval(config(tmp_path / "clean", *bench, **kw), backend=sj.backend(sj.prefer_longer))
    out = tmp_path / "resumed"
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_eval(
            config(out, *bench, **kw), backend=CrashingBackend(sj.backend(sj.prefer_longer), crash_after=5)
        )
    partial = len(read_predictions(out))
    assert 0 < partial < 2 * (24 + 36)
    run_eval(config(out, *bench, **kw), backend=sj.backend(sj.prefer_longer))
    _assert_complete(out, 2 * (24 + 36))
    assert _scores(out) == _scores(clean)


def test_resume_after_kill_with_a_torn_line(tmp_path):
    shared_data("judgebench", "judgebench_claude-3-5-sonnet-20240620.jsonl")
    out = tmp_path / "killed"
    code = (
        "import time\n"
        "from eval import scripted_judges as sj\n"
        "from eval.config import BenchmarkConfig, EvalConfig\n"
        "from eval.runner import run_eval\n"
        "def slow(req):\n"
        "    time.sleep(0.05)\n"
        "    return sj.prefer_longer(req)\n"
        f"cfg = EvalConfig(output_dir={str(out)!r}, benchmarks=[BenchmarkConfig('judgebench', limit=40)], "
        f"data_dir={str(SHARED_DATA)!r}, progress=False, plots=False, chunk_size=2)\n"
        "run_eval(cfg, backend=sj.backend(slow))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    pred = out / "predictions.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not pred.exists() or pred.read_text().count("\n") < 10):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = pred.read_text().count("\n")
    assert 10 <= n_before < 80, "the run finished before it could be killed"
    with open(pred, "a") as f:
        f.write('{"task_id": "torn')  # a write cut in the middle
    cfg = config(out, BenchmarkConfig("judgebench", limit=40), chunk_size=2)
    run_eval(cfg, backend=sj.backend(sj.prefer_longer))
    _assert_complete(out, 80)
    clean = run_eval(
        config(tmp_path / "clean", BenchmarkConfig("judgebench", limit=40)),
        backend=sj.backend(sj.prefer_longer),
    )
    assert _scores(out) == _scores(clean)


def test_resume_refuses_another_judge(tmp_path):
    f = tmp_path / "pairs.jsonl"
    f.write_text(json.dumps({"id": "p", "prompt": "q", "chosen": "a", "rejected": "b"}) + "\n")
    b = BenchmarkConfig("generic", path=str(f))
    run_eval(config(tmp_path / "r", b), backend=sj.backend(sj.oracle))
    with pytest.raises(ValueError, match="model"):
        run_eval(config(tmp_path / "r", b, model="another-model"), backend=sj.backend(sj.oracle))
    # adding a setting or a benchmark to the same judge is fine, and judges only what is new
    calls = []
    backend = sj.backend(lambda req: calls.append(1) or sj.oracle(req))
    run_eval(config(tmp_path / "r", b, settings=["baseline", "skill_fair"]), backend=backend)
    assert len(calls) == 2


# --------------------------------------------------------------------------- CLI


def test_cli_flags_map_to_the_config(tmp_path):
    from eval.run import build_parser, config_from_args

    args = build_parser().parse_args(
        [
            "--input",
            "x.jsonl",
            "--setting",
            "all",
            "--seed",
            "3",
            "--limit",
            "4",
            "--output",
            str(tmp_path),
            "--model",
            "m",
            "agent.max_steps=2",
        ]
    )
    cfg = config_from_args(args)
    assert [(b.name, b.path) for b in cfg.benchmarks] == [("generic", "x.jsonl")]
    assert cfg.settings == ["baseline", "baseline_operational", "skill_fair", "skill_operational"]
    assert (cfg.seed, cfg.agent.seed, cfg.limit, cfg.model, cfg.agent.max_steps) == (3, 3, 4, "m", 2)
    cfg = config_from_args(
        build_parser().parse_args(
            ["--config", str(REPO / "configs/eval/suite.yaml"), "--benchmark", "judgebench,rmbench"]
        )
    )
    assert [b.name for b in cfg.benchmarks] == ["judgebench", "rmbench"] and len(cfg.settings) == 4


def test_cli_run_with_a_scripted_backend(tmp_path, monkeypatch, capsys):
    shared_data("judgebench", "judgebench_claude-3-5-sonnet-20240620.jsonl")
    import eval.runner as runner
    from eval.run import main

    monkeypatch.setattr(runner, "make_backend_for", lambda cfg: sj.backend(sj.always("A")))
    rc = main(
        [
            "--benchmark",
            "judgebench",
            "--data-dir",
            str(SHARED_DATA / "judgebench"),
            "--limit",
            "3",
            "--setting",
            "baseline",
            "--output",
            str(tmp_path / "cli"),
            "--no-progress",
            "--no-plots",
        ]
    )
    assert rc == 0
    assert "judgebench" in capsys.readouterr().out
    assert cell(tmp_path / "cli", "judgebench")["extra"]["judgments"] == 6
    assert main(["--benchmark", "nope", "--output", str(tmp_path / "x")]) == 2


def test_backend_is_built_lazily_from_the_config():
    from eval.runner import make_backend_for
    from model.backends import BackendConfig

    cfg = EvalConfig(backend=BackendConfig(kind="openai", base_urls=["http://127.0.0.1:1/v1,http://127.0.0.1:2/v1"],
                                           tool_mode="native"), model="served")
    lazy = make_backend_for(cfg)
    assert lazy.native_tools and lazy._inner is None and lazy.describe() == "openai:served"
    assert cfg.backend.urls() == ["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"]
    with pytest.raises(ValueError, match="base_urls"):
        make_backend_for(EvalConfig(backend=BackendConfig(kind="openai")))
    with pytest.raises(ValueError, match="engine"):
        BackendConfig(engine="fast").validate()


def test_help_runs():
    out = subprocess.run(
        [sys.executable, "-m", "eval.run", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "--benchmark" in out.stdout and "--input" in out.stdout


# --------------------------------------------------------------------------- the real model (slow)


@pytest.mark.slow
def test_embedded_model_end_to_end_on_10_judgebench_pairs(tmp_path):
    shared_data("judgebench", "judgebench_claude-3-5-sonnet-20240620.jsonl")
    from eval.run import main

    out = tmp_path / "e2e"
    argv = ["--benchmark", "judgebench", "--data-dir", str(SHARED_DATA), "--model", "smollm2-135m",
            "--setting", "baseline", "--limit", "10", "--max-new-tokens", "32", "--output", str(out),
            "--no-progress", "agent.max_candidate_chars=600"]
    rc = main(argv)
    assert rc == 0
    for name in REPORT_FILES:
        assert (out / name).exists(), name
    c = cell(out, "judgebench")
    assert c["metrics"]["pairs"] == 10 and c["extra"]["judgments"] == 20
    assert c["extra"]["generated_tokens"] > 0 and c["extra"]["judgments_per_s"] > 0
    assert all(r["model"] == "smollm2-135m" for r in read_predictions(out))
    # a rerun resumes: nothing is judged again, the scores are identical
    before = metrics(out)["results"]
    assert main(argv) == 0
    assert len(read_predictions(out)) == 20
    assert (
        metrics(out)["results"]["judgebench"]["baseline"]["metrics"]
        == before["judgebench"]["baseline"]["metrics"]
    )
