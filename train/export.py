"""A Hub-ready folder from a training checkpoint.

    python -m train.export --checkpoint outputs/sft_x --output exports/judge [--merge-lora]
        [--dtype auto|bfloat16|float16|float32] [--eval-dir DIR] [--push-to-hub USER/REPO [--private]]

--checkpoint takes a checkpoint dir or a run's output_dir (its latest checkpoint). The weights come
from DeepSpeed's own consolidation of the ZeRO partitions (zero_to_fp32: fp32 master weights, so a
bf16 run exports its optimizer's fp32 copy cast to --dtype) -- never from the partitioned module,
which under ZeRO-3 holds empty tensors. The folder holds: safetensors weights (a merged model, or a
LoRA adapter without --merge-lora), config + generation config, the tokenizer with the project's
tool-call chat template, skills/ (snapshot of the skill packages) + skill_manifest.json (hashes),
and README.md (model card). It is checked by reloading with AutoModelForCausalLM.from_pretrained.
Pushing happens only with --push-to-hub.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import HfApi

from model.config import REPO_ROOT, load_config, to_dict
from model.protocol import JudgeProtocol
from train.checkpoint import STATE_FILE, resolve_checkpoint
from train.config import SFTConfig

DTYPES = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16,
          "float32": torch.float32, "fp32": torch.float32}
JUDGE_USAGE = ("# judge_config.json holds the protocol it was trained with (settings {settings}, prompt style\n"
               "# {style}); model.judge, eval.run and the reward functions read it from the folder.\n"
               "python -m model.judge --model {path} --input pairs.jsonl --output judgments.jsonl")


# what the embedded model.loading specs are on the Hub (for the card's base_model)
EMBEDDED_HUB_IDS = {"smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct"}


class ExportError(RuntimeError):
    pass


# ------------------------------------------------------------------------------------------- weights

def consolidated_state_dict(ckpt: Path) -> dict[str, torch.Tensor]:
    """Full fp32 weights of the wrapped model, keys as in its own state_dict (all ZeRO stages)."""
    from train.loss import strip_wrapper_prefix

    state = json.loads((ckpt / STATE_FILE).read_text())
    if int(state.get("zero_stage", 0)) == 0:
        sd = torch.load(ckpt / "mp_rank_00_model_states.pt", map_location="cpu", weights_only=False)["module"]
    else:
        from train.engine import prepare_accelerator_env

        prepare_accelerator_env()
        from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

        sd = get_fp32_state_dict_from_zero_checkpoint(str(ckpt.parent), tag=ckpt.name)
    sd = strip_wrapper_prefix(sd)
    empty = [k for k, v in sd.items() if v.numel() == 0]
    if empty:
        raise ExportError(f"{ckpt}: empty tensors in the consolidated weights: {empty[:5]}")
    return sd


def rebuild_model(ckpt: Path, sd: dict[str, torch.Tensor], merge_lora: bool):
    """The model skeleton from the checkpoint's configs (no init, no download) with `sd` assigned."""
    from accelerate import init_empty_weights
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(ckpt / "model_config")
    with init_empty_weights(include_buffers=False):
        model = AutoModelForCausalLM.from_config(config)
    lora = (ckpt / "adapter" / "adapter_config.json").exists()
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig.from_pretrained(str(ckpt / "adapter")))
    _, unexpected = model.load_state_dict(sd, strict=False, assign=True)
    model.tie_weights()
    still_meta = [n for n, p in model.named_parameters() if p.device.type == "meta"]
    if still_meta or unexpected:
        raise ExportError(f"{ckpt}: weights do not match the model: missing {still_meta[:5]}, "
                          f"unexpected {unexpected[:5]}")
    if lora and merge_lora:
        model = model.merge_and_unload()
    return model, lora


def generation_config_for(model, tokenizer):
    from transformers import GenerationConfig

    gen = getattr(model, "generation_config", None) or GenerationConfig.from_model_config(model.config)
    eos = {tokenizer.eos_token_id}
    try:
        from model.chat_template import end_of_turn_token

        eos.add(tokenizer.convert_tokens_to_ids(end_of_turn_token(tokenizer)))
    except ImportError:
        pass
    eos_ids = sorted(i for i in eos if isinstance(i, int) and i >= 0)
    gen.eos_token_id = eos_ids[0] if len(eos_ids) == 1 else eos_ids
    gen.pad_token_id = tokenizer.pad_token_id
    gen.use_cache = True
    return gen


def export_tokenizer(ckpt: Path, out: Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(ckpt / "tokenizer")
    try:
        from model.chat_template import ensure_tool_template

        tok = ensure_tool_template(tok)
    except ImportError:
        warnings.warn("model.chat_template not available: exporting the tokenizer's own chat template",
                      stacklevel=2)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.save_pretrained(out)
    template = tok.chat_template if isinstance(tok.chat_template, str) else None
    if template and not (out / "chat_template.jinja").exists():
        (out / "chat_template.jinja").write_text(template)
    return tok


# ------------------------------------------------------------------------------------------- skills

def snapshot_skills(out: Path, root: Path, names: list[str] | None) -> dict[str, Any]:
    """Copies the skill packages into out/skills/ and writes skill_manifest.json with their hashes;
    each copy is re-hashed to prove it is the same content."""
    from model.skills import SkillLibrary, load_skill

    lib = SkillLibrary(root, names)
    manifest: dict[str, Any] = {}
    for name in lib.names():
        pkg = lib.get(name)
        dst = out / "skills" / name
        shutil.copytree(pkg.root, dst, dirs_exist_ok=True)
        h = pkg.content_hash()
        if load_skill(dst).content_hash() != h:
            raise ExportError(f"skill {name}: the copied package hashes differently from {pkg.root}")
        manifest[name] = {"version": pkg.version, "description": pkg.description, "sha256": h,
                          "path": f"skills/{name}"}
    (out / "skill_manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


# ------------------------------------------------------------------------------------------- card

def _read_json(p: Path) -> Any:
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def run_summary(run_dir: Path) -> dict[str, Any]:
    """Final loss, steps and tokens seen, from the run's metrics.jsonl."""
    rows = []
    path = run_dir / "metrics.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "loss" in row:
                rows.append(row)
    if not rows:
        return {}
    return {"final_loss": rows[-1]["loss"], "steps_logged": len(rows),
            "tokens_seen": sum(r.get("tokens", 0) for r in rows)}


def data_card_summary(data_path: str, max_lines: int = 25) -> str | None:
    from model.config import resolve_path

    p = resolve_path(data_path) if data_path else None
    if p is None:
        return None
    folder = p if p.is_dir() else p.parent
    for name in ("README.md", "dataset_card.md", "DATA_CARD.md"):
        if (folder / name).exists():
            lines = (folder / name).read_text(encoding="utf-8").splitlines()
            if lines and lines[0].strip() == "---":  # drop YAML front matter
                end = next((i for i, x in enumerate(lines[1:], 1) if x.strip() == "---"), 0)
                lines = lines[end + 1:]
            text = "\n".join(lines[:max_lines]).strip()
            return text + ("\n\n(... truncated)" if len(lines) > max_lines else "")
    return None


def find_eval(dirs: list[Path]) -> tuple[Any, str | None, Path | None]:
    for d in dirs:
        metrics, report = d / "metrics.json", d / "report.md"
        if metrics.exists() or report.exists():
            return (_read_json(metrics) if metrics.exists() else None,
                    report.read_text(encoding="utf-8") if report.exists() else None, d)
    return None, None, None


def eval_table(metrics: Any) -> str:
    """{bench: {metric: v}} or {metric: v} -> a markdown table; anything else as JSON."""
    if isinstance(metrics, dict) and metrics and all(isinstance(v, dict) for v in metrics.values()):
        cols = sorted({k for v in metrics.values() for k, x in v.items() if isinstance(x, (int, float, str))})
        lines = ["| | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for name, v in metrics.items():
            lines.append(f"| {name} | " + " | ".join(_fmt(v.get(c, "")) for c in cols) + " |")
        return "\n".join(lines)
    if isinstance(metrics, dict) and metrics:
        return "\n".join(["| metric | value |", "|---|---|"] + [f"| {k} | {_fmt(v)} |" for k, v in metrics.items()])
    return "```json\n" + json.dumps(metrics, indent=1) + "\n```"


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def model_card(out: Path, cfg: SFTConfig, state: dict[str, Any], run_dir: Path, skills: dict[str, Any] | None,
               lora_merged: bool | None, dtype: torch.dtype, repo_id: str | None,
               eval_dir: Path | None = None, protocol: JudgeProtocol | None = None) -> str:
    base = cfg.model or f"random init ({(cfg.model_config or {}).get('model_type')}, from model_config)"
    summary = run_summary(run_dir)
    data_stats = _read_json(run_dir / "data_stats.json") or {}
    metrics, report, eval_dir = find_eval(([eval_dir] if eval_dir else []) + [run_dir, run_dir.parent])
    hub_base = EMBEDDED_HUB_IDS.get(cfg.model) or (
        cfg.model if cfg.model and "/" in cfg.model and not Path(cfg.model).exists() else None)
    front = ["---", "library_name: transformers", "pipeline_tag: text-generation",
             "tags: [reward-model, llm-as-a-judge, generative-reward-model, skill-rm, tool-use]"]
    if hub_base:
        front.append(f"base_model: {hub_base}")
    front.append("---")
    name = repo_id or out.name
    kind = ("LoRA adapter (unmerged)" if lora_merged is False else
            "LoRA merged into the base weights" if lora_merged else "full fine-tuning")
    epochs = state.get("global_step", 0) / max(1, data_stats.get("steps_per_epoch", 1))
    rows = [("base model", base), ("method", kind), ("steps", state.get("global_step")),
            ("epochs (of the data)", f"{epochs:.2f}"),
            ("global batch (rows)", cfg.global_batch_size),
            ("max sequence length", getattr(cfg, "max_seq_len", "-")), ("packing", getattr(cfg, "packing", "-")),
            ("learning rate", f"{cfg.lr:g} (warmup + cosine to x{cfg.min_lr_ratio})"),
            ("precision / ZeRO / ranks", f"{state.get('precision')} / {state.get('zero_stage')} / "
                                         f"{state.get('world_size')}"),
            ("exported dtype", str(dtype).replace("torch.", ""))]
    rows += [(k.replace("_", " "), _fmt(v)) for k, v in summary.items()]
    parts = ["\n".join(front), f"# {name}",
             "A generative reward judge: given a prompt and candidate responses it loads a Reward-Evaluation "
             "Skill, selects and runs the evidence that matters (references, verifiers, checklists, rubrics) "
             "through tool calls, and aggregates it into a verdict (after Skill-RM, arXiv 2606.03980). "
             "Fine-tuned on rendered skill-execution trajectories.",
             "## Training\n\n| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)]
    data_lines = [f"- data: `{cfg.data_path}`"]
    if data_stats:
        data_lines.append(f"- rows kept {data_stats.get('kept')} of {data_stats.get('rows')}, "
                          f"{data_stats.get('tokens')} tokens ({data_stats.get('trained_tokens')} trained); "
                          f"skipped {data_stats.get('skipped')}, truncated {data_stats.get('truncated')}")
    card = data_card_summary(cfg.data_path)
    parts.append("## Data\n\n" + "\n".join(data_lines) + (f"\n\n### Data card (excerpt)\n\n{card}" if card else ""))
    if metrics is not None or report:
        ev = [f"## Evaluation\n\nFrom `{eval_dir}`."]
        if metrics is not None:
            ev.append(eval_table(metrics))
        if report:
            ev.append("### Report\n\n" + report.strip())
        parts.append("\n\n".join(ev))
    else:
        parts.append("## Evaluation\n\nNo eval results (metrics.json / report.md) were found next to the run.")
    if skills:
        parts.append("## Skill packages\n\nSnapshotted in `skills/` (`skill_manifest.json`); the judge should run "
                     "with exactly these versions.\n\n| skill | version | sha256 |\n|---|---|---|\n"
                     + "\n".join(f"| {n} | {s['version']} | `{s['sha256'][:16]}…` |" for n, s in skills.items()))
    protocol = protocol or JudgeProtocol()
    usage = JUDGE_USAGE.format(path=repo_id or "<export_dir>", settings=", ".join(protocol.settings),
                               style=protocol.prompt_style)
    parts.append("## Usage\n\n```bash\n" + usage + "\n```\n\nOr as a plain chat model:\n\n```python\n"
                 "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
                 f"tok = AutoTokenizer.from_pretrained(\"{repo_id or '<export_dir>'}\")\n"
                 f"model = AutoModelForCausalLM.from_pretrained(\"{repo_id or '<export_dir>'}\")\n```")
    import yaml

    parts.append("## Training config\n\n```yaml\n" + yaml.safe_dump(to_dict(cfg), sort_keys=False) + "```")
    return "\n\n".join(parts) + "\n"


# ------------------------------------------------------------------------------------------- hub

def trained_protocol(ckpt: Path, data_path: str) -> JudgeProtocol:
    """How the judge was trained to be run: the checkpoint's judge_config.json (train.sft / train.rl write
    it), else the rendered data's (data.render writes it), else the defaults."""
    from model.config import resolve_path

    return JudgeProtocol.load(ckpt) or JudgeProtocol.for_data(resolve_path(data_path)) or JudgeProtocol()


def push_to_hub(folder: Path, repo_id: str, private: bool) -> str:
    """Creates the repo (if needed) and uploads the folder; returns the commit URL."""
    api = HfApi()
    api.create_repo(repo_id=repo_id, repo_type="model", private=private, exist_ok=True)
    info = api.upload_folder(repo_id=repo_id, repo_type="model", folder_path=str(folder),
                             commit_message="Upload skill-rm judge export")
    return str(getattr(info, "commit_url", info))


# ------------------------------------------------------------------------------------------- main

def verify(out: Path, expected: dict[str, torch.Tensor], dtype: torch.dtype) -> None:
    """Reloads the export with from_pretrained and checks every weight against the consolidated ones."""
    from transformers import AutoModelForCausalLM

    reloaded = AutoModelForCausalLM.from_pretrained(out, dtype=dtype).state_dict()
    bad = [k for k, v in expected.items()
           if k in reloaded and not torch.equal(reloaded[k], v.to(dtype))]
    if bad:
        raise ExportError(f"{out}: reloaded weights differ from the checkpoint's: {bad[:5]}")


def load_training_config(path: Path) -> Any:
    """The resolved config a trainer saved: an RLConfig for a train.rl run (it has GRPO's keys), else SFTConfig."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if "group_size" in data:
        from train.rl import RLConfig

        return load_config(RLConfig, path)
    return load_config(SFTConfig, path)


def export(checkpoint: str | Path, output: str | Path, merge_lora: bool = False, dtype: str = "auto",
           skills: list[str] | None = None, skills_root: str | Path | None = None, push: str | None = None,
           private: bool = False, check: bool = True, eval_dir: str | Path | None = None) -> Path:
    ckpt = resolve_checkpoint(checkpoint)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    cfg = load_training_config(ckpt / "config.yaml")
    state = json.loads((ckpt / STATE_FILE).read_text())
    tdtype = (torch.bfloat16 if state.get("precision") == "bf16" else torch.float32) if dtype == "auto" \
        else DTYPES[dtype]
    print(f"[export] {ckpt} -> {out} (dtype {tdtype})", flush=True)

    sd = consolidated_state_dict(ckpt)
    model, lora = rebuild_model(ckpt, sd, merge_lora)
    if lora and not merge_lora and not cfg.model:
        raise ExportError("the LoRA base was a random-init model_config: export it with --merge-lora")
    tok = export_tokenizer(ckpt, out)
    model = model.to(tdtype)
    if lora and not merge_lora:
        from model.loading import resolve_spec

        r = resolve_spec(cfg.model)
        model.peft_config["default"].base_model_name_or_path = r.path if r.kind != "hub" else cfg.model
        model.save_pretrained(out, safe_serialization=True)
    else:
        model.config.use_cache = True  # generation speed; training forwards pass use_cache=False themselves
        model.generation_config = generation_config_for(model, tok)
        model.save_pretrained(out, safe_serialization=True)
        if check:
            verify(out, model.state_dict(), tdtype)

    manifest = None
    if skills != ["none"]:
        root = Path(skills_root) if skills_root else REPO_ROOT / "skills"
        try:
            manifest = snapshot_skills(out, root, skills)
        except ImportError:
            warnings.warn("model.skills not available: no skill snapshot", stacklevel=2)
    protocol = trained_protocol(ckpt, cfg.data_path)
    protocol.save(out)
    (out / "README.md").write_text(
        model_card(out, cfg, state, ckpt.parent, manifest, (merge_lora if lora else None), tdtype, push,
                   Path(eval_dir) if eval_dir else None, protocol),
        encoding="utf-8")
    from model.config import save_config

    save_config(cfg, out, name="training_config.yaml")
    print(f"[export] wrote {out}" + (f" (skills: {', '.join(manifest)})" if manifest else ""), flush=True)
    if push:
        print(f"[export] pushed: {push_to_hub(out, push, private)}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.export", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="checkpoint dir, or a run's output_dir (its latest)")
    p.add_argument("--output", required=True)
    p.add_argument("--merge-lora", action="store_true", help="merge LoRA adapters into the base weights")
    p.add_argument("--dtype", default="auto", choices=["auto", *DTYPES],
                   help="auto: bfloat16 for bf16 runs, float32 for fp32 (CPU) runs")
    p.add_argument("--skills", nargs="*", default=None,
                   help="skill packages to snapshot (default: all under --skills-root; 'none' to skip)")
    p.add_argument("--skills-root", default=None, help="default: the repo's skills/")
    p.add_argument("--push-to-hub", metavar="REPO", default=None, help="also upload to this Hub repo")
    p.add_argument("--private", action="store_true", help="create the Hub repo private")
    p.add_argument("--eval-dir", default=None,
                   help="folder with the eval stage's metrics.json / report.md (default: next to the run)")
    p.add_argument("--no-verify", action="store_true", help="skip the reload-and-compare check")
    a = p.parse_args(argv)
    if a.private and not a.push_to_hub:
        p.error("--private needs --push-to-hub")
    try:
        export(a.checkpoint, a.output, a.merge_lora, a.dtype, a.skills, a.skills_root, a.push_to_hub, a.private,
               check=not a.no_verify, eval_dir=a.eval_dir)
    except (ExportError, FileNotFoundError) as e:
        print(f"[export] error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
