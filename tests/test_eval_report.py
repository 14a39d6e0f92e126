"""Reports and comparisons of run folders, every config under configs/eval/, and the bench script."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from eval import scripted_judges as sj
from eval.config import BenchmarkConfig, EvalConfig, check_config
from eval.runner import run_eval
from model.config import load_config

CONFIGS = sorted((REPO / "configs" / "eval").glob("*.yaml"))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    f = root / "pairs.jsonl"
    f.write_text(
        "".join(
            json.dumps(
                {"id": f"p{k}", "prompt": f"q{k}", "chosen": "right answer", "rejected": "no", "subset": "s"}
            )
            + "\n"
            for k in range(6)
        )
    )
    outs = []
    for name, policy in (("always-a", sj.always("A")), ("oracle", sj.oracle)):
        cfg = EvalConfig(
            output_dir=str(root / name),
            model=name,
            progress=False,
            plots=False,
            settings=["baseline", "skill_fair"],
            benchmarks=[BenchmarkConfig("generic", path=str(f), label="mine")],
        )
        outs.append(run_eval(cfg, backend=sj.backend(policy)))
    return outs


def test_compare_two_runs(two_runs, tmp_path):
    from eval.compare import main

    out = tmp_path / "cmp"
    assert main([str(d) for d in two_runs] + ["--output", str(out)]) == 0
    for name in ("compare.md", "compare.json", "compare.png"):
        assert (out / name).exists()
    data = json.loads((out / "compare.json").read_text())
    table = {(r["run"], r["setting"]): r for r in data["rows"]}
    assert set(table) == {(m, s) for m in ("always-a", "oracle") for s in ("baseline", "skill_fair")}
    assert table[("oracle", "baseline")]["headlines"]["mine"] == 1.0
    assert table[("always-a", "skill_fair")]["headlines"]["mine"] == 0.0
    assert table[("always-a", "baseline")]["position_a_rate"] == 1.0
    assert "| oracle | baseline | 100.0 |" in (out / "compare.md").read_text()


def test_compare_missing_run_is_an_error(tmp_path):
    from eval.compare import main

    assert main([str(tmp_path / "nope"), "--output", str(tmp_path / "c")]) == 2


def test_report_cli_rewrites_report_and_plots(two_runs):
    from eval.report import main

    run = two_runs[1]
    (run / "report.md").unlink()
    assert main([str(run)]) == 0
    text = (run / "report.md").read_text()
    assert "## What was measured" in text and "## Headline scores" in text
    assert (run / "headlines.png").exists() and (run / "position_bias.png").exists()
    m = json.loads((run / "metrics.json").read_text())
    extra = m["results"]["mine"]["baseline"]["extra"]
    for key in (
        "parse_failure_rate",
        "position_a_rate",
        "order_consistency",
        "tool_calls_per_judgment",
        "resources_per_judgment",
        "generated_tokens",
        "judgments_per_s",
    ):
        assert key in extra
    assert all(row["published"] for row in m["published"])


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_eval_config_loads(path):
    cfg = load_config(EvalConfig, path)
    check_config(cfg)
    assert cfg.benchmarks
    # the quickstart judges each trained judge in its own protocol's settings (judge_config.json)
    assert cfg.settings or path.name == "quickstart.yaml"


def test_suite_config_is_the_three_headline_benchmarks_in_the_2x2_settings():
    cfg = load_config(EvalConfig, REPO / "configs" / "eval" / "suite.yaml")
    assert [b.name for b in cfg.benchmarks] == ["rewardbench2", "rmbench", "judgebench"]
    assert cfg.settings == ["baseline", "baseline_operational", "skill_fair", "skill_operational"]


def test_unknown_config_key_is_an_error(tmp_path):
    from model.config import ConfigError

    bad = tmp_path / "bad.yaml"
    bad.write_text("benchmarks:\n  - name: judgebench\n    limt: 3\n")
    with pytest.raises(ConfigError, match="limt"):
        load_config(EvalConfig, bad)


@pytest.mark.slow
def test_bench_judge_generate_mode_runs_on_a_tiny_model(tiny_model_dir, tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "scripts/bench_judge.py",
            "--mode",
            "generate",
            "--model",
            str(tiny_model_dir),
            "--weights",
            "real",
            "--batch",
            "3",
            "--prompt-tokens",
            "24",
            "--new-tokens",
            "4",
            "--naive-prompts",
            "2",
            "--json",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| naive model.generate per prompt |" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    assert rows[0]["generated_tokens"] > 0 and rows[1]["requests"] == 3
