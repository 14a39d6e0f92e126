"""scripts/bench_grpo_gain.py: the paired interval, the report from known predictions, and the whole
pipeline (eval -> train.rl -> eval -> report, then a resumed rerun) on a tiny model."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from eval.metrics.common import paired_bootstrap_ci

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "bench_grpo_gain.py"


def test_paired_bootstrap_ci_counts_only_common_pairs():
    # 40 common pairs: 10 turned right, none turned wrong, 30 unchanged (right or wrong in both)
    before = {f"p{i}": float(i >= 25) for i in range(40)} | {"only_before": 0.0}
    after = {f"p{i}": float(i < 10 or i >= 25) for i in range(40)} | {"only_after": 1.0}
    d = paired_bootstrap_ci(after, before, seed=3)
    assert d["pairs"] == 40 and d["margin"] == pytest.approx(0.25)
    assert (d["gained"], d["lost"]) == (10, 0)
    lo, hi = d["ci95"]
    assert 0.0 < lo < 0.25 < hi < 0.5  # no pair was lost: only a resample without gains reaches 0 (p = 0.75^40)
    assert paired_bootstrap_ci(after, before, seed=3) == d  # seeded
    assert paired_bootstrap_ci({"x": 1.0}, {"y": 0.0})["margin"] is None


def _row(tid, order, correct, setting="skill_fair"):
    choice = (0 if correct else 1)
    return {"task_id": tid, "source": "s", "benchmark": "heldout", "kind": "pairwise", "setting": setting,
            "order": order, "verdict": "A" if order[0] == choice else "B", "choice": choice, "parse_ok": True,
            "correct": correct, "gold": 0, "tool_calls": 1, "invalid_tool_calls": 0}


def _predictions(folder: Path, right_pairs: set[str]) -> None:
    folder.mkdir(parents=True)
    rows = [_row(t, o, t in right_pairs) for t in ("p1", "p2", "p3", "p4") for o in ([0, 1], [1, 0])]
    rows.append(_row("p1", [0, 1], False, setting="skill_operational"))  # another setting: not counted
    (folder / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_report_from_known_predictions(tmp_path):
    _predictions(tmp_path / "eval_sft", {"p1", "p2"})
    _predictions(tmp_path / "eval_rl", {"p1", "p2", "p3"})
    (tmp_path / "rl").mkdir()
    (tmp_path / "rl" / "metrics.jsonl").write_text(json.dumps({"step": 0, "eval/accuracy": 0.5}) + "\n" +
                                                    json.dumps({"step": 1, "reward": 0.25, "accuracy": 0.5,
                                                               "informative_group_rate": 0.5}) + "\n")
    res = subprocess.run([sys.executable, str(SCRIPT), "--report-only", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    gain = json.loads((tmp_path / "gain.json").read_text())
    assert gain["sft"]["pair_accuracy"] == 0.5 and gain["rl"]["pair_accuracy"] == 0.75
    assert gain["difference"]["margin"] == pytest.approx(0.25)
    assert (gain["difference"]["gained"], gain["difference"]["lost"], gain["difference"]["pairs"]) == (1, 0, 4)
    assert [s["step"] for s in gain["training"]] == [1]  # the held-out eval line is not a training step
    assert "| 1 | 0.250 | 50.0 | - | - | 50.0 | 0.00 | 0.00 | 0 | 0 |" in res.stdout  # the training table
    assert "GRPO - SFT: +25.0 points" in res.stdout and (tmp_path / "report.md").read_text() == res.stdout[:-1]


def test_report_refuses_evals_of_different_pairs(tmp_path):
    _predictions(tmp_path / "eval_sft", set())
    (tmp_path / "eval_rl").mkdir()
    (tmp_path / "eval_rl" / "predictions.jsonl").write_text(json.dumps(_row("other", [0, 1], True)) + "\n")
    res = subprocess.run([sys.executable, str(SCRIPT), "--report-only", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "different pairs" in res.stderr


@pytest.mark.slow
def test_the_pipeline_runs_and_resumes_on_a_tiny_model(tmp_path, tiny_model_dir):
    from data.builders.synthetic import generate_synthetic

    tasks = generate_synthetic(8, seed=0, kinds=("arithmetic",))
    data = tmp_path / "data"
    data.mkdir()
    (data / "heldout.jsonl").write_text("".join(json.dumps(t.to_dict()) + "\n" for t in tasks[:2]))
    (data / "rl.jsonl").write_text("".join(json.dumps({"task": t.to_dict(), "setting": s}) + "\n"
                                           for t in tasks[2:] for s in ("skill_fair", "skill_operational")))
    out = tmp_path / "out"
    cmd = [sys.executable, str(SCRIPT), "--sft", str(tiny_model_dir), "--data", str(data), "--out", str(out),
           "--rl", "max_steps=1", "tasks_per_step=2", "group_size=2", "micro_batch_size=2", "rollout_batch_size=4",
           "agent.max_new_tokens=8", "agent.max_steps=2", "precision=fp32", "save_every=0", "trainable_layers=0",
           "--eval", "agent.max_new_tokens=8", "agent.max_steps=2", "backend.batch_size=4"]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    pool = [json.loads(line) for line in (out / "rl_skill_fair.jsonl").read_text().splitlines()]
    assert len(pool) == 6 and {r["setting"] for r in pool} == {"skill_fair"}
    gain = json.loads((out / "gain.json").read_text())
    assert gain["setting"] == "skill_fair" and gain["difference"]["pairs"] == 2
    assert gain["sft"]["judgments"] == gain["rl"]["judgments"] == 4  # 2 pairs x 2 orders each
    assert [s["step"] for s in gain["training"]] == [1]
    for stage in ("eval_sft", "rl", "eval_rl"):
        assert (out / stage / "config.yaml").exists()
    # the GRPO judge is saved with how it was trained to judge (rl_gain.yaml's agent, the RL setting)
    saved = json.loads((out / "rl" / "final_model" / "judge_config.json").read_text())
    assert (saved["settings"], saved["prompt_style"], saved["max_steps"]) == (["skill_fair"], "compact", 2)
    assert json.loads((out / "rl" / "checkpoint-1" / "judge_config.json").read_text()) == saved
    preds = {s: (out / s / "predictions.jsonl").read_text() for s in ("eval_sft", "eval_rl")}
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "-m train.rl" not in again.stdout  # the finished GRPO run is reused
    assert {s: (out / s / "predictions.jsonl").read_text() for s in preds} == preds  # nothing judged twice
    assert json.loads((out / "gain.json").read_text()) == gain
