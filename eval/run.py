"""Benchmark a judge: any model spec x settings x reward benchmarks, official metrics, one report.

    python -m eval.run --config configs/eval/suite.yaml model=outputs/sft/final output_dir=outputs/eval/sft
    python -m eval.run --benchmark judgebench --data-dir ../shared/data --model smollm2-135m \\
        --setting baseline --output outputs/eval/jb --limit 20
    python -m eval.run --input pairs.jsonl --setting all --output outputs/eval/mine

Flags override the config file, which overrides the defaults (eval/config.py). Rerunning a command
resumes it: judgments already in OUTPUT/predictions.jsonl are skipped. Writes OUTPUT/{config.yaml,
predictions.jsonl, metrics.json, report.md, *.png}; eval.compare puts several runs side by side.
"""

from __future__ import annotations

import argparse
import sys

from eval.benchmarks import BENCHMARKS
from eval.config import BenchmarkConfig, EvalConfig
from eval.selection import SAMPLE_STRATEGIES
from model.backends import BACKENDS
from model.config import ConfigError, load_config, resolve_path
from model.protocol import SETTING_NAMES


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--config", help="YAML config (configs/eval/*.yaml)")
    p.add_argument(
        "overrides", nargs="*", metavar="key=value", help="config overrides, e.g. agent.max_steps=4"
    )
    p.add_argument("--benchmark", help=f"benchmark name(s), comma-separated: {', '.join(sorted(BENCHMARKS))}")
    p.add_argument(
        "--input",
        help="a generic pairwise JSONL {id, prompt, chosen, rejected, reference?} "
        "(or the path of the one --benchmark)",
    )
    p.add_argument(
        "--data-dir",
        help="folder holding the benchmark copies (judgebench/, rmbench/, ...) or one benchmark's own folder",
    )
    p.add_argument(
        "--model", help="model spec: embedded name, Hub id, checkpoint folder, LoRA adapter, .gguf"
    )
    p.add_argument("--model-label", help="name of this judge in reports")
    p.add_argument("--setting", action="append", help=f"{', '.join(SETTING_NAMES)} or all (repeatable); default: "
                   "the judge's trained settings (judge_config.json), else baseline")
    p.add_argument("--output", help="run folder (resumable)")
    p.add_argument("--backend", help=f"one of {BACKENDS} or scripted:MODULE:FUNCTION")
    p.add_argument("--base-url", action="append", help="OpenAI-compatible server URL (repeat for failover)")
    p.add_argument(
        "--limit", type=int, help="N units per benchmark (pairs, RM-Bench rows, RB2 rows, prompts)"
    )
    p.add_argument(
        "--sample",
        choices=SAMPLE_STRATEGIES,
        help="with --limit, how the N units are drawn: stratified (the default: seeded, in proportion to the "
        "benchmark's strata), random (seeded), first (load order)",
    )
    p.add_argument("--seed", type=int, help="data seed and judge sampling seed")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--engine", choices=["auto", "generate", "continuous"])
    p.add_argument("--max-new-tokens", type=int)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--bon-n", type=int, help="best-of-N: candidates per prompt")
    p.add_argument("--save-messages", action="store_true", help="store every judgment's conversation")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-plots", action="store_true")
    return p


def config_from_args(args: argparse.Namespace) -> EvalConfig:
    cfg = load_config(EvalConfig, args.config, args.overrides)
    if args.benchmark:
        cfg.benchmarks = [BenchmarkConfig(name=n.strip()) for n in args.benchmark.split(",") if n.strip()]
        if args.input:
            if len(cfg.benchmarks) != 1:
                raise ConfigError("--input gives the path of one benchmark; name only one with --benchmark")
            cfg.benchmarks[0].path = args.input
    elif args.input:
        cfg.benchmarks = [BenchmarkConfig(name="generic", path=args.input)]
    if args.setting:
        cfg.settings = (
            list(SETTING_NAMES)
            if "all" in args.setting
            else [s.strip() for item in args.setting for s in item.split(",") if s.strip()]
        )
    simple = {
        "data_dir": args.data_dir,
        "model": args.model,
        "model_label": args.model_label,
        "output_dir": args.output,
        "limit": args.limit,
    }
    for key, value in simple.items():
        if value is not None:
            setattr(cfg, key, value)
    for key, value in {"kind": args.backend, "batch_size": args.batch_size, "engine": args.engine}.items():
        if value is not None:
            setattr(cfg.backend, key, value)
    if args.base_url:
        cfg.backend.base_urls = list(args.base_url)
    if args.sample:
        cfg.sample = args.sample
    if args.seed is not None:
        cfg.seed = cfg.agent.seed = args.seed
    if args.max_new_tokens is not None:
        cfg.agent.max_new_tokens = args.max_new_tokens
    if args.max_steps is not None:
        cfg.agent.max_steps = args.max_steps
    if args.bon_n is not None:
        cfg.bon.n = args.bon_n
    if args.save_messages:
        cfg.save_messages = True
    if args.no_progress:
        cfg.progress = False
    if args.no_plots:
        cfg.plots = False
    return cfg


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_intermixed_args(argv)
    try:
        cfg = config_from_args(args)
        if args.input and not resolve_path(args.input).exists():
            raise ConfigError(f"--input {args.input}: no such file")
        from eval.config import check_config

        check_config(cfg)
    except (ConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from eval.runner import run_eval

    out = run_eval(cfg)
    print(f"report: {out / 'report.md'}")
    print((out / "report.md").read_text(encoding="utf-8").split("## Judge behaviour")[0].strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
