"""GRPO's held-out gain: the skill-SFT judge against the same judge after GRPO with tool-executing
rollouts, on the same held-out pairs, in the same setting, with the same judging protocol.

    python scripts/bench_grpo_gain.py                      # quickstart judge, fair setting, 12 GRPO steps
    python scripts/bench_grpo_gain.py --rl max_steps=32 lr=5e-5 --out outputs/grpo_gain_32

Stages, each a project CLI (its resolved config saved beside its output); a rerun resumes a killed
stage, keeps the judgments already made and reuses a finished GRPO run (other GRPO settings: a new --out):
  1. OUT/rl_<setting>.jsonl: the rows of DATA/rl.jsonl (data.render) in the measured setting
  2. eval.run of the SFT judge on every held-out pair of DATA/heldout.jsonl, both orders -> OUT/eval_sft
  3. train.rl from the SFT judge on those rows (configs/train/rl_gain.yaml)             -> OUT/rl
  4. eval.run of OUT/rl/final_model, same pairs, setting and protocol                    -> OUT/eval_rl
  5. OUT/report.md and OUT/gain.json: pair accuracy of each (bootstrap 95% CI), the paired difference
     (paired bootstrap CI, pairs gained and lost), judge behaviour, the GRPO training curve; printed.
A pair counts as right only when its vote sum over both orders is positive (JudgeBench's rule).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from eval.metrics.common import bootstrap_ci, paired_bootstrap_ci  # noqa: E402
from model.judgment_stats import behaviour, pair_outcomes  # noqa: E402
from model.protocol import SKILL_FAIR, get_setting  # noqa: E402

DEFAULT_HELDOUT = "outputs/quickstart/data/heldout.jsonl"  # configs/eval/quickstart.yaml's benchmark path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sft", default="outputs/quickstart/export", help="the skill-SFT judge (a model spec)")
    p.add_argument("--data", default="outputs/quickstart/data",
                   help="data.generate / data.render output: rl.jsonl, heldout.jsonl")
    p.add_argument("--out", default="outputs/grpo_gain")
    p.add_argument("--setting", default=SKILL_FAIR, help="the judge setting of the rollouts and of both evals")
    p.add_argument("--rl", nargs="*", default=[], metavar="KEY=VALUE", help="overrides of configs/train/rl_gain.yaml")
    p.add_argument("--eval", nargs="*", default=[], metavar="KEY=VALUE",
                   help="overrides of configs/eval/quickstart.yaml, applied to both evals")
    p.add_argument("--report-only", action="store_true", help="only stage 5, from the existing outputs")
    args = p.parse_args(argv)
    get_setting(args.setting)  # an unknown setting fails here, not after an hour
    out, data = Path(args.out), Path(args.data)
    if not args.report_only:
        pool = write_pool(data / "rl.jsonl", args.setting, out / f"rl_{args.setting}.jsonl")
        evaluate(args.sft, "skill-sft", out / "eval_sft", data, args)
        if not (out / "rl" / "final_model").exists():
            rl_dir = out / "rl"
            run([sys.executable, "-m", "train.rl", "--config", "configs/train/rl_gain.yaml", f"model={args.sft}",
                 f"data_path={pool}", f"setting={args.setting}", f"output_dir={rl_dir}", *args.rl,
                 *(["--resume"] if (rl_dir / "latest").exists() else [])])
        evaluate(str(out / "rl" / "final_model"), "skill-sft+grpo", out / "eval_rl", data, args)
    result = gain(out, args.setting)
    (out / "gain.json").write_text(json.dumps(result, indent=1))
    md = render(result)
    (out / "report.md").write_text(md)
    print(md)
    return 0


def run(cmd: list[str]) -> None:
    print("=== " + " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, check=True)


def write_pool(rl_jsonl: Path, setting: str, dest: Path) -> Path:
    """The rows of data.render's RL output in `setting` (it writes one row per setting of a task)."""
    if not rl_jsonl.exists():
        raise SystemExit(f"{rl_jsonl}: no such file (data.render's rl.jsonl; run the quickstart first)")
    rows = [line for line in rl_jsonl.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("setting") == setting]
    if not rows:
        raise SystemExit(f"{rl_jsonl}: no row in setting {setting!r}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return dest


def evaluate(model: str, label: str, dest: Path, data: Path, args: argparse.Namespace) -> None:
    """eval.run on every held-out pair (limit=null), both orders, into `dest`: a rerun resumes (eval.run
    skips the judgments already there and refuses a folder made by another judge or with other data)."""
    heldout = data / "heldout.jsonl"
    bench = [] if str(heldout) == DEFAULT_HELDOUT else \
        [f"benchmarks=[{{name: generic, path: {heldout}, label: heldout}}]"]
    run([sys.executable, "-m", "eval.run", "--config", "configs/eval/quickstart.yaml", f"model={model}",
         f"model_label={label}", "limit=null", f"settings=[{args.setting}]", f"output_dir={dest}", *bench, *args.eval])


def load_outcomes(run_dir: Path, setting: str) -> tuple[dict[str, float], dict[str, Any]]:
    path = run_dir / "predictions.jsonl"
    if not path.exists():
        raise SystemExit(f"{path}: no such file (run the stages first)")
    rows = [r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())
            if r["setting"] == setting and r.get("gold") is not None]
    return pair_outcomes(rows), behaviour(rows)


def gain(out: Path, setting: str) -> dict[str, Any]:
    runs = {}
    for name in ("eval_sft", "eval_rl"):
        pairs, beh = load_outcomes(out / name, setting)
        ci = bootstrap_ci(list(pairs.values()), seed=0)
        runs[name] = {"pairs": len(pairs), "pair_accuracy": ci["mean"], "ci95": [ci["ci_low"], ci["ci_high"]],
                      **{k: beh[k] for k in ("parse_failure_rate", "position_a_rate", "order_consistency",
                                             "single_order_accuracy", "tool_calls_per_judgment",
                                             "invalid_tool_calls_per_judgment", "judgments")}}
        runs[name]["outcomes"] = pairs
    if set(runs["eval_sft"]["outcomes"]) != set(runs["eval_rl"]["outcomes"]):
        raise SystemExit(f"{out}: the two evals judged different pairs; rerun them on the same held-out file")
    diff = paired_bootstrap_ci(runs["eval_rl"]["outcomes"], runs["eval_sft"]["outcomes"])
    return {"setting": setting, "sft": runs["eval_sft"], "rl": runs["eval_rl"], "difference": diff,
            "training": training_curve(out / "rl" / "metrics.jsonl")}


def training_curve(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    keep = ("step", "reward", "accuracy", "parse_failure_rate", "tool_calls", "invalid_tool_calls",
            "response_tokens", "position_a_rate", "informative_group_rate", "rollout_s", "update_s", "clip_frac",
            "grad_norm")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{k: r[k] for k in keep if k in r} for r in rows if "reward" in r]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def render(result: dict[str, Any]) -> str:
    d = result["difference"]
    lines = ["# GRPO's held-out gain", "",
             f"Setting `{result['setting']}`; {d['pairs']} held-out pairs, each judged in both orders by both judges "
             "(greedy, the same protocol); a pair is right only when its vote sum over both orders is positive.", "",
             "| judge | pair accuracy % [95% CI] | single-order % | parse failures % | position-A % | "
             "order consistency % | tool calls / j | invalid tool calls / j |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, label in (("sft", "skill SFT"), ("rl", "skill SFT + GRPO")):
        r = result[name]
        lines.append(f"| {label} | {_pct(r['pair_accuracy'])} [{_pct(r['ci95'][0])}, {_pct(r['ci95'][1])}] | "
                     f"{_pct(r['single_order_accuracy'])} | {_pct(r['parse_failure_rate'])} | "
                     f"{_pct(r['position_a_rate'])} | {_pct(r['order_consistency'])} | "
                     f"{r['tool_calls_per_judgment']:.2f} | {r['invalid_tool_calls_per_judgment']:.2f} |")
    if d["margin"] is not None:
        lo, hi = d["ci95"]
        lines += ["", f"GRPO - SFT: {100 * d['margin']:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}] "
                  f"(paired bootstrap, seed {d['seed']}, {d['n_boot']} resamples); pairs gained {d['gained']}, "
                  f"lost {d['lost']}."]
    curve = result["training"]
    if curve:
        lines += ["", "GRPO training (per step: mean reward and accuracy of the rollouts, seconds):", "",
                  "| step | reward | accuracy % | parse failures % | position-A % | informative groups % | tool calls "
                  "| invalid tool calls | rollout s | update s |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for s in curve:
            lines.append(f"| {s['step']} | {s['reward']:.3f} | {_pct(s.get('accuracy'))} | "
                         f"{_pct(s.get('parse_failure_rate'))} | {_pct(s.get('position_a_rate'))} | "
                         f"{_pct(s.get('informative_group_rate'))} | {s.get('tool_calls', 0):.2f} | "
                         f"{s.get('invalid_tool_calls', 0):.2f} | {s.get('rollout_s', 0):.0f} | "
                         f"{s.get('update_s', 0):.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
