"""GRPO for the judge: rewards, advantages, the masked loss, rollout batching, and a short real run."""
import json
import random

import pytest
import torch

from model.records import JudgeTask, Trajectory
from train.grpo import RewardConfig, group_advantages, judge_reward, policy_loss


def _traj(**kw):
    base = dict(task_id="t", setting="skill_operational", order=[0, 1], messages=[], verdict="A", choice=0,
                parse_ok=True, correct=True, tool_calls=2, invalid_tool_calls=0, meta={"parse": "final_answer"})
    base.update(kw)
    return Trajectory(**base)


def test_reward_is_gated_and_charges_extra_calls():
    cfg = RewardConfig()
    assert judge_reward(_traj(), budget=4, cfg=cfg) == 1.0
    assert judge_reward(_traj(correct=False, choice=1), budget=4, cfg=cfg) == 0.0
    assert judge_reward(_traj(parse_ok=False, correct=False), 4, cfg) == 0.0
    assert judge_reward(_traj(invalid_tool_calls=1), 4, cfg) == 0.0            # a malformed call voids it
    assert judge_reward(_traj(meta={"parse": "final_line"}), 4, cfg) == 0.0    # skill: final_answer required
    assert judge_reward(_traj(setting="baseline", meta={"parse": "brackets"}), None, cfg) == 1.0
    assert judge_reward(_traj(tool_calls=7), budget=4, cfg=cfg) == pytest.approx(1.0 - 3 * 0.05)


def test_group_advantages_on_hand_made_groups():
    adv = group_advantages([1, 0, 1, 1, 0.5, 0.5], ["a", "a", "a", "a", "b", "b"], eps=0.0)
    # group a: mean .75, std sqrt(.1875); group b: all equal -> no signal
    s = 0.1875 ** 0.5
    assert adv[:4] == pytest.approx([0.25 / s, -0.75 / s, 0.25 / s, 0.25 / s])
    assert adv[4:] == [0.0, 0.0]
    assert group_advantages([1, 0], ["g", "g"], scale_by_std=False) == pytest.approx([0.5, -0.5])


def test_policy_loss_clips_and_adds_kl():
    logp = torch.tensor([0.0, 0.0, 0.0], requires_grad=True)
    old = torch.log(torch.tensor([0.5, 1.0, 2.0]))  # ratios 2, 1, 0.5
    adv = torch.tensor([1.0, 1.0, -1.0])
    loss, stats = policy_loss(logp, old, adv, clip_eps=0.2)
    # token 1: min(2*1, 1.2*1) = 1.2; token 2: 1; token 3: min(0.5*-1, 0.8*-1) = -0.8  -> loss = -(1.2+1-0.8)
    assert float(loss.detach()) == pytest.approx(-1.4)
    assert stats["clip_frac"] == pytest.approx(2 / 3)
    loss.backward()
    assert logp.grad.tolist() == pytest.approx([0.0, -1.0, 0.0])  # clipped tokens carry no gradient
    ref = torch.tensor([0.0, 0.0, 0.0])
    _, stats = policy_loss(torch.zeros(3), torch.zeros(3), torch.zeros(3), 0.2, ref_logp=ref, kl_coef=0.1)
    assert stats["kl"] == 0.0


def test_micro_batches_select_exactly_the_policy_tokens():
    from model.ledger import TokenLedger
    from train.rl import micro_batches

    class Ep:
        def __init__(self, ids, mask):
            self.ledger = TokenLedger(ids, mask)
    eps = [Ep([1, 2, 3, 4, 5], [0, 0, 1, 1, 0]), Ep([7, 8, 9], [0, 1, 1])]
    [b] = micro_batches(eps, [2.0, -1.0], size=2, pad_id=0, device=torch.device("cpu"))
    # position t predicts token t+1: policy tokens 3,4 (row 0) and 8,9 (row 1)
    assert b["targets"][b["select"]].tolist() == [3, 4, 8, 9]
    assert b["adv"].tolist() == [2.0, 2.0, -1.0, -1.0]
    assert b["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]


def test_group_orders_punish_position_bias():
    from train.rl import group_orders

    pair = JudgeTask(id="p", source="t", kind="pairwise", prompt="q", candidates=["a", "b"], gold=0)
    orders = group_orders(pair, 4, random.Random(0))
    assert orders.count([0, 1]) == 2 and orders.count([1, 0]) == 2


def test_rl_data_keeps_each_setting_of_a_task_and_rejects_a_repeated_pair(tmp_path):
    """data.render writes one RL row per (task, setting): the fair and the operational row of a task are
    both training data; only a repeated (task, setting) row is a duplicate."""
    from model.jsonl import Rejects
    from train.rl import load_rl_tasks

    task = JudgeTask(id="t1", source="toy", kind="pairwise", prompt="q", candidates=["a", "b"], gold=0).to_dict()
    rows = [{"task": task, "setting": s} for s in ("skill_fair", "skill_operational", "skill_fair")]
    path = tmp_path / "rl.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rejects = Rejects(None)
    pool = load_rl_tasks(path, rejects)
    assert [(t.id, s) for t, s in pool] == [("t1", "skill_fair"), ("t1", "skill_operational")]
    assert [(r["row"], r["field"]) for r in rejects.rows] == [(3, "id")]


def _toy_tasks(n: int, seed: int) -> list[JudgeTask]:
    """A verifiable toy: pick the response that says yes (gold 0; judged in both orders)."""
    rng = random.Random(seed)
    names = ["Ann", "Bob", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal"]
    return [JudgeTask(id=f"toy{seed}-{i}", source="toy", kind="pairwise",
                      prompt=f"Does {rng.choice(names)} agree? Pick the response that says yes.",
                      candidates=["yes", "no"], gold=0) for i in range(n)]


@pytest.mark.slow
def test_grpo_raises_the_reward_of_a_tiny_judge(tmp_path, smollm_tokenizer):
    """A tiny random model, warm-started by SFT on the answer format only (labels drawn at random, so it
    learns "[[A]]"/"[[B]]" but nothing about which), then GRPO with both candidate orders in every
    group: its mean reward over the last steps beats the first ones (seeded, deterministic on one CPU).

    fp32 is pinned: `auto` picks by CPU, and the path must not change with the machine. lr 2e-3 gave
    +0.15 / +0.15 / +0.23 (seeds 0-2) on an AVX2 CPU; 1e-3 gave +0.06 there (it had passed on
    AVX512-BF16 CPUs under bf16 autocast), 3e-3 collapsed one seed to no parseable verdict."""
    from model.chat_template import ensure_tool_template, render_with_mask
    from model.prompts import initial_messages
    from train.config import SFTConfig
    from train.rl import RLConfig, train
    from train.sft import fit, setup

    tok = ensure_tool_template(smollm_tokenizer)
    rng = random.Random(0)
    rows = []
    for t in _toy_tasks(48, seed=1):
        for order in ([0, 1], [1, 0]):
            msgs = initial_messages(t, order, "baseline") + [
                {"role": "assistant", "content": f"[[{rng.choice('AB')}]]"}]
            ids, labels = render_with_mask(tok, msgs)
            rows.append({"input_ids": ids, "labels": labels})
    sft_data = tmp_path / "sft.jsonl"
    sft_data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tiny = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 1024,
            "tie_word_embeddings": True}
    sft_cfg = SFTConfig(model_config=tiny, tokenizer="smollm2-135m", data_path=str(sft_data), max_seq_len=512,
                        global_batch_size=2, max_steps=60, lr=1e-2, warmup_steps=1, seed=0, wandb=False,
                        output_dir=str(tmp_path / "sft"), precision="fp32")
    fit(setup(sft_cfg))
    rl_rows = [{"task": t.to_dict(), "setting": "baseline"} for t in _toy_tasks(32, seed=2)]
    (tmp_path / "rl.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rl_rows))
    cfg = RLConfig(model=str(tmp_path / "sft" / "final_model"), data_path=str(tmp_path / "rl.jsonl"),
                   output_dir=str(tmp_path / "rl"), group_size=8, tasks_per_step=4, max_steps=20,
                   micro_batch_size=8, lr=2e-3, warmup_steps=0, min_lr_ratio=1.0, wandb=False, seed=0,
                   save_final_model=False, precision="fp32", log_rollouts=-1)
    cfg.agent.max_new_tokens = 6
    cfg.agent.temperature = 1.0
    history = train(cfg)
    assert len(history) == 20
    rewards = [h["reward"] for h in history]
    first, last = sum(rewards[:4]) / 4, sum(rewards[-4:]) / 4
    assert last > first + 0.08, [round(r, 3) for r in rewards]
    assert all(h["response_tokens"] > 0 for h in history)
    assert (tmp_path / "rl" / "metrics.jsonl").exists()
    logged = (tmp_path / "rl" / "rollouts.jsonl").read_text().splitlines()
    assert len(logged) == 20 * 4 * 8  # log_rollouts=-1: every rollout of every step


def test_export_reads_an_rl_checkpoint_config_as_rl(tmp_path):
    """train.export reads the config a train.rl checkpoint saved with RLConfig (SFTConfig rejects its keys)."""
    from model.config import save_config
    from train.config import SFTConfig
    from train.export import load_training_config
    from train.rl import RLConfig

    save_config(RLConfig(model="m", data_path="rl.jsonl", group_size=4), tmp_path / "rl")
    save_config(SFTConfig(model="m", data_path="sft.jsonl"), tmp_path / "sft")
    rl = load_training_config(tmp_path / "rl" / "config.yaml")
    assert isinstance(rl, RLConfig) and rl.group_size == 4
    assert isinstance(load_training_config(tmp_path / "sft" / "config.yaml"), SFTConfig)
