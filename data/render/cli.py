"""Filters teacher trajectories and renders them into training data for a target tokenizer.

    python -m data.render --config configs/data/quickstart.yaml [key=value ...] [--workers N]
                          [--push-to-hub REPO]

Reads a data.generate folder (`input_dir`, default `output_dir`) and writes into `output_dir`:
  sft_skill/ sft_skill.jsonl     skill-execution SFT (input_ids, labels, messages in the JSONL)
  sft_direct/ sft_direct.jsonl   direct-judge SFT baseline on the same (task, order, verdict)
  rl/ rl.jsonl                   RL prompts: one row per kept (task, setting) with the full task
  README.md                      dataset card (also copied into each format folder)
  render_report.json             filters, token statistics, composition
  render_config.yaml             the resolved config
  render_rejects.jsonl           malformed rows with file, row and reason
Each `<format>/` is a `datasets.save_to_disk` folder. Same inputs + config -> byte-identical JSONL.
"""
from __future__ import annotations

import json
import shlex
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from data.config import DataConfig
from data.filters import apply_filters
from data.render.formats import (
    FORMATS,
    coloured,
    direct_messages,
    encode_all,
    prepare_tokenizer,
    rl_row,
    sft_row,
    skill_messages,
    trains_token,
)
from data.render.inputs import RenderInputs, load_inputs
from model.config import ConfigError, config_arg_parser, load_config, save_config
from model.jsonl import Rejects
from model.prompts import PromptOptions
from model.protocol import JudgeProtocol, twin
from model.records import Trajectory
from model.tools import tool_specs


def _prompt_options(cfg: DataConfig) -> PromptOptions:
    agent = cfg.teacher.agent.resolved()  # the options the teacher's prompts were built with
    return PromptOptions(max_candidate_chars=agent.max_candidate_chars, allow_tie=agent.allow_tie,
                         style=agent.prompt_style)


def direct_twin(setting: str) -> str:
    """The direct-judge setting with the same inputs as a skill setting."""
    return twin(setting, tools=False)


def write_protocols(cfg: DataConfig, out_dir: Path, formats: list[str], kept: list[Trajectory]) -> None:
    """judge_config.json in each format folder: how a judge trained on that format must be run."""
    skill_settings = list(dict.fromkeys(t.setting for t in kept)) or list(cfg.teacher.settings)
    for fmt in formats:
        settings = [direct_twin(s) for s in skill_settings] if fmt == "sft_direct" else skill_settings
        JudgeProtocol.from_agent(cfg.teacher.agent, list(dict.fromkeys(settings)),
                                 source=str(out_dir / fmt)).save(out_dir / fmt)


def _skill_catalog(cfg: DataConfig) -> str:
    from model.agent import load_skills

    return load_skills(cfg.teacher.agent).catalog_text()


class _SkillEncoder:
    """The length filter's `n_tokens`: renders the survivors once and keeps the encodings; rows that
    cannot be rendered go to the rejects."""

    def __init__(self, tok: Any, cfg: DataConfig, inputs: RenderInputs, rejects: Rejects, progress: bool):
        self.tok, self.cfg, self.inputs, self.rejects, self.progress = tok, cfg, inputs, rejects, progress
        self.encoded: dict[int, Any] = {}

    def __call__(self, trajs: list[Trajectory]) -> dict[int, int | None]:
        jobs = [(skill_messages(t), tool_specs(t.setting, t.meta.get("prompt_style", "full"))) for t in trajs]
        results = encode_all(jobs, self.tok, self.cfg.render.tokenizer, max(1, self.cfg.workers),
                             "render sft_skill", self.progress)
        lengths: dict[int, int | None] = {}
        for t, r in zip(trajs, results):
            if isinstance(r, str):
                self.rejects.add(self.inputs.trajectories_path, self.inputs.rows[id(t)],
                                 f"render failed: {r}", t.to_dict())
                lengths[id(t)] = None
            else:
                self.encoded[id(t)] = r
                lengths[id(t)] = len(r[0])
        return lengths


def build_rows(cfg: DataConfig, kept: list[Trajectory], tasks: dict[str, Any], encoded: dict[int, Any],
               tok: Any, progress: bool) -> dict[str, list[dict[str, Any]]]:
    """The rows of every requested format, in the order of `kept`."""
    rows: dict[str, list[dict[str, Any]]] = {}
    opts = _prompt_options(cfg)
    if "sft_skill" in cfg.render.formats:
        rows["sft_skill"] = [sft_row(tasks[t.task_id], t.setting, t.order, t.verdict, skill_messages(t),
                                     encoded[id(t)]) for t in kept]
    if "sft_direct" in cfg.render.formats:
        msgs = [direct_messages(tasks[t.task_id], t.order, t.verdict, direct_twin(t.setting), opts)
                for t in kept]
        results = encode_all([(m, None) for m in msgs], tok, cfg.render.tokenizer, max(1, cfg.workers),
                             "render sft_direct", progress)
        bad = [r for r in results if isinstance(r, str)]
        if bad:  # the baseline prompt is built by the project: a failure here is a bug, not bad data
            raise RuntimeError(f"direct-judge rendering failed: {bad[0]}")
        rows["sft_direct"] = [sft_row(tasks[t.task_id], direct_twin(t.setting), t.order, t.verdict, m, r,
                                      mirrors_setting=t.setting) for t, m, r in zip(kept, msgs, results)]
        too_long = sum(r["n_tokens"] > cfg.render.filters.max_tokens for r in rows["sft_direct"])
        if too_long:
            warnings.warn(f"{too_long} direct-judge examples exceed max_tokens (kept: the two sets must "
                          "match)", stacklevel=2)
    if "rl" in cfg.render.formats:
        catalog = _skill_catalog(cfg)
        groups = dict.fromkeys((t.task_id, t.setting) for t in kept)
        rows["rl"] = [rl_row(tasks[tid], setting, catalog, opts) for tid, setting in groups]
    return rows


def check_end_of_turn(rows: dict[str, list[dict[str, Any]]], tok_info: dict[str, Any]) -> dict[str, int]:
    """Counts SFT examples whose end-of-turn token is never trained, and warns (as TRL does)."""
    untrained = {}
    for fmt in ("sft_skill", "sft_direct"):
        if fmt not in rows:
            continue
        missing = [r["task_id"] for r in rows[fmt]
                   if not trains_token(r["input_ids"], r["labels"], tok_info["end_of_turn_id"])]
        untrained[fmt] = len(missing)
        if missing:
            warnings.warn(f"{fmt}: {len(missing)} examples never train the end-of-turn token "
                          f"{tok_info['end_of_turn']!r} (e.g. task {missing[0]}); the model would not learn "
                          "to stop. Check the chat template and model.chat_template.render_with_mask.",
                          stacklevel=2)
    return untrained


def check_config(cfg: DataConfig) -> None:
    f = cfg.render.filters
    if not cfg.render.formats or any(x not in FORMATS for x in cfg.render.formats):
        raise ConfigError(f"render.formats must be a non-empty subset of {FORMATS}, got {cfg.render.formats}")
    if f.pick_sample not in ("shortest", "random"):
        raise ConfigError(f"render.filters.pick_sample must be shortest or random, got {f.pick_sample!r}")
    for name in ("max_source_share", "max_direct_share"):
        if not 0.0 <= getattr(f, name) <= 1.0:
            raise ConfigError(f"render.filters.{name} must be in [0, 1], got {getattr(f, name)}")
    if not 0.0 < f.near_dup_threshold <= 1.0:
        raise ConfigError(f"render.filters.near_dup_threshold must be in (0, 1], got {f.near_dup_threshold}")
    if f.max_tokens < 1:
        raise ConfigError(f"render.filters.max_tokens must be positive, got {f.max_tokens}")


def render(cfg: DataConfig, command: str = "python -m data.render", progress: bool = True,
           out: Any = None) -> dict[str, Any]:
    """Runs the whole stage; returns the report (also written to render_report.json)."""
    from data.render.card import dataset_card
    from data.render.outputs import write_format
    from data.render.report import build_report, summary_table, token_stats

    out = out or sys.stdout
    check_config(cfg)
    t0 = time.perf_counter()
    out_dir = Path(cfg.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out_dir, "render_config.yaml")
    (out_dir / "render_rejects.jsonl").unlink(missing_ok=True)
    rejects = Rejects(out_dir / "render_rejects.jsonl")
    inputs = load_inputs(cfg.input_dir or cfg.output_dir, rejects)
    tok, tok_info = prepare_tokenizer(cfg.render.tokenizer)

    encoder = _SkillEncoder(tok, cfg, inputs, rejects, progress)
    kept, steps = apply_filters(inputs.trajectories, inputs.tasks, cfg.render.filters, cfg.seed, encoder,
                                heldout_prompts=inputs.heldout_prompts)
    position = {tid: i for i, tid in enumerate(inputs.tasks)}
    kept.sort(key=lambda t: (position[t.task_id], t.setting, t.order))  # canonical, whatever the input order
    rows = build_rows(cfg, kept, inputs.tasks, encoder.encoded, tok, progress)
    eot_untrained = check_end_of_turn(rows, tok_info)

    for fmt, fmt_rows in rows.items():
        write_format(out_dir, fmt, fmt_rows, progress)
    n_rejected = len(rejects)
    rejects.close()
    formats = {fmt: (token_stats(r) if fmt != "rl" else {"rows": len(r)}) for fmt, r in rows.items()}
    report = build_report(input_summary=_input_summary(inputs, cfg, n_rejected), steps=steps, kept=kept,
                          tasks=inputs.tasks, formats=formats, tokenizer=tok_info, seed=cfg.seed,
                          eot_untrained=eot_untrained)
    (out_dir / "render_report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n",
                                                encoding="utf-8")
    card = dataset_card(report, cfg, command, inputs.generate_report)
    (out_dir / "README.md").write_text(card, encoding="utf-8")
    for fmt in rows:  # train.export pastes the card found next to its data_path
        shutil.copy(out_dir / "README.md", out_dir / fmt / "README.md")
    write_protocols(cfg, out_dir, list(rows), kept)

    if cfg.render.show_example and rows.get("sft_skill"):
        first = rows["sft_skill"][0]
        print(f"--- first sft_skill example ({first['task_id']}, {first['setting']}, "
              f"order {first['order']}): green = trained, grey = masked ---", file=out)
        print(coloured(tok, first["input_ids"], first["labels"]), file=out)
        print("---", file=out)
    print(summary_table(report), file=out)
    print(f"[render] {len(kept)} trajectories -> {out_dir} ({time.perf_counter() - t0:.1f}s; "
          f"{n_rejected} rejected rows)", file=out)
    return report


def _input_summary(inputs: RenderInputs, cfg: DataConfig, rejected: int) -> dict[str, Any]:
    return {"input_dir": str(cfg.input_dir or cfg.output_dir), "tasks": len(inputs.tasks),
            "heldout_tasks": len(inputs.heldout_ids), "tasks_also_heldout": inputs.tasks_also_heldout,
            "trajectory_rows": inputs.trajectory_rows, "trajectories": len(inputs.trajectories),
            "heldout_trajectories": inputs.heldout_trajectories, "rejected_rows": rejected}


def main(argv: list[str] | None = None) -> int:
    parser = config_arg_parser(__doc__.split("\n\n")[0], prog="python -m data.render")
    parser.add_argument("--workers", type=int, help="tokenization processes (default: config `workers`)")
    parser.add_argument("--push-to-hub", metavar="REPO",
                        help="push the datasets and card to this Hub dataset repo (never by default)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_intermixed_args(argv)
    try:
        cfg = load_config(DataConfig, args.config, args.overrides)
        check_config(cfg)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.workers:
        cfg.workers = args.workers
    if args.push_to_hub:
        cfg.render.push_to_hub = args.push_to_hub
    argv = sys.argv[1:] if argv is None else argv
    command = "python -m data.render " + shlex.join(argv)
    report = render(cfg, command, progress=not args.no_progress)
    if not report["kept"]["trajectories"]:
        print("[render] no trajectory survived the filters; see render_report.json", file=sys.stderr)
        return 1
    if cfg.render.push_to_hub:
        from data.render.hub import push_to_hub

        url = push_to_hub(cfg.output_dir, cfg.render.push_to_hub, list(cfg.render.formats),
                          cfg.render.private)
        print(f"[render] pushed to {cfg.render.push_to_hub}: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
