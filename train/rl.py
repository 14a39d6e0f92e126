"""GRPO for the skill judge: rollouts execute real tools through the runtime's agent loop.

    python -m train.rl --config configs/train/rl_quickstart.yaml [key=value ...] [--resume]
    deepspeed --num_gpus 8 --module train.rl --config configs/train/rl_qwen3_8b_8gpu.yaml

Each step samples `tasks_per_step` tasks; every task gets `group_size` rollouts, half in each candidate
order (position bias lowers the group's reward), from the policy being trained (hf backend on the
engine's own weights). Rollouts keep token ledgers (model/ledger.py): the update trains on exactly the
tokens the policy generated, with prompts and tool outputs masked. Reward: verdict correctness, gated
by a valid final_answer and valid tool calls (optionally: right in both candidate orders), minus a cost
per tool call past the skill's budget (train/grpo.py). Advantages are normalised within each task's
group; the loss is the clipped surrogate (plus an optional k3 KL to the initial policy), normalised over
the policy tokens of the global batch; `ppo_epochs` > 1 reuses a step's rollouts (off-policy, clipped).

Writes to output_dir: config.yaml, metrics.jsonl (reward, accuracy, parse failures, tool calls,
response length, KL, clip fraction, rollout speed; eval/* when a held-out set is given), rollouts.jsonl
(per step: `log_rollouts` of its trajectories), checkpoint-<step>/ + latest, final_model/ (both with
judge_config.json: the protocol to run the trained judge with).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from train.engine import prepare_accelerator_env

prepare_accelerator_env()  # before anything imports deepspeed

import torch  # noqa: E402

from model.agent import AgentConfig, Episode, load_skills, new_episode, run_episodes, to_trajectory  # noqa: E402
from model.config import ConfigError, config_arg_parser, load_config, resolve_path, save_config  # noqa: E402
from model.protocol import SKILL_OPERATIONAL, JudgeProtocol, get_setting  # noqa: E402
from model.records import JudgeTask, Trajectory  # noqa: E402
from train import checkpoint as ckpt_lib  # noqa: E402
from train.config import (  # noqa: E402
    EngineSettings,
    HeldoutEval,
    LoggingSettings,
    ModelSettings,
    OptimSettings,
    OutputSettings,
    data_setting,
    validate_shared,
)
from train.engine import (  # noqa: E402
    build_ds_config,
    init_distributed,
    make_engine,
    quiet_deepspeed,
    zero_stage,
)
from train.grpo import RewardConfig, group_advantages, policy_loss, step_rewards  # noqa: E402
from train.judge_eval import judge_accuracy, load_heldout  # noqa: E402
from train.metrics_log import MetricsLogger  # noqa: E402
from train.precision import annotate_saved_config, resolve  # noqa: E402
from train.rl_metrics import step_metrics, write_rollouts  # noqa: E402


@dataclass
class RLConfig(HeldoutEval, LoggingSettings, OutputSettings, EngineSettings, OptimSettings, ModelSettings):
    """GRPO (this module): the model / optimisation / engine / output / logging / held-out eval blocks
    that SFT also has (train/config.py), plus the GRPO ones. `global_batch_size` is derived."""

    data_path: str = ""
    """data.render's `rl` output (rl.jsonl or the rl/ dataset): one task (+ its setting) a row."""
    output_dir: str = "outputs/rl"
    wandb_project: str = "skillrm-rl"
    group_size: int = 8
    """Rollouts per task (split evenly between the two candidate orders of a pairwise task)."""
    tasks_per_step: int = 4
    setting: str = ""
    """Judge setting of the rollouts; empty: each row's own. The held-out eval uses it too (empty: the
    first setting of the data's judge protocol, else SKILL_OPERATIONAL)."""
    agent: AgentConfig = field(default_factory=lambda: AgentConfig(max_steps=4, max_new_tokens=256,
                                                                   temperature=1.0))
    """The judge runtime for rollouts (sampling temperature, step limit, prompt style, budget); the
    held-out eval runs it greedily."""
    rollout_batch_size: int = 16
    clip_eps: float = 0.2
    kl_coef: float = 0.0
    """> 0 loads a frozen copy of the initial policy for a k3 KL penalty."""
    ppo_epochs: int = 1
    """Passes over each step's rollouts; 1 = strictly on-policy (no old-logprob pass needed)."""
    reward: RewardConfig = field(default_factory=RewardConfig)
    log_rollouts: int = 2
    """Rollouts a step whose full conversations go to rollouts.jsonl (rank 0's first N); -1: all of them."""


def validate_rl(cfg: RLConfig) -> None:
    """The shared blocks' checks plus GRPO's; raises ValueError naming the field."""
    validate_shared(cfg)
    for name in ("group_size", "tasks_per_step", "ppo_epochs", "rollout_batch_size"):
        if getattr(cfg, name) <= 0:
            raise ValueError(f"`{name}` must be > 0")
    if not cfg.clip_eps > 0 or cfg.kl_coef < 0:
        raise ValueError("need clip_eps > 0 and kl_coef >= 0")
    if cfg.setting:
        get_setting(cfg.setting)
    if cfg.log_rollouts < -1:
        raise ValueError("`log_rollouts` must be >= 0, or -1 for all")
    if cfg.eval_every and not cfg.heldout_path:
        raise ValueError("`eval_every` needs `heldout_path` (the judge-accuracy eval)")


class TokenLogprobs(torch.nn.Module):
    """Wraps the causal LM so the engine's forward returns log p(target) at the selected positions."""

    def __init__(self, lm: torch.nn.Module, selective: bool):
        super().__init__()
        self.lm = lm
        self.selective = selective

    def forward(self, input_ids, attention_mask, targets, select):
        from train.modeling import base_causal_lm

        lm = base_causal_lm(self.lm)
        if self.selective:
            hidden = lm.get_decoder()(input_ids=input_ids, attention_mask=attention_mask,
                                      use_cache=False).last_hidden_state
            logits = lm.get_output_embeddings()(hidden[select])
        else:
            logits = self.lm(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits[select]
        return torch.log_softmax(logits.float(), dim=-1).gather(-1, targets[select][:, None]).squeeze(-1)


# -- data -----------------------------------------------------------------------------------------
def load_rl_tasks(path: str | Path, rejects: Any = None) -> list[tuple[JudgeTask, str]]:
    """(task, setting) rows of a data.render rl output (JSONL file or dataset folder). A bad JSONL row
    (or a repeated (task id, setting): data.render writes one row per setting of a task) goes to `rejects`
    (a model.jsonl.Rejects; default: kept in memory and warned)."""
    p = resolve_path(path)
    if p.is_dir():
        if (p.parent / f"{p.name}.jsonl").exists():
            p = p.parent / f"{p.name}.jsonl"
        else:
            from datasets import load_from_disk

            rows = list(load_from_disk(str(p)))
            return [_rl_row(r, str(p), i) for i, r in enumerate(rows, 1)]
    from model.jsonl import Rejects, load_records

    rejects = rejects if rejects is not None else Rejects(None)
    pool = load_records(p, _parse_rl_row, rejects, key=lambda tr: (tr[0].id, tr[1]))
    for r in rejects.rows[:5]:
        warnings.warn(f"{Rejects.describe(r)} (skipped)", stacklevel=2)
    return pool


def _rl_row(row: dict[str, Any], path: str, i: int) -> tuple[JudgeTask, str]:
    try:
        return _parse_rl_row(row)
    except (KeyError, ValueError, TypeError) as e:
        raise ValueError(f"{path}: row {i}: {e}") from e


def _parse_rl_row(row: dict[str, Any]) -> tuple[JudgeTask, str]:
    task = row["task"]
    task = JudgeTask.from_dict(json.loads(task) if isinstance(task, str) else task)
    if task.gold is None:
        raise ValueError("task has no gold label")
    return task, row.get("setting") or SKILL_OPERATIONAL


def rl_protocol(agent: AgentConfig, initial: JudgeProtocol | None, cfg_setting: str,
                pool: list[tuple[JudgeTask, str]], source: str) -> JudgeProtocol:
    """The protocol the GRPO-trained judge is to be run with (saved as judge_config.json with its weights):
    the rollouts' agent, in the settings it learned: the initial judge's, then the rollouts' own."""
    learned = [cfg_setting] if cfg_setting else [s for _, s in pool]
    settings = list(dict.fromkeys([*(initial.settings if initial else []), *learned]))
    return JudgeProtocol.from_agent(agent.resolved(initial, "train.rl"), settings, source=source)


def step_tasks(pool: list[tuple[JudgeTask, str]], step: int, n: int, seed: int) -> list[tuple[JudgeTask, str]]:
    """The tasks of one step: a seeded function of (seed, step), so a resumed run sees the same ones."""
    rng = random.Random(f"{seed}:rl-step:{step}")
    return [pool[i] for i in rng.sample(range(len(pool)), min(n, len(pool)))]


def group_orders(task: JudgeTask, k: int, rng: random.Random) -> list[list[int]]:
    """k candidate orders: alternating identity and reversed for pairs, seeded permutations otherwise."""
    ident = list(range(len(task.candidates)))
    if task.kind == "pairwise":
        return [ident if i % 2 == 0 else ident[::-1] for i in range(k)]
    return [rng.sample(ident, len(ident)) for _ in range(k)]


# -- rollouts -------------------------------------------------------------------------------------
def rollouts(backend, skills, tasks: list[tuple[JudgeTask, str]], cfg: RLConfig, step: int,
             autocast: bool) -> tuple[list[Episode], list[int]]:
    """The step's episodes (group_size per task) and each one's group (task) index."""
    rng = random.Random(f"{cfg.seed}:rl-orders:{step}")
    episodes, groups = [], []
    for g, (task, setting) in enumerate(tasks):
        for k, order in enumerate(group_orders(task, cfg.group_size, rng)):
            episodes.append(new_episode(task, order, cfg.setting or setting, skills, cfg.agent, sample_index=k))
            groups.append(g)
    # fresh samples every step, reproducible on resume
    agent = dataclasses.replace(cfg.agent, seed=cfg.seed * 100_003 + step)
    device_type = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.no_grad(), torch.autocast(device_type, dtype=torch.bfloat16, enabled=autocast):
        run_episodes(backend, episodes, agent)
    return episodes, groups


# -- update ---------------------------------------------------------------------------------------
def micro_batches(episodes: list[Episode], advantages: list[float], size: int, pad_id: int,
                  device: torch.device) -> list[dict[str, torch.Tensor]]:
    """Right-padded micro-batches; `select` marks the positions that predict a policy token."""
    batches = []
    for start in range(0, len(episodes), size):
        chunk = list(range(start, min(start + size, len(episodes))))
        width = max(len(episodes[i].ledger) for i in chunk)
        ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        attn = torch.zeros((len(chunk), width), dtype=torch.long)
        policy = torch.zeros((len(chunk), width), dtype=torch.bool)
        adv = torch.zeros((len(chunk), width), dtype=torch.float32)
        for row, i in enumerate(chunk):
            led = episodes[i].ledger
            n = len(led)
            ids[row, :n] = torch.tensor(led.ids)
            attn[row, :n] = 1
            policy[row, :n] = torch.tensor(led.mask, dtype=torch.bool)
            adv[row, :n] = advantages[i]
        targets = torch.zeros_like(ids)
        targets[:, :-1] = ids[:, 1:]
        select = torch.zeros_like(policy)
        select[:, :-1] = policy[:, 1:]  # position t predicts token t+1
        batches.append({"input_ids": ids.to(device), "attention_mask": attn.to(device),
                        "targets": targets.to(device), "select": select.to(device),
                        "adv": adv[:, :-1][policy[:, 1:]].to(device)})
    return batches


def update(engine, batches: list[dict[str, torch.Tensor]], cfg: RLConfig, ref: torch.nn.Module | None,
           world: int, device: torch.device) -> dict[str, Any]:
    """`ppo_epochs` passes of the clipped surrogate (one optimizer step each). Returns the means over
    the epochs, the last epoch's clip fraction, and `epochs`: each pass's own loss / clip_frac / kl."""
    from train.step import _global_sum

    (n_policy,) = _global_sum([sum(int(b["select"].sum()) for b in batches)], device)
    scale = world / max(n_policy, 1.0)
    old: list[torch.Tensor | None] = [None] * len(batches)
    ref_lp: list[torch.Tensor | None] = [None] * len(batches)
    if cfg.ppo_epochs > 1 or ref is not None:
        with torch.no_grad():
            for k, b in enumerate(batches):
                if cfg.ppo_epochs > 1:
                    old[k] = engine(b["input_ids"], b["attention_mask"], b["targets"], b["select"]).detach()
                if ref is not None:
                    ref_lp[k] = ref(b["input_ids"], b["attention_mask"], b["targets"], b["select"]).detach()
    epochs: list[dict[str, float]] = []
    for _ in range(cfg.ppo_epochs):
        ep = {"loss": 0.0, "clip_frac": 0.0, "kl": 0.0}
        for k, b in enumerate(batches):
            logp = engine(b["input_ids"], b["attention_mask"], b["targets"], b["select"])
            base = old[k] if old[k] is not None else logp.detach()
            loss, st = policy_loss(logp, base, b["adv"], cfg.clip_eps, ref_lp[k], cfg.kl_coef)
            engine.backward(loss * scale, scale_wrt_gas=False)
            engine.step()
            ep["loss"] += float(loss.detach()) * scale
            ep["clip_frac"] += st["clip_frac"] / len(batches)
            ep["kl"] += st.get("kl", 0.0) / len(batches)
        epochs.append(ep)
    stats: dict[str, Any] = {k: sum(e[k] for e in epochs) / len(epochs) for k in ("loss", "clip_frac", "kl")}
    stats["clip_frac_last_epoch"] = epochs[-1]["clip_frac"]
    gn = engine.get_global_grad_norm()
    stats["grad_norm"] = float(gn) if gn is not None else None
    stats["epochs"] = epochs
    return stats


@dataclass
class StepResult:
    episodes: list[Episode]
    trajectories: list[Trajectory]
    rewards: list[float]
    update: dict[str, Any]    # update()'s stats
    rollout_s: float
    update_s: float


def grpo_step(engine, backend, skills, tasks: list[tuple[JudgeTask, str]], cfg: RLConfig, step: int,
              ref: torch.nn.Module | None, world: int, device: torch.device, pad_id: int,
              autocast: bool = False) -> StepResult:
    """One GRPO step on this rank's tasks: rollouts from the policy, rewards, group advantages, update."""
    t0 = time.perf_counter()
    engine.eval()
    eps, groups = rollouts(backend, skills, tasks, cfg, step, autocast)
    t_roll = time.perf_counter() - t0
    trajs = [to_trajectory(ep, "policy") for ep in eps]
    rewards = step_rewards(trajs, [ep.env.budget for ep in eps], groups, cfg.reward)
    adv = group_advantages(rewards, groups)
    engine.train()
    batches = micro_batches(eps, adv, cfg.micro_batch_size, pad_id, device)
    t1 = time.perf_counter()
    upd = update(engine, batches, cfg, ref, world, device)
    return StepResult(eps, trajs, rewards, upd, t_roll, time.perf_counter() - t1)


# -- the run --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = config_arg_parser("GRPO for the skill judge with tool-executing rollouts (see train/rl.py).",
                          prog="python -m train.rl")
    p.add_argument("--resume", action="store_true", help="continue from output_dir/latest")
    p.add_argument("--local_rank", "--local-rank", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_intermixed_args(argv)
    try:
        cfg = load_config(RLConfig, args.config, list(args.overrides) + (["resume=true"] if args.resume else []))
        validate_rl(cfg)
    except (ConfigError, ValueError) as e:  # one line naming the file / field, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    train(cfg)
    return 0


def train(cfg: RLConfig) -> list[dict[str, Any]]:
    from model.backends.config import BackendConfig, make_backend
    from model.chat_template import ensure_tool_template
    from model.loading import load_tokenizer, protocol_for_model
    from train.modeling import FUSED_CE_MODEL_TYPES, build_model, count_params

    if cfg.max_steps <= 0:
        raise ValueError("train.rl needs max_steps > 0")
    d = init_distributed()
    quiet_deepspeed()
    cfg.agent.track_tokens = True
    initial = protocol_for_model(cfg.model)
    # rollouts (and the held-out eval) run the judge as it was trained where the config leaves a field null
    cfg.agent = cfg.agent.resolved(initial, "train.rl")
    episodes_per_rank = cfg.tasks_per_step * cfg.group_size // d.world_size
    if cfg.tasks_per_step % d.world_size or episodes_per_rank % cfg.micro_batch_size:
        raise ValueError(f"tasks_per_step ({cfg.tasks_per_step}) must divide by world size ({d.world_size}) and "
                         f"the rank's episodes ({episodes_per_rank}) by micro_batch_size ({cfg.micro_batch_size})")
    cfg.global_batch_size = cfg.tasks_per_step * cfg.group_size
    validate_rl(cfg)
    choice = resolve(cfg.precision)
    precision = choice.precision
    if d.is_main:
        print(f"[rl] precision: {choice.summary()}", flush=True)
        if choice.warning:
            warnings.warn(choice.warning, stacklevel=1)
    ds_config = build_ds_config(cfg, d.world_size, precision, None)
    if zero_stage(ds_config) == 3:
        raise ValueError("train.rl generates with each rank's full weights: use deepspeed=zero2 (or zero0)")
    torch.manual_seed(cfg.seed)
    tokenizer = ensure_tool_template(load_tokenizer(cfg.tokenizer or cfg.model))
    lm = build_model(cfg, tokenizer, precision, device=d.device)
    selective = getattr(lm.config, "model_type", "") in FUSED_CE_MODEL_TYPES
    engine = make_engine(TokenLogprobs(lm, selective), cfg, ds_config, cfg.max_steps * cfg.ppo_epochs)
    ref = None
    if cfg.kl_coef > 0:
        ref = TokenLogprobs(build_model(cfg, tokenizer, precision, device=d.device), selective).eval()
        ref.requires_grad_(False)
    pool = load_rl_tasks(cfg.data_path)
    protocol = rl_protocol(cfg.agent, initial, cfg.setting, pool, cfg.data_path)
    heldout = load_heldout(cfg.heldout_path, cfg.heldout_limit) if cfg.heldout_path else []
    eval_setting = data_setting(cfg.setting, cfg.data_path, "train.rl eval") if heldout else None
    skills = load_skills(cfg.agent)
    rollout_backend = BackendConfig(batch_size=cfg.rollout_batch_size, device=str(d.device))
    backend = make_backend(cfg.model or "policy", rollout_backend, model_obj=lm, tokenizer=tokenizer)
    autocast = precision == "amp_bf16"
    out = Path(cfg.output_dir)
    start = 0
    if cfg.resume:
        state = ckpt_lib.load_checkpoint(engine, out, d.rank)
        start = int(state["global_step"]) if state else 0
    if d.is_main:
        annotate_saved_config(save_config(cfg, out), choice)
    n_params, n_trainable = count_params(lm)
    if d.is_main:
        print(f"[rl] world={d.world_size} precision={precision} tasks={len(pool)} group={cfg.group_size} "
              f"tasks/step={cfg.tasks_per_step} params={n_params / 1e6:.1f}M trainable={n_trainable / 1e6:.1f}M "
              f"start_step={start}", flush=True)
    logger = MetricsLogger(out, cfg, d.is_main, cfg.max_steps, start, desc="grpo")
    history: list[dict[str, Any]] = []
    state = {"data_fingerprint": f"rl:{len(pool)}:{cfg.seed}", "world_size": d.world_size, "precision": precision,
             "precision_requested": cfg.precision, "precision_reason": choice.reason,
             "zero_stage": zero_stage(ds_config), "base_model": cfg.model, "lora": cfg.lora.enabled}

    def held_out_eval(at_step: int) -> None:
        if heldout and d.is_main:
            res = judge_accuracy(backend, heldout, eval_setting, cfg.agent, skills, autocast)
            logger.log(at_step, {f"eval/{k}": v for k, v in res.items()})

    try:
        if start == 0:
            held_out_eval(0)
        for step in range(start, cfg.max_steps):
            if cfg.stop_after_steps and step >= cfg.stop_after_steps:
                break
            mine = step_tasks(pool, step, cfg.tasks_per_step, cfg.seed)[d.rank::d.world_size]
            res = grpo_step(engine, backend, skills, mine, cfg, step, ref, d.world_size, d.device,
                            tokenizer.pad_token_id, autocast)
            trajs, rewards = res.trajectories, res.rewards
            upd = {k: v for k, v in res.update.items() if k != "epochs"}
            metrics = step_metrics(trajs, rewards, res.episodes, res.rollout_s, res.update_s, engine, upd, d)
            history.append({"step": step + 1, **metrics})
            logger.tick()
            logger.log(step + 1, metrics)
            if d.is_main:
                keep = None if cfg.log_rollouts < 0 else cfg.log_rollouts  # None: all
                write_rollouts(out, step + 1, trajs[:keep], rewards[:keep])
            done = step + 1
            if cfg.eval_every and done % cfg.eval_every == 0 and done != cfg.max_steps:
                held_out_eval(done)
            if (cfg.save_every and done % cfg.save_every == 0) or done == cfg.max_steps:
                ckpt_lib.save_checkpoint(engine, out, done, cfg, tokenizer, lm, {**state, "global_step": done},
                                         d.rank, cfg.keep_last, protocol)
        if history and history[-1]["step"] == cfg.max_steps:
            held_out_eval(cfg.max_steps)
            if cfg.save_final_model:
                ckpt_lib.save_final_model(engine, lm, out / "final_model", tokenizer, d.rank, zero3=False,
                                          protocol=protocol)
    finally:
        logger.close()
    return history


if __name__ == "__main__":
    sys.exit(main())
