"""Runs one eval config: load every benchmark, judge it in every setting, write the report.

Output folder layout:
    config.yaml        the resolved config (model.config.save_config)
    fingerprint.json   what must not change when a run is resumed into this folder (judge, seeds, data)
    manifest.json      what is measured now: per benchmark its path, units (and how the subset was drawn),
                       tasks, expected judgments, ids
    predictions.jsonl  one row per judgment (model.judging.judgment_row; `benchmark` = the label)
    timing.jsonl       wall time per finished chunk (judgments/s, generated tokens/s)
    bon_sets/<label>.jsonl, bon_groups.jsonl   best-of-N candidate sets (cached) and knockout winners
    rejects.jsonl      malformed upstream rows (file, row, reason)
    metrics.json, report.md, *.png     (eval.report)
A rerun of the same command skips every judgment already in predictions.jsonl.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from eval.benchmarks import BENCHMARKS, Benchmark, BenchmarkUnavailable, Source, load_benchmark, locate
from eval.bon import run_knockout
from eval.bon_sets import CandidateSet, load_candidate_sets, write_candidate_sets
from eval.config import EvalConfig, benchmark_label, check_config, model_label
from eval.predictions import BenchmarkView, log_timing, open_predictions
from eval.selection import Selection, select_units
from model.backends import Backend, LazyBackend
from model.config import resolve_path, save_config
from model.jsonl import Rejects, write_jsonl
from model.judging import judge_tasks, judgment_key
from model.records import JudgeTask

MANIFEST = "manifest.json"
FINGERPRINT = "fingerprint.json"
BON_GROUPS = "bon_groups.jsonl"


def log(msg: str) -> None:
    print(f"[eval] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- resume safety


def fingerprint(cfg: EvalConfig) -> dict[str, Any]:
    """Everything that changes a judgment: the judge, its agent config, the data seed, each label's source."""
    return {
        "model": cfg.model,
        "backend": dataclasses.asdict(cfg.backend),
        "settings": list(cfg.settings),
        "seed": cfg.seed,
        "agent": dataclasses.asdict(cfg.agent),
        "benchmarks": {
            benchmark_label(b): {
                "name": b.name,
                "path": b.path,
                "options": dict(b.options),
                **({"bon": dataclasses.asdict(cfg.bon)} if b.name.startswith("bon") else {}),
            }
            for b in cfg.benchmarks
        },
    }


def check_fingerprint(out: Path, cfg: EvalConfig) -> None:
    """Refuses to resume into a folder made by another judge or with other data; merges new benchmarks."""
    path = out / FINGERPRINT
    new = json.loads(json.dumps(fingerprint(cfg), default=str))
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        diffs = [k for k in ("model", "backend", "seed", "agent") if old.get(k) != new.get(k)]
        diffs += [
            f"benchmarks.{lab}"
            for lab, spec in new["benchmarks"].items()
            if lab in old.get("benchmarks", {}) and old["benchmarks"][lab] != spec
        ]
        if diffs:
            raise ValueError(
                f"{out} holds a run with different {', '.join(diffs)}; resuming would mix judgments. "
                "Use another output_dir (or give the benchmark another label)."
            )
        new["benchmarks"] = {**old.get("benchmarks", {}), **new["benchmarks"]}
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(new, indent=1), encoding="utf-8")


# --------------------------------------------------------------------------- loading


def prepare(
    bench: Benchmark, bcfg: Any, cfg: EvalConfig, data_dir: Path, out: Path, rejects: Rejects
) -> tuple[str, Selection]:
    """(resolved path, the selected tasks or candidate sets) of one benchmark."""
    limit = bcfg.limit if bcfg.limit is not None else cfg.limit
    label = benchmark_label(bcfg)
    path = locate(bench, bcfg.path, data_dir)
    options = dict(bcfg.options)
    if bench.kind == "bon":
        options = {**dataclasses.asdict(cfg.bon), **options}
    src = Source(
        path=path,
        options=options,
        data_dir=data_dir,
        seed=cfg.seed,
        limit=limit if cfg.sample == "first" else None,  # a sample is drawn from everything there is
        rejects=rejects,
    )
    if bench.kind == "bon":
        items = _bon_sets(bench, src, out / "bon_sets" / f"{_safe(label)}.jsonl")
    else:
        items = load_benchmark(bench, src)
    if not items:
        raise BenchmarkUnavailable(f"{label}: {path} gave no tasks (see {out / 'rejects.jsonl'})")
    picked = select_units(items, bench.unit, limit, cfg.sample, bench.stratum, cfg.seed, salt=label,
                          per_stratum=bench.limit_per_stratum)
    return path, picked


def _bon_sets(bench: Benchmark, src: Source, cache: Path) -> list[CandidateSet]:
    """Candidate sets, built once per run folder and then read back (a resumed run sees the same sets).

    When the build request changes (another limit), the sets are rebuilt, but a prompt already in the
    cache keeps its cached candidates, so its stored judgments stay valid.
    """
    stamp = cache.with_suffix(".build.json")
    request = {"limit": src.limit}
    cached = load_candidate_sets(cache) if cache.exists() else []
    if cached and stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")) == request:
        return cached
    old = {s.id: s for s in cached}
    sets = [old.get(s.id, s) for s in load_benchmark(bench, src)]
    write_candidate_sets(cache, sets)
    stamp.write_text(json.dumps(request), encoding="utf-8")
    return sets


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in label)


def orders_of(bench: Benchmark, task: JudgeTask) -> list[list[int]]:
    fn = bench.order_fn()
    return fn(task) if fn else task.orders(True)


def manifest_entry(bench: Benchmark, path: str, selection: Selection, label: str) -> dict[str, Any]:
    items = selection.items
    entry: dict[str, Any] = {
        "name": bench.name,
        "path": path,
        "metric": bench.metric,
        "kind": bench.kind,
        "about": bench.about,
        "units": selection.units,
        "selection": {**selection.summary(), "strata_by": bench.strata or None},
    }
    if bench.kind == "bon":
        entry.update(set_ids=[s.id for s in items], candidates=sum(len(s.candidates) for s in items))
    else:
        entry.update(
            tasks=len(items),
            task_ids=[t.id for t in items],
            judgments_expected=sum(len(orders_of(bench, t)) for t in items),
            orders="both" if bench.orders == "both" else "once",
        )
    return entry


# --------------------------------------------------------------------------- judging


def judge_benchmark(
    backend: Backend,
    bench: Benchmark,
    tasks: list[JudgeTask],
    setting: str,
    view: BenchmarkView,
    cfg: EvalConfig,
    out: Path,
) -> None:
    """Judges the tasks not yet in `view`, a chunk at a time (each chunk written and timed as it finishes)."""
    from tqdm import tqdm

    todo = [
        (t, sum(judgment_key({"task_id": t.id, "setting": setting, "order": o}) not in view.done
                for o in orders_of(bench, t)))
        for t in tasks
    ]
    todo = [(t, k) for t, k in todo if k]
    total = sum(k for _, k in todo)
    if not total:
        return
    bar = tqdm(
        total=total,
        desc=f"{view.benchmark}[{setting}]",
        unit="judgment",
        disable=not cfg.progress,
        file=sys.stderr,
    )
    chunk: list[JudgeTask] = []
    size = 0
    for i, (task, k) in enumerate(todo):
        chunk.append(task)
        size += k
        if size >= cfg.chunk_size or i == len(todo) - 1:
            stats = judge_tasks(
                backend,
                chunk,
                setting,
                view,
                cfg.agent,
                both_orders=True,
                chunk_size=cfg.chunk_size,
                save_messages=cfg.save_messages,
                progress=False,
                model_name=model_label(cfg),
                order_fn=bench.order_fn(),
            )
            log_timing(out, view.benchmark, setting, stats)
            bar.update(stats["judgments"])
            chunk, size = [], 0
    bar.close()


def judge_bon(
    backend: Backend, sets: list[CandidateSet], setting: str, view: BenchmarkView, cfg: EvalConfig, out: Path
) -> list[dict[str, Any]]:
    return run_knockout(
        backend,
        sets,
        setting,
        view,
        cfg.agent,
        cfg.bon.n,
        cfg.seed,
        model_name=model_label(cfg),
        progress=cfg.progress,
        on_round=lambda s: log_timing(out, view.benchmark, setting, s),
    )


# --------------------------------------------------------------------------- the run


def make_backend_for(cfg: EvalConfig) -> Backend:
    return LazyBackend(cfg.model, cfg.backend)


def resolve_protocol(cfg: EvalConfig) -> EvalConfig:
    """cfg with the judge's trained protocol filled in: settings (when none are given) and the agent's
    prompt style, tie policy and limits (where left null); explicit values that differ warn."""
    from model.loading import protocol_for_model
    from model.protocol import BASELINE, resolve_settings

    protocol = protocol_for_model(cfg.model) if cfg.backend.kind in ("hf", "vllm") else None
    settings = resolve_settings(cfg.settings, protocol, "eval.run", default=BASELINE)
    return dataclasses.replace(cfg, settings=settings, agent=cfg.agent.resolved(protocol, "eval.run"))


def run_eval(cfg: EvalConfig, backend: Backend | None = None) -> Path:
    """Runs (or resumes) `cfg`; returns the output folder. `backend` replaces cfg's (tests: scripted)."""
    check_config(cfg)
    cfg = resolve_protocol(cfg)
    out = Path(cfg.output_dir)
    check_fingerprint(out, cfg)
    save_config(cfg, out)
    data_dir = resolve_path(cfg.data_dir)
    rejects = Rejects(out / "rejects.jsonl")
    manifest: dict[str, Any] = {
        "model": model_label(cfg),
        "model_spec": cfg.model,
        "backend": cfg.backend.kind,
        "settings": list(cfg.settings),
        "seed": cfg.seed,
        "sample": cfg.sample,  # the strategy (eval.selection); each benchmark's draw is in its `selection`
        "benchmarks": {},
        "skipped": {},
    }
    plans = []
    for bcfg in cfg.benchmarks:
        label, bench = benchmark_label(bcfg), BENCHMARKS[bcfg.name]
        try:
            path, selection = prepare(bench, bcfg, cfg, data_dir, out, rejects)
        except (BenchmarkUnavailable, FileNotFoundError) as e:
            if not cfg.skip_unavailable:
                raise
            log(f"skipping {label}: {e}")
            manifest["skipped"][label] = str(e)
            continue
        manifest["benchmarks"][label] = manifest_entry(bench, path, selection, label)
        log(f"{label}: {selection.units} of {selection.available} units ({selection.strategy}) from {path}")
        plans.append((label, bench, selection.items))
    if len(rejects):
        log(f"{len(rejects)} malformed upstream rows skipped -> {rejects.path}")
    rejects.close()
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")

    backend = backend or make_backend_for(cfg)
    bon_groups: list[dict[str, Any]] = []
    with open_predictions(out) as writer:
        for label, bench, items in plans:
            for setting in cfg.settings:
                view = BenchmarkView(writer, label, setting)
                if bench.kind == "bon":
                    groups = judge_bon(backend, items, setting, view, cfg, out)
                    bon_groups += [{"benchmark": label, "setting": setting, **g} for g in groups]
                else:
                    judge_benchmark(backend, bench, items, setting, view, cfg, out)
    if bon_groups or (out / BON_GROUPS).exists():
        write_jsonl(out / BON_GROUPS, bon_groups)
    backend.close()

    from eval.report import write_report

    write_report(out, plots=cfg.plots)
    return out
